"""Complaint deadlines (R51) on the SLA engine's ladder (R38): armed when a complaint is
recorded, met by the work that keeps them, swept when due.

* ``arm`` writes one ``ComplaintDeadline`` per promise of the tier's policy, with its due
  time and the moment of its first ladder step (``next_check_at``) in the database.
* ``meet`` closes a deadline inside the caller's transaction; a step it had already
  reached (the sweep was late) fires first, at its true time, so no breach is lost.
* ``sweep`` claims due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` (two sweeps never take
  the same row), fires each reached step once (``ComplaintDeadlineEvent``'s unique step is
  the backstop), and writes the notices to the outbox with a dedupe key per step and
  recipient, in the same transaction. A row whose evaluation raises is pushed forward so
  it cannot crash-loop the sweep.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fieldops import clock
from notifications.models import Channel
from notifications.services import notify_many
from sla import calendars
from sla import selectors as sla_selectors

from .models import (
    Complaint,
    ComplaintDeadline,
    ComplaintDeadlineEvent,
    ComplaintPolicy,
    DeadlineEventKind,
    DeadlineKind,
    DeadlineStatus,
)

logger = logging.getLogger(__name__)

RETRY_AFTER = dt.timedelta(seconds=30)
RETRY_CAP = dt.timedelta(hours=1)
SWEEP_BATCH = 500

#: Who hears about a step (the ladder's ``notify``): in-app notices to the role's desk.
ROLES = ("call_centre", "supervisor")


def _moment(deadline: ComplaintDeadline, percent: float) -> dt.datetime:
    """When ``percent`` of the deadline's target has passed (business time if it has a
    calendar, R37; else every hour counts)."""
    span = dt.timedelta(seconds=deadline.target_minutes * 60 * percent / 100)
    if deadline.calendar_id is None:
        return deadline.started_at + span
    schedule = sla_selectors.schedule_for(deadline.calendar_id)
    return calendars.add_business_time(schedule, deadline.started_at, span)


def _plan(deadline: ComplaintDeadline) -> None:
    """``next_check_at``: the next ladder step's moment, NULL when none is left or it is done."""
    ladder = deadline.ladder or []
    if deadline.status != DeadlineStatus.ARMED or deadline.escalation_level >= len(ladder):
        deadline.next_check_at = None
        return
    deadline.next_check_at = _moment(deadline, ladder[deadline.escalation_level]["percent"])


def arm(complaint: Complaint, policy: ComplaintPolicy, at: dt.datetime) -> list[ComplaintDeadline]:
    """R51: the tier's response and resolution deadlines, counted from ``at``."""
    made = []
    for kind, minutes in ((DeadlineKind.RESPONSE, policy.response_minutes),
                          (DeadlineKind.RESOLUTION, policy.resolution_minutes)):
        deadline = ComplaintDeadline(complaint=complaint, kind=kind, started_at=at,
                                     target_minutes=minutes, calendar=policy.calendar,
                                     ladder=list(policy.ladder or []), due_at=at)
        deadline.due_at = _moment(deadline, 100)
        _plan(deadline)
        made.append(deadline)
    return ComplaintDeadline.objects.bulk_create(made)


def _reach(deadline: ComplaintDeadline, now: dt.datetime) -> list[tuple[int, str, dt.datetime,
                                                                       dict[str, Any]]]:
    """Mark every step reached by ``now`` and not fired yet (each at its true moment)."""
    fired = []
    ladder = deadline.ladder or []
    while deadline.status == DeadlineStatus.ARMED and deadline.escalation_level < len(ladder):
        level = deadline.escalation_level
        step = ladder[level]
        reached = _moment(deadline, step["percent"])
        if reached > now:
            break
        kind = str(step.get("event", DeadlineEventKind.ESCALATED))
        if kind == DeadlineEventKind.WARNED and deadline.warned_at is None:
            deadline.warned_at = reached
        if kind == DeadlineEventKind.BREACHED and deadline.breached_at is None:
            deadline.breached_at = reached  # the true due time, not "now" (R38)
        fired.append((level, kind, reached, step))
        deadline.escalation_level = level + 1
    return fired


