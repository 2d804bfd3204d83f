"""Thin SLA tasks: safe to run twice, and two at once never fire a step twice."""

from celery import shared_task

from . import engine, force_majeure


@shared_task(acks_late=True, ignore_result=True)
def sweep_timers() -> int:
    """Beat runs this every few seconds (SLA_SWEEP_SECONDS)."""
    return engine.sweep_all()


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(Exception,),
             retry_backoff=True, max_retries=5)
def rearm_policy(policy_id: int) -> int:
    return engine.rearm_policy(policy_id)


@shared_task(acks_late=True, ignore_result=True)
def exempt_late_breaches() -> int:
    """Beat runs this every SLA_EXEMPTION_SECONDS (R50): breaches recorded inside an
    approved force-majeure range after its approval are exempted too."""
    return force_majeure.exempt_late_breaches()
