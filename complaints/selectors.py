"""Reads of complaints: the office's lists, the words for deadlines, and the technician's
limited view (R51: that a complaint exists and its outcome, never the complainant)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _

from fieldops import clock
from workorders import pii
from workorders.models import Face

from .models import Complaint, ComplaintDeadline, DeadlineStatus

#: ``PiiAccess.what`` of a complaint read (R40: every read of a complaint is attributable).
READ_WHAT = "complaint"


def complaints() -> QuerySet[Complaint]:
    return (Complaint.objects.select_related("order", "customer", "technician__user",
                                             "recorded_by", "decided_by", "closed_by")
            .prefetch_related("deadlines"))


def record_read(*, user: Any, complaint: Complaint, face: Face, where: str) -> None:
    """R51, R40: who read the complaint (its text and the complainant), when, and where."""
    pii.record_read(user=user, face=face, where=where, what=READ_WHAT,
                    order_id=complaint.order_id, customer_id=complaint.customer_id)


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def deadline_words(deadline: ComplaintDeadline, now: dt.datetime | None = None) -> str:
    """A deadline as a sentence: what is due when, and how it stands."""
    now = now or clock.now()
    what = deadline.get_kind_display()
    due = _local(deadline.due_at)
    if deadline.status == DeadlineStatus.MET and deadline.met_at is not None:
        if deadline.breached_at is not None:
            return _("%(what)s: due %(due)s, done %(done)s, late.") % {
                "what": what, "due": due, "done": _local(deadline.met_at)}
        return _("%(what)s: due %(due)s, done %(done)s, in time.") % {
            "what": what, "due": due, "done": _local(deadline.met_at)}
    if deadline.status == DeadlineStatus.CANCELLED:
        return _("%(what)s: cancelled.") % {"what": what}
    if deadline.due_at <= now:
        return _("%(what)s: was due %(due)s, overdue by %(late)s.") % {
            "what": what, "due": due, "late": timeuntil(now, deadline.due_at)}
    return _("%(what)s: due %(due)s, in %(left)s.") % {
        "what": what, "due": due, "left": timeuntil(deadline.due_at, now)}


def deadlines_in_words(complaint: Complaint) -> list[str]:
    now = clock.now()
    return [deadline_words(d, now) for d in complaint.deadlines.all()]


def for_technician(order: Any) -> list[dict[str, Any]]:
    """R51: what the order's technician sees of complaints about it: that one exists, when,
    its tier, whether it is closed, its outcome and the note a supervisor released. No
    text, channel or complainant (不准打击报复)."""
    rows = Complaint.objects.filter(order=order).order_by("recorded_at", "pk")
    return [{"number": c.number, "recorded_at": c.recorded_at,
             "tier": c.get_tier_display(), "status": c.get_status_display(),
             "outcome": c.get_outcome_display(), "decided": bool(c.outcome),
             "released_note": c.released_note} for c in rows]
