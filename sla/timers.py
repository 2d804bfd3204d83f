"""SLA policies and the timers they arm on each order (imported by ``sla.models``).

A policy (matched on the order's kind, service, customer class and area type) lists
timer rules: the order events that start, stop, pause, resume and cancel a timer, its
target, the calendar it counts on (R37) and its escalation ladder (R38). Each order gets
one ``Timer`` row per (kind, cycle); its due time lives in the database and a periodic
sweep claims the rows that are due (``sla.engine``). Nothing waits in the broker.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from fieldops import clock
from workorders.events import OrderAction


class TimerKind(models.TextChoices):
    CONTACT = "contact", _("Contact the customer")  # R7, R7a
    VISIT = "visit", _("On site")  # R34, R35
    NO_VISIT_ANSWER = "no_visit_answer", _("Answer without a visit")  # R36
    ARRIVAL = "arrival", _("Arrive on time")  # R14
    REWORK_CONTACT = "rework_contact", _("Re-contact an unsatisfied customer")  # R31


class Anchor(models.TextChoices):
    EVENT = "event", _("The starting event")
    #: R14, R11: the promise is the booked time (an exact time's start, a half-day
    #: window's end: ``appointments.rules.arrival_deadline``); the target is the tolerance
    #: after it. The stored value keeps its historical name.
    APPOINTMENT_START = "appointment_start", _("The booked time (a window's end)")


def default_ladder() -> list[dict[str, Any]]:
    """R38: warn the technician at 80 %, tell dispatch and the supervisor at the breach,
    and the supervisor again at 150 % and 200 %."""
    return [
        {"percent": 80, "event": "warned", "notify": ["technician"]},
        {"percent": 100, "event": "breached", "notify": ["dispatcher", "supervisor"]},
        {"percent": 150, "event": "escalated", "notify": ["supervisor"]},
        {"percent": 200, "event": "escalated", "notify": ["supervisor"]},
    ]


class SlaPolicy(models.Model):
    """Which timers an order gets. Blank match fields match anything; the most specific
    active policy wins (ties: the lowest id)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    kind = models.CharField(_("work kind"), max_length=8, blank=True)
    service = models.CharField(_("service"), max_length=16, blank=True)
    customer_class = models.CharField(_("customer class"), max_length=16, blank=True)
    area_type = models.CharField(_("area type"), max_length=8, blank=True)
    #: Bumped on every change of the policy or its rules; timers remember the version
    #: they were computed with, and open ones are re-armed when it changes.
    version = models.PositiveIntegerField(_("version"), default=1)
    updated_at = models.DateTimeField(_("updated"), default=clock.now)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"

    def specificity(self) -> int:
        return sum(bool(v) for v in (self.kind, self.service, self.customer_class,
                                     self.area_type))


#: The rule's fields that name order actions (``workorders.events.OrderAction`` values).
ACTION_FIELDS = ("start_on", "stop_on", "pause_on", "resume_on", "cancel_on")
ORDER_ACTIONS = frozenset(OrderAction.values)
ACTION_EXAMPLES = (OrderAction.DISPATCH.value, OrderAction.CONTACT.value,
                   OrderAction.CHECK_IN.value)


