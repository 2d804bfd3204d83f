"""Reads of the supervisors' dashboards (R39): every figure is computed here.

Compliance figures come from ``OrderFact`` only, for the orders **received** in the period
(a cohort: an order belongs to the period of the day it was received, whatever happened to
it later) and the page's filters. A rate leaves out the orders whose outcome is not known
yet (a contact clock still running, a survey not answered). The "Now" panel and the breach
attribution read the SLA timers themselves. The visit figures (material use against the
norm R46, network-verified test results R48) read the same cohort's facts joined with the
visit's own records (``visit_figures``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DecimalField,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assessment.models import Entry
from charges.models import Payment, PaymentStatus
from complaints.models import (
    Complaint,
    ComplaintDeadline,
    DeadlineKind,
    DeadlineStatus,
    Outcome,
    Tier,
)
from fieldops import clock
from inventory.models import MaterialItem, MaterialNorm, MaterialUse
from outages.models import Link, Outage, OutageOrder
from quality.models import Inspection, InspectionStatus, Signal, SignalKind
from sla.timers import Timer, TimerStatus
from technicians.models import Area, Technician
from visits.models import Source, TestResult
from workorders.models import WorkOrderEvent

from .models import (
    BUCKET_SQL,
    COUNTERS,
    AreaDailyRollup,
    DailyRollup,
    DurationHistogram,
    OrderFact,
    duration_bucket,
)

#: The period shown when none is chosen.
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Filters:
    """The page's filters (all in the URL): period, area, team, technician, kind, class."""

    start: dt.date
    end: dt.date
    area: int | None = None
    team: int | None = None
    technician: int | None = None
    kind: str = ""
    customer_class: str = ""
    #: First-time fix window in days; None: the configured one (DASHBOARD_FIRST_FIX_DAYS),
    #: which the rollup holds; another is counted from the facts.
    first_fix_days: int | None = None
    #: The areas the viewer may read (a dispatcher's own, R39); None: every area.
    scope: tuple[int, ...] | None = None

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, **kwargs: Any) -> Filters:
        today = clock.today_local()
        return cls(start=today - dt.timedelta(days=days - 1), end=today, **kwargs)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of the same length just before this one (for the trend)."""
        return replace(self, start=self.start - dt.timedelta(days=self.days),
                       end=self.start - dt.timedelta(days=1))

    def q(self, prefix: str = "") -> Q:
        """The filters other than the period, on ``OrderFact`` (or a relation to it)."""
        query = Q()
        for name, value in (("area_id", self.area), ("team_id", self.team),
                            ("technician_id", self.technician), ("kind", self.kind),
                            ("customer_class", self.customer_class)):
            if value:
                query &= Q(**{prefix + name: value})
        if self.scope is not None:
            query &= Q(**{prefix + "area_id__in": self.scope})
        return query

    def facts(self) -> QuerySet[OrderFact]:
        return OrderFact.objects.filter(self.q(), day__gte=self.start, day__lte=self.end)


# --- The figures ---------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    key: str
    label: Any
    #: "rate" (a share, 0-1), "count", or "duration" (seconds).
    unit: str
    #: True when a higher value is better (for the trend's colour).
    higher_is_better: bool
    rule: str = ""


FIGURES: tuple[Figure, ...] = (
    Figure("orders", _("Orders received"), "count", True),
    Figure("contact_rate", _("Customer contacted within the window"), "rate", True, "R7"),
    Figure("visit_rate", _("On site within 24 h"), "rate", True, "R34"),
    Figure("on_time_rate", _("On-time arrival"), "rate", True, "R14"),
    Figure("missed", _("Appointments missed by us"), "count", False, "R16"),
    Figure("first_fix_rate", _("First-time fix"), "rate", True),
    Figure("remote_rate", _("Resolved remotely"), "rate", True, "R2"),
    Figure("satisfaction_rate", _("Satisfied answers"), "rate", True, "R29"),
    Figure("rework_rate", _("Rework rate"), "rate", False, "R31"),
    Figure("abnormal", _("Abnormal orders"), "count", False, "R19"),
    Figure("breaches", _("Timers breached"), "count", False, "R38"),
    Figure("exempt_breaches", _("Breaches exempted (force majeure)"), "count", False, "R50"),
    Figure("exemption_rate", _("Share of breaches exempted"), "rate", False, "R50"),
    Figure("contact_median", _("Dispatch → contact, median"), "duration", False, "R7"),
    Figure("contact_p90", _("Dispatch → contact, p90"), "duration", False, "R7"),
    Figure("site_median", _("Dispatch → on site, median"), "duration", False, "R34"),
    Figure("site_p90", _("Dispatch → on site, p90"), "duration", False, "R34"),
    Figure("work_median", _("On site → completed, median"), "duration", False),
    Figure("work_p90", _("On site → completed, p90"), "duration", False),
)
FIGURES_BY_KEY = {f.key: f for f in FIGURES}
#: The rates shown per day, per area and per technician.
TABLE_FIGURES = ("orders", "contact_rate", "visit_rate", "on_time_rate", "missed",
                 "first_fix_rate", "remote_rate", "satisfaction_rate", "rework_rate",
                 "abnormal", "breaches", "exempt_breaches", "exemption_rate")
#: (key, column) of the three durations.
DURATIONS = (("contact", "dispatch_to_contact_s"), ("site", "dispatch_to_site_s"),
             ("work", "site_to_complete_s"))


class Percentile(Aggregate):
    """PostgreSQL's ``percentile_cont(p) WITHIN GROUP (ORDER BY x)``."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _sums(cond: Q) -> dict[str, Any]:
    """Every counter of the rollup, summed over the rows matching ``cond``."""
    return {c: Coalesce(Sum(c, filter=cond), 0) for c in COUNTERS}


