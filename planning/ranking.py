"""R4: technicians ranked for one order, each with the reasons in words.

For every technician serving the order's area the ranking works out:

* eligibility, by the rule every dispatch obeys (``workorders.services.intake.why_not``:
  on duty, serves the area, has the kind, service and access-type skills), and whether
  they are at daily capacity (auto-dispatch skips them; a dispatcher may still choose them);
* load: open orders held, and visits booked on the order's visit day;
* where they will be: the previous booked visit that day (for a booked window), else the
  last check-in position (not older than ``position_max_age_hours``), else their area's
  centre; the distance to the order in km (haversine) and the travel time at ``speed_kmh``;
* the free time around the booked window (or the longest free stretch of the working day);
* the order's running promises (SLA timers): contact and re-contact are met if still due;
  visit and arrival are met if the estimated arrival is before they are due.

Score (lower is better), with the weights of ``settings.DISPATCH_RANKING``::

    score = load × open orders + km × distance + busy × (window clashes with a booking)
            + promise × promises at risk

An unknown distance counts as ``unknown_km``. Order: eligible before ineligible, under
capacity before at capacity, then score, open orders, orders dispatched today, id: the
same tie-break the plain picker used, so equal candidates keep their old order.
Auto-dispatch (``pick_technician``) takes the first eligible one under capacity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from appointments.models import Appointment, AppointmentStatus, Precision
from fieldops import clock
from sla.timers import Timer, TimerKind, TimerStatus
from technicians.models import Technician
from workorders.models import OPEN_STATES, WorkOrder
from workorders.selectors import technicians_with_load
from workorders.services.intake import why_not

from .geocoding import Point, geocoder, haversine_km
from .models import OrderLocation, TechnicianPosition

DEFAULTS: dict[str, Any] = {
    "weights": {"load": 10.0, "km": 2.0, "busy": 50.0, "promise": 100.0},
    "speed_kmh": 20.0,
    "unknown_km": 10.0,
    "position_max_age_hours": 12.0,
    "day": ("08:00", "20:00"),
}

PROMISES = {
    TimerKind.CONTACT: gettext_lazy("contact"),
    TimerKind.REWORK_CONTACT: gettext_lazy("re-contact"),
    TimerKind.VISIT: gettext_lazy("visit"),
    TimerKind.ARRIVAL: gettext_lazy("arrival"),
}
#: Promises kept by arriving in time (the others by calling in time).
ON_SITE = {TimerKind.VISIT, TimerKind.ARRIVAL}


def ranking_settings() -> dict[str, Any]:
    given = getattr(settings, "DISPATCH_RANKING", {}) or {}
    merged = {**DEFAULTS, **given}
    merged["weights"] = {**DEFAULTS["weights"], **given.get("weights", {})}
    return merged


@dataclass
class Promise:
    kind: str
    due_at: dt.datetime
    met: bool


@dataclass
class Candidate:
    technician: Technician
    eligible: bool
    refusal: str | None
    at_capacity: bool
    open_orders: int
    dispatched_today: int
    visits_that_day: int
    origin: str | None  # "previous_visit" | "position" | "area" | None
    distance_km: float | None
    travel_minutes: int | None
    free_from: dt.datetime | None
    free_until: dt.datetime | None
    clash: str | None  # the number of a booked order the window overlaps
    promises: list[Promise] = field(default_factory=list)
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)

    @property
    def can_auto_dispatch(self) -> bool:
        return self.eligible and not self.at_capacity


@dataclass(frozen=True)
class _Visit:
    number: str
    start: dt.datetime
    end: dt.datetime
    place: Point | None
    #: a booked time or half day; a whole day agreed at intake (R3) holds no slot
    fixed: bool = True


def _clock(value: dt.datetime) -> str:
    return formats.time_format(timezone.localtime(value), "H:i")


def working_day(day: dt.date, cfg: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    opens, closes = (dt.time.fromisoformat(t) for t in cfg["day"])
    return (timezone.make_aware(dt.datetime.combine(day, opens)),
            timezone.make_aware(dt.datetime.combine(day, closes)))


def _window(order: WorkOrder, now: dt.datetime) -> tuple[dt.date, Appointment | None]:
    """The visit day, and the booked window unless the booking is a whole day (R3)."""
    booking = (Appointment.objects.filter(order=order, status=AppointmentStatus.BOOKED)
               .order_by("-booked_at", "-pk").first())
    if booking is not None:
        day = timezone.localdate(booking.start)
        return day, (None if booking.precision == Precision.DAY else booking)
    return (order.preferred_day or timezone.localdate(now)), None


def _visits(technician_ids: list[int], day: dt.date, order: WorkOrder
            ) -> dict[int, list[_Visit]]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    rows = (Appointment.objects
            # open orders only: a closed order's visit is not ahead (and an order resolved
            # remotely keeps the day its intake booked); read from the technician-state index
            .filter(order__technician_id__in=technician_ids, order__state__in=OPEN_STATES,
                    status=AppointmentStatus.BOOKED, start__lt=end, end__gt=start)
            .exclude(order=order)
            .values_list("order__technician_id", "order_id", "start", "end", "precision",
                         "order__location__latitude", "order__location__longitude")
            .order_by("start", "pk"))
    found: dict[int, list[_Visit]] = {}
    for tech, order_id, s, e, precision, lat, lon in rows:
        place = Point(lat, lon) if lat is not None and lon is not None else None
        found.setdefault(tech, []).append(_Visit(WorkOrder.number_for(order_id), s, e, place,
                                                 fixed=precision != Precision.DAY))
    return found


def latest_positions(technician_ids: list[int], since: dt.datetime) -> dict[int, Point]:
    # Each technician's latest position of the window (a few a day each); newest first,
    # the first row per technician wins. Portable: the embedded SQLite has no DISTINCT ON.
    rows = (TechnicianPosition.objects
            .filter(technician_id__in=technician_ids, at__gte=since)
            .order_by("technician_id", "-at", "-pk")
            .values_list("technician_id", "latitude", "longitude"))
    latest: dict[int, Point] = {}
    for tech, lat, lon in rows:
        latest.setdefault(tech, Point(lat, lon))
    return latest


def _free_gap(visits: list[_Visit], opens: dt.datetime, closes: dt.datetime,
              window: Appointment | None, now: dt.datetime
              ) -> tuple[dt.datetime | None, dt.datetime | None, _Visit | None]:
    """The free stretch around the window (or the longest free stretch of the day after
    ``now``), and the booking the window clashes with, if any."""
    if window is not None:
        clash = next((v for v in visits if v.start < window.end and v.end > window.start),
                     None)
        if clash is not None:
            return None, None, clash
        before = [v.end for v in visits if v.end <= window.start]
        after = [v.start for v in visits if v.start >= window.end]
        return (max([opens, *before]), min([closes, *after]), None)
    cursor = max(opens, now)
    best: tuple[dt.datetime | None, dt.datetime | None] = (None, None)
    length = dt.timedelta(0)
    for v in [*visits, _Visit("", closes, closes, None)]:
        if v.start > cursor and v.start - cursor > length:
            best, length = (cursor, min(v.start, closes)), v.start - cursor
        cursor = max(cursor, v.end)
    return best[0], best[1], None


def rank_candidates(order: WorkOrder, *, now: dt.datetime | None = None,
                    exclude: Iterable[int] = ()) -> list[Candidate]:
    """R4: every technician serving the order's area, best first, with reasons."""
    now = now or clock.now()
    cfg = ranking_settings()
    weights = cfg["weights"]
    excluded = set(exclude)
    technicians = list(
        technicians_with_load(Technician.objects.filter(
            pk__in=Technician.objects.filter(areas=order.area_id).values("pk")))
        .select_related("user")
        .prefetch_related("areas", "skills", "access_types")
        .order_by("pk"))
    ids = [t.pk for t in technicians]
    day, window = _window(order, now)
    opens, closes = working_day(day, cfg)
    visits = _visits(ids, day, order)
    positions = latest_positions(
        ids, now - dt.timedelta(hours=float(cfg["position_max_age_hours"])))
    target_row = OrderLocation.objects.filter(order_id=order.pk).first()
    target = Point(target_row.latitude, target_row.longitude) if target_row else None
    timers = list(Timer.objects.filter(order_id=order.pk, status=TimerStatus.ARMED,
                                       kind__in=list(PROMISES), due_at__isnull=False)
                  .order_by("due_at", "pk"))
    coder = geocoder()
    centres: dict[int, Point | None] = {}
    speed = float(cfg["speed_kmh"])
    is_today = day == timezone.localdate(now)

    ranked: list[Candidate] = []
    for tech in technicians:
        refusal = (_("%(name)s has this order now.") % {"name": tech.display_name}
                   if tech.pk in excluded else why_not(order, tech))
        load, today = tech.load, tech.today  # type: ignore[attr-defined]  # annotated
        mine = visits.get(tech.pk, [])
        slots = [v for v in mine if v.fixed]
        free_from, free_until, clash = _free_gap(slots, opens, closes, window, now)
        # where the technician will be when leaving for this order
        origin, place, leaves = None, None, now
        if window is not None:
            before = [v for v in slots if v.end <= window.start and v.place is not None]
            if before:
                origin, place, leaves = "previous_visit", before[-1].place, before[-1].end
        if place is None and tech.pk in positions:
            origin, place = "position", positions[tech.pk]
        if place is None:
            if order.area_id not in centres:
                centres[order.area_id] = coder.area_centre(order.area)
            if centres[order.area_id] is not None:
                origin, place = "area", centres[order.area_id]
        km = round(haversine_km(place, target), 1) if place and target else None
        travel = round(km / speed * 60) if km is not None else None
        arrival = max(leaves, now) + dt.timedelta(minutes=travel or 0)
        if window is not None:
            arrival = max(arrival, window.start)
        promises = [Promise(t.kind, due, (arrival if t.kind in ON_SITE else now) <= due)
                    for t in timers if (due := t.due_at) is not None]
        at_risk = sum(not p.met for p in promises)
        score = (weights["load"] * load
                 + weights["km"] * (km if km is not None else float(cfg["unknown_km"]))
                 + weights["busy"] * (clash is not None) + weights["promise"] * at_risk)
        c = Candidate(technician=tech, eligible=refusal is None, refusal=refusal,
                      at_capacity=load >= tech.daily_capacity, open_orders=load,
                      dispatched_today=today, visits_that_day=len(mine), origin=origin,
                      distance_km=km, travel_minutes=travel, free_from=free_from,
                      free_until=free_until, clash=clash.number if clash else None,
                      promises=promises, score=round(score, 1))
        c.reasons = _reasons(c, order, clash, is_today, day)
        ranked.append(c)
    ranked.sort(key=lambda c: (not c.eligible, c.at_capacity, c.score, c.open_orders,
                               c.dispatched_today, c.technician.pk))
    return ranked