class TimerRule(models.Model):
    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="rules",
                               verbose_name=_("policy"))
    kind = models.CharField(_("timer"), max_length=16, choices=TimerKind.choices)
    rule_id = models.CharField(_("rule"), max_length=8, blank=True,
                               help_text=_("The DOMAIN rule this timer keeps, e.g. R7."))
    start_on = models.JSONField(_("starts on"), default=list,
                                help_text=_("Order events that start (or restart) it."))
    stop_on = models.JSONField(_("stops on"), default=list, blank=True)
    pause_on = models.JSONField(_("pauses on"), default=list, blank=True)
    resume_on = models.JSONField(_("resumes on"), default=list, blank=True)
    cancel_on = models.JSONField(_("cancelled on"), default=list, blank=True)
    target_minutes = models.PositiveIntegerField(_("target (minutes)"))
    anchor = models.CharField(_("counted from"), max_length=20, choices=Anchor.choices,
                              default=Anchor.EVENT)
    calendar = models.ForeignKey("sla.BusinessCalendar", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="+", verbose_name=_("calendar"),
                                 help_text=_("Empty: calendar time (R37)."))
    ladder = models.JSONField(_("escalation ladder"), default=default_ladder)

    class Meta:
        verbose_name = _("timer rule")
        verbose_name_plural = _("timer rules")
        constraints = [models.UniqueConstraint(fields=["policy", "kind"],
                                               name="one_rule_per_kind_per_policy")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target_minutes} min"

    def unknown_actions(self) -> dict[str, list[str]]:
        """Per action field, the names that are not order actions (``OrderAction``): a
        typo would leave the timer never started or never stopped."""
        found: dict[str, list[str]] = {}
        for field in ACTION_FIELDS:
            value = getattr(self, field)
            names = value if isinstance(value, list) else [value]
            bad = [str(n) for n in names if not isinstance(n, str) or n not in ORDER_ACTIONS]
            if bad or not isinstance(value, list):
                found[field] = bad
        return found

    def clean(self) -> None:
        super().clean()
        errors = {
            field: ValidationError(
                _("Not order actions: %(names)s. Use names from the list of order actions, "
                  "e.g. %(example)s.")
                % {"names": ", ".join(bad) or "-", "example": ", ".join(ACTION_EXAMPLES)},
                code="unknown_action")
            for field, bad in self.unknown_actions().items()}
        if errors:
            raise ValidationError(errors)


class TimerStatus(models.TextChoices):
    ARMED = "armed", _("Running")
    PAUSED = "paused", _("Paused")
    STOPPED = "stopped", _("Stopped")
    CANCELLED = "cancelled", _("Cancelled")