def _first_fix_counts(filters: Filters) -> dict[str, int]:
    """First-time fixes for a window other than the configured one, from the facts (the
    rollup holds the configured window only)."""
    window = dt.timedelta(days=filters.first_fix_days or configured_first_fix_days())
    no_repeat = (Q(next_visit_at__isnull=True)
                 | Q(next_visit_at__gt=F("completed_at") + window))
    return filters.facts().filter(completed_at__isnull=False).aggregate(
        completed=Count("pk"),
        first_fix=Count("pk", filter=Q(visits__lte=1, rework_rounds=0) & no_repeat))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def figures_from(sums: dict[str, Any]) -> dict[str, Any]:
    """The figures (rates, counts) from the counters of ``_sums``."""
    return {
        **sums,
        "contact_rate": _ratio(sums["contact_met"],
                               sums["contact_met"] + sums["contact_breached"]),
        "visit_rate": _ratio(sums["visit_met"], sums["visit_met"] + sums["visit_breached"]),
        "on_time_rate": _ratio(sums["arrivals"] - sums["late_arrivals"], sums["arrivals"]),
        "first_fix_rate": _ratio(sums["first_fix"], sums["completed"]),
        "remote_rate": _ratio(sums["remote"], sums["orders"]),
        "satisfaction_rate": _ratio(sums["satisfied_answers"], sums["survey_answers"]),
        "rework_rate": _ratio(sums["reworked"], sums["surveyed"]),
        # R50: exemptions are watched too: the share of the breaches a supervisor exempted.
        "exemption_rate": _ratio(sums.get("exempt_breaches", 0),
                                 sums.get("breaches", 0) + sums.get("exempt_breaches", 0)),
    }


def _percentiles(filters: Filters) -> dict[str, float | None]:
    """Median and p90 of the three durations (paused time already left out), counted in
    the steps of ``duration_bucket`` (whole minutes up to 2 h) and given in seconds: from
    the histogram when nothing but the period is chosen, from the facts otherwise (the
    same numbers either way)."""
    out: dict[str, float | None] = {}
    if not filters.q():
        return _percentiles_of(_histogram_counts(filters, filters)[0])
    facts = filters.facts()
    if connection.vendor == "postgresql":
        aggregates = {}
        for key, column in DURATIONS:
            bucket = RawSQL(BUCKET_SQL.format(column=f'"{column}"'), [])
            aggregates[f"{key}_median"] = Percentile(bucket, fraction=0.5)
            aggregates[f"{key}_p90"] = Percentile(bucket, fraction=0.9)
        return {k: v * 60 if v is not None else None
                for k, v in facts.aggregate(**aggregates).items()}
    for key, column in DURATIONS:  # other databases: in Python, same interpolation
        values = sorted(duration_bucket(v) for v in facts.values_list(column, flat=True)
                        if v is not None)
        for name, fraction in (("median", 0.5), ("p90", 0.9)):
            value = percentile(values, fraction)
            out[f"{key}_{name}"] = value * 60 if value is not None else None
    return out


Counts = dict[str, list[tuple[int, int]]]


def _histogram_counts(filters: Filters, previous: Filters) -> tuple[Counts, Counts]:
    """(minutes, orders) per measure in the period and in ``previous``, in one statement."""
    start = min(filters.start, previous.start)
    rows = (DurationHistogram.objects
            .filter(day__gte=start, day__lte=max(filters.end, previous.end), orders__gt=0)
            .values("measure", "minutes")
            .annotate(now=Sum("orders", filter=Q(day__gte=filters.start,
                                                 day__lte=filters.end)),
                      before=Sum("orders", filter=Q(day__gte=previous.start,
                                                    day__lte=previous.end)))
            .order_by("measure", "minutes")
            .values_list("measure", "minutes", "now", "before"))
    current: Counts = {key: [] for key, _c in DURATIONS}
    earlier: Counts = {key: [] for key, _c in DURATIONS}
    for measure, minutes, now, before in rows:
        if now:
            current[measure].append((minutes, now))
        if before:
            earlier[measure].append((minutes, before))
    return current, earlier