def _reasons(c: Candidate, order: WorkOrder, clash: _Visit | None, is_today: bool,
             day: dt.date) -> list[str]:
    out = [c.refusal] if c.refusal else [_("in area, skills match")]
    if c.at_capacity:
        out.append(_("at daily capacity (%(count)d open orders)") % {"count": c.open_orders})
    else:
        out.append(ngettext("%(count)d open order", "%(count)d open orders", c.open_orders)
                   % {"count": c.open_orders})
    if is_today:
        out.append(ngettext("%(count)d visit booked today", "%(count)d visits booked today",
                            c.visits_that_day) % {"count": c.visits_that_day})
    else:
        out.append(ngettext("%(count)d visit booked on %(day)s",
                            "%(count)d visits booked on %(day)s", c.visits_that_day)
                   % {"count": c.visits_that_day, "day": formats.date_format(day, "m-d")})
    if c.distance_km is None:
        out.append(_("distance unknown"))
    else:
        where = {"previous_visit": _("from the previous visit"),
                 "position": _("from the last check-in"),
                 "area": _("from the area's centre")}[c.origin or "area"]
        out.append(_("%(km)s km %(where)s, about %(minutes)d min")
                   % {"km": formats.number_format(c.distance_km, 1), "where": where,
                      "minutes": c.travel_minutes or 0})
    if clash is not None:
        out.append(_("busy %(start)s-%(end)s (%(number)s)")
                   % {"start": _clock(clash.start), "end": _clock(clash.end),
                      "number": clash.number})
    elif c.free_from is not None and c.free_until is not None:
        out.append(_("free %(start)s-%(end)s")
                   % {"start": _clock(c.free_from), "end": _clock(c.free_until)})
    else:
        out.append(_("no free time left that day"))
    for p in c.promises:
        label = PROMISES.get(TimerKind(p.kind), p.kind)
        if p.met:
            out.append(_("%(promise)s promise met") % {"promise": label})
        else:
            out.append(_("%(promise)s promise at risk (due %(time)s)")
                       % {"promise": label, "time": _clock(p.due_at)})
    return out


def pick_technician(order: WorkOrder, *, exclude: Iterable[int] = ()) -> Technician | None:
    """R4 auto-dispatch: the best-ranked eligible technician under daily capacity."""
    best = next((c for c in rank_candidates(order, exclude=exclude) if c.can_auto_dispatch),
                None)
    return best.technician if best else None