class Timer(models.Model):
    """One promise on one order. ``status`` is where the clock is; ``breached_at`` (the true
    due time, set once by the sweep) says the promise was broken, and stays set whatever
    happens to the order later (R38), with one exception: an event that stopped, cancelled
    or paused the clock before the due time but reached the server after the sweep (a step
    done offline) withdraws the breach; ``breached_at`` is then cleared, ``withdrawn_at``
    set, and the breach's event stays in the log with a WITHDRAWN event after it."""

    #: No index of its own: ``one_timer_per_order_kind_cycle`` starts with the order and
    #: serves every lookup by order. Each index is written again on every sweep update
    #: (``next_check_at`` is indexed, so those updates are never HOT).
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE,
                              related_name="timers", verbose_name=_("work order"),
                              db_index=False)
    #: No index either: a handful of rules share a million timers, so no query would use
    #: one (deleting a rule, which PROTECT refuses anyway while timers use it, scans).
    rule = models.ForeignKey(TimerRule, on_delete=models.PROTECT, related_name="timers",
                             verbose_name=_("rule"), db_index=False)
    kind = models.CharField(_("timer"), max_length=16, choices=TimerKind.choices)
    cycle = models.PositiveSmallIntegerField(_("cycle"), default=1)
    status = models.CharField(_("status"), max_length=10, choices=TimerStatus.choices,
                              default=TimerStatus.ARMED)
    policy_version = models.PositiveIntegerField(_("policy version"))
    target_seconds = models.PositiveIntegerField(_("target (s)"))
    started_at = models.DateTimeField(_("started"))
    #: Business seconds used before ``running_since`` (pauses excluded).
    consumed_seconds = models.PositiveIntegerField(_("time used (s)"), default=0)
    running_since = models.DateTimeField(_("running since"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    #: When the sweep must look at it next (next ladder step); NULL when nothing is due.
    next_check_at = models.DateTimeField(_("next check"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("ladder steps fired"), default=0)
    warned_at = models.DateTimeField(_("warned"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)
    #: When ladder steps were last withdrawn (server time): an order event that arrived
    #: late (recorded offline) stopped, cancelled or paused the timer before those steps
    #: were due. The withdrawn steps' events stay in the log (R38) with a WITHDRAWN event
    #: each; ``warned_at``/``breached_at`` are cleared for the withdrawn steps.
    withdrawn_at = models.DateTimeField(_("steps withdrawn"), null=True, blank=True)
    #: How many times steps were withdrawn: the ``round`` of the ladder events written
    #: after that (a paused timer that resumes may reach a withdrawn step again).
    withdrawals = models.PositiveSmallIntegerField(_("withdrawals"), default=0, db_default=0)
    failures = models.PositiveSmallIntegerField(_("evaluation failures"), default=0)

    class Meta:
        verbose_name = _("SLA timer")
        verbose_name_plural = _("SLA timers")
        ordering = ["started_at", "id"]
        constraints = [models.UniqueConstraint(fields=["order", "kind", "cycle"],
                                               name="one_timer_per_order_kind_cycle")]
        indexes = [
            # The sweep's only query: armed rows whose next check is due (partial index).
            models.Index(fields=["next_check_at"], name="timer_due",
                         condition=models.Q(status="armed", next_check_at__isnull=False)),
            # Running promises by due time: the dispatcher's queue walks it to list open
            # orders earliest promise first, a page at a time (console.queue.QueueKeys).
            models.Index(fields=["due_at", "order"], name="timer_running",
                         condition=models.Q(status="armed", due_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}#{self.cycle} {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in (TimerStatus.ARMED, TimerStatus.PAUSED)

    @property
    def outcome(self) -> str:
        """"breached", "met" (stopped in time; also when a late-arriving stop withdrew the
        breach), or "" while it is still open."""
        if self.breached_at is not None:
            return "breached"
        if self.status == TimerStatus.STOPPED:
            return "met"
        return ""

    @property
    def withdrawn(self) -> bool:
        """Ladder steps of this timer were withdrawn by a late-arriving earlier event."""
        return self.withdrawn_at is not None


class TimerEventKind(models.TextChoices):
    STARTED = "started", _("Started")
    PAUSED = "paused", _("Paused")
    RESUMED = "resumed", _("Resumed")
    STOPPED = "stopped", _("Stopped")
    CANCELLED = "cancelled", _("Cancelled")
    REARMED = "rearmed", _("Re-armed (policy changed)")
    WARNED = "warned", _("Warned")
    BREACHED = "breached", _("Breached")
    ESCALATED = "escalated", _("Escalated")
    #: A ladder step (``level``, same ``round``) that fired while an earlier stop, cancel
    #: or pause had not yet reached the server: it no longer counts (the step's own event
    #: stays, R38).
    WITHDRAWN = "withdrawn", _("Withdrawn")


class TimerEvent(models.Model):
    """Append-only log of a timer's life; ``sla_verify`` replays it to check every breach."""

    #: No index of its own: ``one_event_per_step`` starts with it.
    timer = models.ForeignKey(Timer, on_delete=models.CASCADE, related_name="events",
                              verbose_name=_("timer"), db_index=False)
    kind = models.CharField(_("event"), max_length=10, choices=TimerEventKind.choices)
    #: When it happened in the order's life (a breach: the true due time, not when the
    #: sweep noticed).
    at = models.DateTimeField(_("at"))
    recorded_at = models.DateTimeField(_("recorded"), default=clock.now)
    level = models.PositiveSmallIntegerField(_("ladder step"), null=True, blank=True)
    #: The timer's ``withdrawals`` when a ladder step was written: a step withdrawn in
    #: round 0 may fire again in round 1 after a resume.
    round = models.PositiveSmallIntegerField(_("round"), default=0, db_default=0)
    #: A WITHDRAWN event: the ladder step (level, same round) it withdraws.
    withdraws = models.PositiveSmallIntegerField(_("withdrawn step"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("SLA timer event")
        verbose_name_plural = _("SLA timer events")
        ordering = ["at", "id"]
        constraints = [
            # A ladder step fires once per timer, however many sweeps race (R38). Events
            # that are no ladder step (started, paused, ...) have no level, and NULLs are
            # distinct, so they are not limited; the index also serves every lookup of a
            # timer's events, so ``timer`` needs none of its own.
            # A step withdrawn in one round may fire again in the next (a resumed timer).
            models.UniqueConstraint(fields=["timer", "round", "level"],
                                    name="one_event_per_step"),
            # A step is withdrawn once (a retried order event adds nothing); partial, so
            # only the rare withdrawals write it.
            models.UniqueConstraint(fields=["timer", "round", "withdraws"],
                                    condition=models.Q(withdraws__isnull=False),
                                    name="one_withdrawal_per_step"),
        ]

    def __str__(self) -> str:
        return f"{self.timer_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"