def _percentiles_of(counts: Counts) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key, _column in DURATIONS:
        for name, fraction in (("median", 0.5), ("p90", 0.9)):
            value = percentile_of_counts(counts[key], fraction)
            out[f"{key}_{name}"] = value * 60 if value is not None else None
    return out


def percentile_of_counts(counts: Sequence[tuple[int, int]], fraction: float) -> float | None:
    """``percentile`` of the values (value, how many times), in increasing order."""
    total = sum(n for _v, n in counts)
    if not total:
        return None
    position = (total - 1) * fraction
    low, high = math.floor(position), math.ceil(position)

    def at(rank: int) -> int:
        seen = 0
        for value, n in counts:
            seen += n
            if rank < seen:
                return value
        return counts[-1][0]

    low_value, high_value = at(low), at(high)
    return low_value + (high_value - low_value) * (position - low)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    position = (len(values) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)


@dataclass
class Compliance:
    filters: Filters
    current: dict[str, Any]
    previous: dict[str, Any]

    def rows(self) -> list[dict[str, Any]]:
        """One row per figure: value, previous value, change, whether that is better."""
        rows = []
        for figure in FIGURES:
            now, before = self.current.get(figure.key), self.previous.get(figure.key)
            change = now - before if now is not None and before is not None else None
            better = None
            if change:
                better = (change > 0) == figure.higher_is_better
            rows.append({"figure": figure, "value": now, "previous": before,
                         "change": change, "better": better})
        return rows


def rollups(filters: Filters, *, by_technician: bool = False) -> QuerySet[Any]:
    """The rollup rows of the period: per area unless a team or a technician is chosen
    (or the rows are wanted per technician)."""
    model: Any = DailyRollup if (by_technician or filters.team or filters.technician) \
        else AreaDailyRollup
    return model.objects.filter(filters.q(), day__gte=filters.start, day__lte=filters.end)


def compliance(filters: Filters) -> Compliance:
    """Every R39 figure for the period and for the period before it: the counters of both
    periods in one pass over the daily rollup, and the percentiles from the facts."""
    previous = filters.previous()
    current_q, previous_q = Q(day__gte=filters.start), Q(day__lt=filters.start)
    sums = rollups(replace(filters, start=previous.start)).aggregate(
        **{f"c_{k}": v for k, v in _sums(current_q).items()},
        **{f"p_{k}": v for k, v in _sums(previous_q).items()})
    raw_current = {k[2:]: v for k, v in sums.items() if k.startswith("c_")}
    raw_before = {k[2:]: v for k, v in sums.items() if k.startswith("p_")}
    if filters.first_fix_days not in (None, configured_first_fix_days()):
        raw_current.update(_first_fix_counts(filters))
        raw_before.update(_first_fix_counts(previous))
    current, before = figures_from(raw_current), figures_from(raw_before)
    if filters.q():
        current.update(_percentiles(filters))
        before.update(_percentiles(previous))
    else:  # both periods from the histogram in one statement
        now_counts, before_counts = _histogram_counts(filters, previous)
        current.update(_percentiles_of(now_counts))
        before.update(_percentiles_of(before_counts))
    return Compliance(filters=filters, current=current, previous=before)


def configured_first_fix_days() -> int:

    return int(settings.DASHBOARD_FIRST_FIX_DAYS)


def _grouped(filters: Filters, by: str) -> list[dict[str, Any]]:
    # Prefixed: an annotation named like a field would shadow it.
    rows = (rollups(filters, by_technician=by == "technician_id").values(by)
            .annotate(**{f"s_{k}": v for k, v in _sums(Q()).items()}).order_by(by))
    # Rows whose orders all moved elsewhere (a reassignment) sum to zero: left out.
    grouped = [{"key": row[by], **{c: row[f"s_{c}"] for c in COUNTERS}} for row in rows
               if row["s_orders"]]
    if filters.first_fix_days not in (None, configured_first_fix_days()) and by != "day":
        for row in grouped:
            row.update(_first_fix_counts(replace(filters, **{by.removesuffix("_id"):
                                                             row["key"]})))
    return [figures_from(row) | {"key": row["key"]} for row in grouped]