def _record(deadline: ComplaintDeadline, fired: list[tuple[int, str, dt.datetime,
                                                          dict[str, Any]]]) -> None:
    """The fired steps' events (once each: the unique step) and their notices (once each:
    the dedupe key), in the caller's transaction."""
    if not fired:
        return
    now = clock.now()
    ComplaintDeadlineEvent.objects.bulk_create(
        [ComplaintDeadlineEvent(deadline=deadline, kind=kind, at=at, level=level,
                                recorded_at=now) for level, kind, at, _step in fired],
        ignore_conflicts=True)
    complaint = deadline.complaint
    notes = []
    with translation.override(settings.LANGUAGE_CODE):
        events = dict(DeadlineEventKind.choices)
        for level, kind, _at, step in fired:
            body = _("%(event)s: complaint %(number)s (%(tier)s), “%(deadline)s” due "
                     "%(due)s.") % {
                "event": events.get(kind, kind), "number": complaint.number,
                "tier": complaint.get_tier_display(), "deadline": deadline.get_kind_display(),
                "due": timezone.localtime(deadline.due_at).strftime("%Y-%m-%d %H:%M")}
            for role in step.get("notify", []):
                if role not in ROLES:
                    continue
                notes.append({"channel": Channel.IN_APP.value, "kind": f"complaint.{kind}",
                              "address": f"role:{role}", "subject": body, "body": body,
                              "order_id": complaint.order_id,
                              "dedupe_key": f"complaint:{deadline.pk}:{level}:{role}"})
    notify_many(notes)


def meet(complaint: Complaint, kind: str, at: dt.datetime) -> bool:
    """The promise ``kind`` was kept at ``at`` (a contact, the closing): steps reached
    before then fire first, then the deadline is done. Returns whether one was running.
    Call inside the transaction that did the work, with the complaint locked."""
    deadline = (ComplaintDeadline.objects.select_for_update()
                .filter(complaint=complaint, kind=kind, status=DeadlineStatus.ARMED).first())
    if deadline is None:
        return False
    deadline.complaint = complaint
    _record(deadline, _reach(deadline, at))
    deadline.status = DeadlineStatus.MET
    deadline.met_at = at
    deadline.next_check_at = None
    ComplaintDeadlineEvent.objects.create(deadline=deadline, kind=DeadlineEventKind.MET,
                                          at=at)
    deadline.save(update_fields=["status", "met_at", "next_check_at", "escalation_level",
                                 "warned_at", "breached_at"])
    return True


def due(now: dt.datetime) -> Any:
    """Running deadlines whose next step is due: what the partial index holds."""
    return ComplaintDeadline.objects.filter(status=DeadlineStatus.ARMED,
                                            next_check_at__isnull=False,
                                            next_check_at__lte=now)


def sweep(*, now: dt.datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """Claim one batch of due deadlines and fire their steps; returns rows handled."""
    now = now or clock.now()
    if not due(now).exists():
        return 0  # an idle tick: one read of the partial index
    with transaction.atomic():
        claimed = list(due(now).select_for_update(skip_locked=True, of=("self",))
                       .select_related("complaint").order_by("next_check_at")[:batch])
        for deadline in claimed:
            try:
                with transaction.atomic():  # one bad row must not undo the batch
                    _record(deadline, _reach(deadline, now))
                    _plan(deadline)
                    deadline.failures = 0
            except Exception:
                logger.exception("Complaint deadline %s could not be evaluated", deadline.pk)
                deadline.refresh_from_db()
                deadline.next_check_at = now + min(RETRY_AFTER * 2 ** min(deadline.failures, 16),
                                                   RETRY_CAP)
                deadline.failures = min(deadline.failures + 1, 32767)
            deadline.save(update_fields=["escalation_level", "warned_at", "breached_at",
                                         "next_check_at", "failures"])
        return len(claimed)


def sweep_all(*, now: dt.datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    total = 0
    while True:
        handled = sweep(now=now, batch=batch)
        total += handled
        if handled < batch:
            return total
