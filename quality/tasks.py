"""Thin quality tasks: safe to run twice (one sampling run per day, one fingerprint per
photo)."""

from celery import shared_task

from . import fingerprints, retention, sampling


@shared_task(acks_late=True, ignore_result=True)
def sample_due_days() -> int:
    """Beat runs this (R52): each finished day's sample and signals, once per day."""
    return sampling.run_due()


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OSError,),
             retry_backoff=True, max_retries=5)
def fingerprint_photo(photo_id: int) -> bool:
    """Queued after a photo's upload (R52): its perceptual hash and the duplicate-photo
    check, once per photo however often the job runs."""
    return fingerprints.fingerprint(photo_id)


@shared_task(acks_late=True, ignore_result=True)
def purge_request_origins() -> int:
    """Beat runs this (R52, hourly): the request origins no survey comparison can need any
    more are deleted, in batches (``quality.retention``); safe to run twice."""
    return retention.purge_request_origins()