def daily(filters: Filters) -> list[dict[str, Any]]:
    """The figures of each day of the period (days without orders included, empty)."""
    found = {row["key"]: row for row in _grouped(filters, "day")}
    out = []
    for i in range(filters.days):
        day = filters.start + dt.timedelta(days=i)
        out.append(found.get(day) or {"key": day, "orders": 0})
    return out


def by_area(filters: Filters) -> list[dict[str, Any]]:

    rows = _grouped(filters, "area_id")
    names = dict(Area.objects.filter(pk__in=[r["key"] for r in rows])
                 .values_list("pk", "name"))
    for row in rows:
        row["name"] = names.get(row["key"], "")
    return sorted(rows, key=lambda r: (-r["orders"], r["name"]))


def by_technician(filters: Filters) -> list[dict[str, Any]]:

    rows = [r for r in _grouped(filters, "technician_id") if r["key"]]
    names = {}
    for pk, number, first, last, username in (
            Technician.objects.filter(pk__in=[r["key"] for r in rows])
            .values_list("pk", "employee_no", "user__first_name", "user__last_name",
                         "user__username")):
        names[pk] = (f"{first} {last}".strip() or username, number)  # as display_name
    for row in rows:
        row["name"], row["employee_no"] = names.get(row["key"], ("", ""))
    return sorted(rows, key=lambda r: (-r["orders"], r["name"]))


# --- Now: open breaches and orders at risk (R38) ------------------------------------------

def now_panel(filters: Filters, *, limit: int = 50) -> dict[str, Any]:
    """Open timers that are breached or past their warning step, newest first (with time
    left, who holds the order, which timer), and their counts by area. The period does
    not apply: this is what is open now."""

    now = clock.now()
    open_warned = Timer.objects.filter(
        status__in=[TimerStatus.ARMED, TimerStatus.PAUSED], warned_at__isnull=False)
    query = Q()
    for name, value in (("area_id", filters.area), ("technician__team_id", filters.team),
                        ("technician_id", filters.technician), ("kind", filters.kind),
                        ("customer_class", filters.customer_class)):
        if value:
            query &= Q(**{"order__" + name: value})
    if filters.scope is not None:
        query &= Q(order__area_id__in=filters.scope)
    open_warned = open_warned.filter(query)
    timers = list(open_warned.select_related("order__area", "order__technician__user")
                  .order_by(Coalesce("breached_at", "warned_at").desc(), "-pk")[:limit])
    rows = []
    for timer in timers:
        if timer.status == TimerStatus.ARMED and timer.due_at is not None:
            left = (timer.due_at - now).total_seconds()
        else:  # paused: the time left does not run down
            left = float(timer.target_seconds - timer.consumed_seconds)
        order = timer.order
        rows.append({"timer": timer, "order": order, "breached": timer.breached_at is not None,
                     "since": timer.breached_at or timer.warned_at, "seconds_left": left,
                     "overdue": max(-left, 0.0),
                     "paused": timer.status == TimerStatus.PAUSED,
                     "technician": order.technician.display_name if order.technician else ""})
    counts = (open_warned.values("order__area_id")
              .annotate(breached=Count("pk", filter=Q(breached_at__isnull=False)),
                        at_risk=Count("pk", filter=Q(breached_at__isnull=True))))
    names = dict(Area.objects.values_list("pk", "name"))
    areas = sorted(({"area_id": c["order__area_id"], "name": names.get(c["order__area_id"], ""),
                     "breached": c["breached"], "at_risk": c["at_risk"]} for c in counts),
                   key=lambda c: (-c["breached"], -c["at_risk"], c["name"]))
    return {"rows": rows, "areas": areas, "at": now,
            "breached": sum(a["breached"] for a in areas),
            "at_risk": sum(a["at_risk"] for a in areas)}


# --- Breach attribution ----------------------------------------------------------------

#: Where the time of a breached promise went, by the order's state at each moment.
WAITING_FOR_DISPATCH = frozenset({"accepted", "no_resources"})
PAUSED_FOR_CUSTOMER = frozenset({"parked"})
SEGMENTS = (("dispatch", _("Waiting for dispatch")),
            ("technician", _("With the technician")),
            ("customer", _("Paused for the customer")))


def segment_of(state: str) -> str:
    if state in WAITING_FOR_DISPATCH:
        return "dispatch"
    if state in PAUSED_FOR_CUSTOMER:
        return "customer"
    return "technician"


def split_time(events: Iterable[tuple[dt.datetime, str]], start: dt.datetime,
               end: dt.datetime) -> dict[str, float]:
    """Seconds of [start, end) spent in each segment, from the order's (at, to_state)
    events in order: each state lasts until the next event."""
    spent = dict.fromkeys((key for key, _label in SEGMENTS), 0.0)
    state = "accepted"
    cursor = start
    for at, to_state in events:
        if at > cursor:
            if at >= end:
                break
            spent[segment_of(state)] += (at - cursor).total_seconds()
            cursor = at
        state = to_state
    if end > cursor:
        spent[segment_of(state)] += (end - cursor).total_seconds()
    return spent


