"""Reads for surveys, callbacks and the rework loop: the queues and the figures the
supervisors' dashboards show (R39: satisfaction rate, rework rate), all computed from the
stored rows.

Every figure takes the same filters: a period ``[start, end)`` (either end open), an
``area`` and a ``technician`` (the technician surveyed, i.e. who held the order when the
survey was sent).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from fieldops import clock
from technicians.models import Area, Technician
from workorders.selectors import orders_visible_to

from .models import (
    Callback,
    CallbackStatus,
    FollowUp,
    FollowUpStatus,
    ReworkRound,
    Survey,
    SurveyStatus,
)


@dataclass(frozen=True)
class Rate:
    """``part`` out of ``whole``; ``value`` is None when there is nothing to divide."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None


def _surveys(start: dt.datetime | None, end: dt.datetime | None, area: Area | None,
             technician: Technician | None) -> QuerySet[Survey]:
    qs = Survey.objects.filter(status=SurveyStatus.ANSWERED)
    if start is not None:
        qs = qs.filter(answered_at__gte=start)
    if end is not None:
        qs = qs.filter(answered_at__lt=end)
    if area is not None:
        qs = qs.filter(order__area=area)
    if technician is not None:
        qs = qs.filter(technician=technician)
    return qs


def satisfaction_rate(*, start: dt.datetime | None = None, end: dt.datetime | None = None,
                      area: Area | None = None,
                      technician: Technician | None = None) -> Rate:
    """R29, R39: satisfied answers out of all answers given in the period (every round
    counts: an answer after rework is an answer too)."""
    row = _surveys(start, end, area, technician).aggregate(
        whole=Count("pk"), part=Count("pk", filter=Q(satisfied=True)))
    return Rate(part=row["part"], whole=row["whole"])


def rework_rate(*, start: dt.datetime | None = None, end: dt.datetime | None = None,
                area: Area | None = None, technician: Technician | None = None) -> Rate:
    """R31, R39: orders sent to rework out of orders surveyed, by their first answer
    (round 0) in the period: how often the first visit did not satisfy."""
    row = _surveys(start, end, area, technician).filter(round=0).aggregate(
        whole=Count("pk"), part=Count("pk", filter=Q(satisfied=False)))
    return Rate(part=row["part"], whole=row["whole"])


def rounds_per_rework(*, start: dt.datetime | None = None, end: dt.datetime | None = None,
                      area: Area | None = None,
                      technician: Technician | None = None) -> float | None:
    """R33: the average number of rework rounds of the orders whose rework began in the
    period (their round 1 opened then); None when no rework began. ``technician``: the
    one who held round 1."""
    first = ReworkRound.objects.filter(number=1)
    if start is not None:
        first = first.filter(opened_at__gte=start)
    if end is not None:
        first = first.filter(opened_at__lt=end)
    if area is not None:
        first = first.filter(order__area=area)
    if technician is not None:
        first = first.filter(survey__technician=technician)
    per_order = (ReworkRound.objects.filter(order_id__in=first.values("order_id"))
                 .values("order_id").annotate(rounds=Max("number")))
    counts = [row["rounds"] for row in per_order]
    return sum(counts) / len(counts) if counts else None


@dataclass(frozen=True)
class Backlog:
    open: int
    overdue: int
    oldest: dt.datetime | None


def callback_backlog(*, area: Area | None = None, technician: Technician | None = None,
                     older_than: dt.timedelta = dt.timedelta(hours=24),
                     now: dt.datetime | None = None) -> Backlog:
    """R30: callbacks still to make now; ``overdue``: open for longer than ``older_than``."""
    now = now or clock.now()
    qs = open_callbacks(area=area, technician=technician)
    row = qs.aggregate(open=Count("pk"),
                       overdue=Count("pk", filter=Q(created_at__lt=now - older_than)))
    oldest = qs.order_by("created_at").values_list("created_at", flat=True).first()
    return Backlog(open=row["open"], overdue=row["overdue"], oldest=oldest)


def open_callbacks(*, area: Area | None = None,
                   technician: Technician | None = None) -> QuerySet[Callback]:
    """R30: the call-centre's queue, oldest first."""
    qs = (Callback.objects.filter(status=CallbackStatus.OPEN)
          .select_related("order__customer", "order__area", "survey__technician__user")
          .order_by("created_at", "pk"))
    if area is not None:
        qs = qs.filter(order__area=area)
    if technician is not None:
        qs = qs.filter(survey__technician=technician)
    return qs


def callbacks_for(user: Any, filters: dict[str, Any]) -> QuerySet[Callback]:
    """The API's callback list: R41 visibility, then ``status`` (default open) and
    ``area`` (code)."""

    qs = (Callback.objects.filter(order__in=orders_visible_to(user))
          .select_related("order__customer", "order__area", "survey__technician__user",
                          "done_by"))
    status = filters.get("status") or CallbackStatus.OPEN
    if status != "all":
        qs = qs.filter(status=status)
    if filters.get("area"):
        qs = qs.filter(order__area__code=filters["area"])
    return qs


def order_history(order: Any) -> dict[str, Any]:
    """Every survey round and rework round of an order, oldest first (all kept, R33)."""
    return {
        "surveys": list(Survey.objects.filter(order=order).order_by("created_at", "pk")),
        "rework_rounds": list(ReworkRound.objects.filter(order=order).order_by("number")),
    }


def follow_up_backlog(*, area: Area | None = None, owner: Any = None,
                      now: dt.datetime | None = None) -> Backlog:
    """R28: questions and complaints still open now; ``overdue``: past their due time."""

    now = now or clock.now()
    qs = FollowUp.objects.filter(status=FollowUpStatus.OPEN)
    if area is not None:
        qs = qs.filter(order__area=area)
    if owner is not None:
        qs = qs.filter(owner=owner)
    row = qs.aggregate(open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
    oldest = qs.order_by("created_at").values_list("created_at", flat=True).first()
    return Backlog(open=row["open"], overdue=row["overdue"], oldest=oldest)