def breach_attribution(filters: Filters, *, limit: int = 100) -> dict[str, Any]:
    """For each breached timer of the orders received in the period (newest breach first),
    how the time from the timer's start to the breach was spent: waiting for dispatch,
    with the technician, paused for the customer. The largest share names the problem."""

    timers = list(
        Timer.objects.filter(filters.q("order__fact__"), breached_at__isnull=False,
                             order__fact__day__gte=filters.start,
                             order__fact__day__lte=filters.end,
                             exempt_mark__isnull=True)  # R50: exempt ones apart
        .select_related("order__area", "order__technician__user")
        .order_by("-breached_at", "-pk")[:limit])
    history: dict[int, list[tuple[dt.datetime, str]]] = {}
    for order_id, at, to_state in (WorkOrderEvent.objects
                                   .filter(order_id__in={t.order_id for t in timers})
                                   .order_by("at", "id")
                                   .values_list("order_id", "at", "to_state")):
        history.setdefault(order_id, []).append((at, to_state))
    rows = []
    totals = dict.fromkeys((key for key, _label in SEGMENTS), 0.0)
    for timer in timers:
        assert timer.breached_at is not None
        spent = split_time(history.get(timer.order_id, []), timer.started_at,
                           timer.breached_at)
        for key, seconds in spent.items():
            totals[key] += seconds
        main = max(spent, key=lambda k: spent[k])
        order = timer.order
        rows.append({"timer": timer, "order": order, "spent": spent, "main": main,
                     "technician": order.technician.display_name if order.technician else ""})
    return {"rows": rows, "totals": totals,
            "main_counts": {key: sum(1 for r in rows if r["main"] == key)
                            for key, _label in SEGMENTS}}


def exempt_breaches(filters: Filters, *, limit: int = 100) -> list[dict[str, Any]]:
    """R50: the breaches of the period's orders a supervisor exempted for force majeure,
    newest first, with who exempted them, when and why (still recorded, R38; left out of
    the figures and of the attribution above)."""
    timers = (Timer.objects.filter(filters.q("order__fact__"), breached_at__isnull=False,
                                   exempt_mark__isnull=False,
                                   order__fact__day__gte=filters.start,
                                   order__fact__day__lte=filters.end)
              .select_related("order__area", "order__technician__user",
                              "exempt_mark__exemption", "exempt_mark__exempted_by")
              .order_by("-breached_at", "-pk")[:limit])
    return [{"timer": t, "order": t.order, "mark": t.exempt_mark,
             "exemption": t.exempt_mark.exemption,
             "technician": t.order.technician.display_name if t.order.technician else ""}
            for t in timers]


# --- One technician against their area ------------------------------------------------------

def technician_scorecard(filters: Filters, technician: Any) -> dict[str, Any]:
    """The technician's figures over the period, day by day, against those of their
    area (their team's home area, or the first area they serve)."""
    area_id = technician.team.area_id if technician.team_id else (
        technician.areas.values_list("pk", flat=True).order_by("pk").first())
    own = replace(filters, technician=technician.pk, area=None, team=None)
    area = replace(filters, area=area_id, technician=None, team=None)
    return {"technician": technician, "area_id": area_id,
            "own": compliance(own), "area": compliance(area),
            "own_daily": daily(own), "area_daily": daily(area)}


# --- The visit: material use against the norm (R46), network-verified results (R48) -----

#: The visit figures of a group of completed orders, by key.
VISIT_FIGURES = ("completed", "above_norm", "above_norm_rate", "measured", "network",
                 "network_rate", "collected")


def _visit_facts(filters: Filters) -> QuerySet[OrderFact]:
    """The cohort's completed orders, each marked: materials used far above the norm for
    its kind (R46, any use flagged), any measured result (R48), any result read from the
    operator's network rather than typed (R48), and the charges the customer paid (R47:
    payments confirmed by the payment backend, in yuan)."""
    order = OuterRef("order_id")
    paid = (Payment.objects.filter(order_id=order, status=PaymentStatus.PAID).order_by()
            .values("order_id").annotate(total=Sum("amount")).values("total"))
    return (filters.facts().filter(completed_at__isnull=False)
            .annotate(v_above=Exists(MaterialUse.objects.filter(order_id=order,
                                                                above_norm=True)),
                      v_measured=Exists(TestResult.objects.filter(order_id=order)),
                      v_network=Exists(TestResult.objects.filter(order_id=order,
                                                                 source=Source.NETWORK)),
                      v_collected=Subquery(paid, output_field=DecimalField(max_digits=12,
                                                                           decimal_places=2))))


def _visit_row(counts: dict[str, Any]) -> dict[str, Any]:
    completed = counts.get("completed") or 0
    return {"completed": completed, "above_norm": counts.get("above_norm") or 0,
            "above_norm_rate": _ratio(counts.get("above_norm") or 0, completed),
            "measured": counts.get("measured") or 0, "network": counts.get("network") or 0,
            "network_rate": _ratio(counts.get("network") or 0, completed),
            "collected": counts.get("collected") or Decimal("0.00")}


_VISIT_COUNTS = {"completed": Count("order_id"),
                 "above_norm": Count("order_id", filter=Q(v_above=True)),
                 "measured": Count("order_id", filter=Q(v_measured=True)),
                 "network": Count("order_id", filter=Q(v_network=True)),
                 "collected": Sum("v_collected")}


def _visit_grouped(filters: Filters, by: str) -> list[dict[str, Any]]:
    rows = (_visit_facts(filters).order_by().values(by)
            .annotate(**{f"n_{k}": v for k, v in _VISIT_COUNTS.items()}).order_by(by))
    return [{"key": row[by], **_visit_row({k: row[f"n_{k}"] for k in _VISIT_COUNTS})}
            for row in rows]


def material_use(filters: Filters) -> list[dict[str, Any]]:
    """R46, per catalogue item: the net quantity the cohort's completed orders used, the
    norm those orders add up to (each order's kind's norm for the item), their ratio, and
    how many orders were flagged above the norm for it."""
    facts = filters.facts().filter(completed_at__isnull=False)
    kinds = dict(facts.order_by().values("kind").annotate(n=Count("order_id"))
                 .values_list("kind", "n"))
    used: dict[int, dict[str, Any]] = {row["item_id"]: dict(row) for row in (
        MaterialUse.objects.filter(order__fact__in=facts).order_by().values("item_id")
        .annotate(quantity=Sum("quantity"),
                  flagged=Count("order_id", filter=Q(above_norm=True), distinct=True)))}
    expected: dict[int, Decimal] = {}
    for item_id, kind, quantity in MaterialNorm.objects.filter(kind__in=kinds).values_list(
            "item_id", "kind", "quantity"):
        expected[item_id] = expected.get(item_id, Decimal(0)) + quantity * kinds[kind]
    items = MaterialItem.objects.filter(pk__in={*used, *expected}).order_by("code")
    rows = []
    for item in items:
        quantity = used.get(item.pk, {}).get("quantity") or Decimal(0)
        norm = expected.get(item.pk)
        rows.append({"item": item, "code": item.code, "name": item.name,
                     "unit": item.get_unit_display(), "used": quantity, "norm": norm,
                     "ratio": float(quantity / norm) if norm else None,
                     "flagged": used.get(item.pk, {}).get("flagged") or 0})
    return rows


def visit_figures(filters: Filters) -> dict[str, Any]:
    """R46, R47, R48 for the cohort's completed orders: the share flagged above the
    material norm, the charges collected and the share with a network-verified test
    result, overall, by area and by
    technician (holding the order last, as the other figures), and the material use per
    item against the norm."""
    total = _visit_facts(filters).order_by().aggregate(**_VISIT_COUNTS)
    areas = _visit_grouped(filters, "area_id")
    area_names = dict(Area.objects.filter(pk__in=[r["key"] for r in areas])
                      .values_list("pk", "name"))
    for row in areas:
        row["name"] = area_names.get(row["key"], "")
    technicians = [r for r in _visit_grouped(filters, "technician_id") if r["key"]]
    names = {pk: (f"{first} {last}".strip() or username, number)
             for pk, number, first, last, username in (
                 Technician.objects.filter(pk__in=[r["key"] for r in technicians])
                 .values_list("pk", "employee_no", "user__first_name", "user__last_name",
                              "user__username"))}
    for row in technicians:
        row["name"], row["employee_no"] = names.get(row["key"], ("", ""))
    return {"summary": _visit_row(total),
            "areas": sorted(areas, key=lambda r: (-r["completed"], r["name"])),
            "technicians": sorted(technicians, key=lambda r: (-r["completed"], r["name"])),
            "materials": material_use(filters)}


# --- Quality and exceptions: inspections (R52), the ledger (R53), complaints (R51), -----
# --- outages (R54). Live from the period's own rows, like the visit figures. ------------

def _moments(filters: Filters) -> tuple[dt.datetime, dt.datetime]:
    """The period as [start, end) in the operator's time zone."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(filters.start, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def _who(filters: Filters, *, area: str | None, team: str | None,
         technician: str | None) -> Q:
    """The page's area, team and technician filters (and the viewer's areas) on a table
    whose area, team and technician are at these paths; None: the table has no such
    thing, so the filter leaves every row out (a figure is not shown for a filter it
    cannot honour)."""
    query = Q()
    for path, value in ((area, filters.area), (team, filters.team),
                        (technician, filters.technician)):
        if value:
            query &= Q(**{path: value}) if path else Q(pk__in=[])
    if filters.scope is not None:
        query &= Q(**{f"{area}__in": filters.scope}) if area else Q(pk__in=[])
    return query


def _names(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill ``name`` and ``employee_no`` of rows keyed by technician id."""
    names = {pk: (f"{first} {last}".strip() or username, number)
             for pk, number, first, last, username in (
                 Technician.objects.filter(pk__in=[r["key"] for r in rows])
                 .values_list("pk", "employee_no", "user__first_name", "user__last_name",
                              "user__username"))}
    for row in rows:
        row["name"], row["employee_no"] = names.get(row["key"], ("", ""))
    return rows


def _area_names(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = dict(Area.objects.filter(pk__in=[r["key"] for r in rows])
                 .values_list("pk", "name"))
    for row in rows:
        row["name"] = names.get(row["key"], "")
    return rows


_INSPECTION_COUNTS = {
    "inspections": Count("pk"),
    "open": Count("pk", filter=Q(status=InspectionStatus.OPEN)),
    "passed": Count("pk", filter=Q(status=InspectionStatus.PASSED)),
    "failed": Count("pk", filter=Q(status=InspectionStatus.FAILED)),
}


def _inspection_row(counts: dict[str, Any]) -> dict[str, Any]:
    passed, failed = counts.get("passed") or 0, counts.get("failed") or 0
    return {"inspections": counts.get("inspections") or 0, "open": counts.get("open") or 0,
            "passed": passed, "failed": failed, "decided": passed + failed,
            "pass_rate": _ratio(passed, passed + failed)}


def inspection_figures(filters: Filters) -> dict[str, Any]:
    """R52: the inspections of the orders completed in the period (their completion
    day), with the area and the technician of the completion: how many, still open,
    passed, failed and the pass rate (passed ÷ decided); and the suspicion signals found
    in the period by kind (area and technician: the order's)."""
    inspections = Inspection.objects.filter(
        _who(filters, area="area_id", team="technician__team_id",
             technician="technician_id"),
        day__gte=filters.start, day__lte=filters.end).order_by()
    summary = _inspection_row(inspections.aggregate(**_INSPECTION_COUNTS))

    def grouped(by: str) -> list[dict[str, Any]]:
        return [{"key": row[by], **_inspection_row(row)} for row in
                inspections.values(by).annotate(**_INSPECTION_COUNTS).order_by(by)
                if row[by] is not None]

    start, end = _moments(filters)
    found = dict(Signal.objects.filter(
        _who(filters, area="order__area_id", team="order__technician__team_id",
             technician="order__technician_id"),
        found_at__gte=start, found_at__lt=end).order_by().values("kind")
        .annotate(n=Count("pk")).values_list("kind", "n"))
    signals = [{"kind": kind, "label": label, "count": found.get(kind, 0)}
               for kind, label in SignalKind.choices]
    return {"summary": summary,
            "areas": sorted(_area_names(grouped("area_id")),
                            key=lambda r: (-r["inspections"], r["name"])),
            "technicians": sorted(_names(grouped("technician_id")),
                                  key=lambda r: (-r["inspections"], r["name"])),
            "signals": signals}


def _ledger() -> Any:
    """The assessment ledger's entries (R53), from the floor below."""
    return Entry.objects


def ledger_figures(filters: Filters) -> dict[str, Any]:
    """R53: the entries that happened in the period (``occurred_at``, reversals
    included, so the totals are net), summed per technician and per team (the
    technician's team today; area: the team's home area)."""
    start, end = _moments(filters)
    entries = _ledger().filter(
        _who(filters, area="technician__team__area_id", team="technician__team_id",
             technician="technician_id"),
        occurred_at__gte=start, occurred_at__lt=end).order_by()
    sums = {"entries": Count("pk"), "points": Coalesce(Sum("points"), 0),
            "amount": Coalesce(Sum("amount"), Decimal("0.00"),
                               output_field=DecimalField(max_digits=12, decimal_places=2))}
    total = entries.aggregate(**sums)
    technicians = _names([{"key": r["technician_id"], **r} for r in
                          entries.values("technician_id").annotate(**sums)])
    teams = [{"key": r["technician__team_id"], "name": r["technician__team__name"] or "",
              **{k: r[k] for k in sums}} for r in
             entries.values("technician__team_id", "technician__team__name").annotate(**sums)]
    return {"summary": total,
            "technicians": sorted(technicians, key=lambda r: (r["points"], r["name"])),
            "teams": sorted(teams, key=lambda r: (r["points"], r["name"]))}


def complaint_figures(filters: Filters) -> dict[str, Any]:
    """R51: the complaints recorded in the period (area: the order's, so a complaint
    about a customer without an order is left out when an area is chosen; technician:
    the one complained about), by tier: how many, the share of the response and of the
    resolution deadlines met (of those met or breached; one still running is left out)
    and the share upheld (of those decided)."""
    start, end = _moments(filters)
    complaints = Complaint.objects.filter(
        _who(filters, area="order__area_id", team="technician__team_id",
             technician="technician_id"),
        recorded_at__gte=start, recorded_at__lt=end).order_by()
    counts: dict[str, dict[str, Any]] = {
        row["tier"]: dict(row) for row in complaints.values("tier").annotate(
            n=Count("pk"), upheld=Count("pk", filter=Q(outcome=Outcome.UPHELD)),
            decided=Count("pk", filter=~Q(outcome=Outcome.PENDING)))}
    met = Q(status=DeadlineStatus.MET, breached_at__isnull=True)
    done = Q(breached_at__isnull=False) | met
    deadlines: dict[tuple[str, str], dict[str, Any]] = {
        (row["complaint__tier"], row["kind"]): dict(row) for row in
        ComplaintDeadline.objects.filter(complaint__in=complaints).order_by()
        .values("complaint__tier", "kind")
        .annotate(met=Count("pk", filter=met), done=Count("pk", filter=done))}

    def row(tiers: Sequence[str], label: Any, key: str) -> dict[str, Any]:
        n = sum(counts.get(t, {}).get("n", 0) for t in tiers)
        upheld = sum(counts.get(t, {}).get("upheld", 0) for t in tiers)
        decided = sum(counts.get(t, {}).get("decided", 0) for t in tiers)
        out = {"tier": key, "label": label, "complaints": n, "upheld": upheld,
               "decided": decided, "upheld_rate": _ratio(upheld, decided)}
        for kind in DeadlineKind.values:
            kept = sum(deadlines.get((t, kind), {}).get("met", 0) for t in tiers)
            judged = sum(deadlines.get((t, kind), {}).get("done", 0) for t in tiers)
            out[f"{kind}_met"], out[f"{kind}_judged"] = kept, judged
            out[f"{kind}_rate"] = _ratio(kept, judged)
        return out

    tiers = [row([value], label, value) for value, label in Tier.choices]
    return {"tiers": tiers, "summary": row(Tier.values, _("All tiers"), "")}


def outage_figures(filters: Filters) -> dict[str, Any]:
    """R54: the outages declared in the period in the chosen areas (an outage's area is
    its own, or its access node's), the repair orders attached to them and how many of
    those closed without a visit (the customer said service was back). Outages belong to
    no team or technician: with those filters nothing is counted."""
    start, end = _moments(filters)
    outages = (Outage.objects.annotate(area_key=Coalesce("area_id", "node__area_id"))
               .filter(_who(filters, area="area_key", team=None, technician=None),
                       declared_at__gte=start, declared_at__lt=end).order_by())
    links = OutageOrder.objects.filter(outage__in=outages.values("pk")).order_by()
    by_outage = dict(links.values("outage_id").annotate(n=Count("pk"))
                     .values_list("outage_id", "n"))
    resolved = dict(links.filter(state=Link.RESOLVED).values("outage_id")
                    .annotate(n=Count("pk")).values_list("outage_id", "n"))
    areas: dict[int, dict[str, Any]] = {}
    for pk, area in outages.values_list("pk", "area_key"):
        row = areas.setdefault(area, {"key": area, "outages": 0, "orders": 0,
                                      "resolved": 0})
        row["outages"] += 1
        row["orders"] += by_outage.get(pk, 0)
        row["resolved"] += resolved.get(pk, 0)
    rows = list(areas.values())
    summary = {k: sum(r[k] for r in rows) for k in ("outages", "orders", "resolved")}
    summary["resolved_rate"] = _ratio(summary["resolved"], summary["orders"])
    for row in rows:
        row["resolved_rate"] = _ratio(row["resolved"], row["orders"])
    return {"summary": summary, "applies": not (filters.team or filters.technician),
            "areas": sorted(_area_names(rows), key=lambda r: (-r["outages"], r["name"]))}


def quality_figures(filters: Filters) -> dict[str, Any]:
    """The "Quality and exceptions" section: R52, R53, R51, R54 for the page's filters."""
    return {"inspections": inspection_figures(filters), "ledger": ledger_figures(filters),
            "complaints": complaint_figures(filters), "outages": outage_figures(filters)}
