"""The dispatcher's day board: technicians as rows grouped by area, the day's hours across,
each booked visit as a block at its planned start (or the start of its booked window) with
its travel before it, and the day's unassigned orders in a row of their own.

Times leave here as wall-clock strings in the operator's time zone (``TIME_ZONE``), without
an offset: the board shows them as they are, whatever zone the browser is in, and sends
the same kind of string back (``parse_local``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.messages import window_text
from appointments.models import Appointment, AppointmentStatus, Precision, VisitPlan
from appointments.services import current_plans
from technicians.models import Area, Technician
from workorders.models import OPEN_STATES, WorkOrder

#: The resource id of the row of orders nobody has yet.
UNASSIGNED = "unassigned"
LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S"


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime(LOCAL_FORMAT)


def parse_local(text: str) -> dt.datetime | None:
    """A wall-clock time in the operator's zone ("2026-11-23T14:30:00"), or None."""
    try:
        naive = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return naive
    return timezone.make_aware(naive)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time()))
    return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))


@dataclass(frozen=True)
class Block:
    """Where one order's visit sits on the board."""

    order: WorkOrder
    booking: Appointment
    start: dt.datetime
    end: dt.datetime
    planned: bool


def block_for(order: WorkOrder, booking: Appointment, plan: VisitPlan | None,
              day: dt.date) -> Block:
    """The visit's block: the planned start if there is one; else the booked window's
    start, an exact booking as booked (R9), a day booking (R3) from the board's first hour.
    A block lasts the exact booking, or ``BOARD_VISIT_MINUTES`` inside a wider window."""
    visit = dt.timedelta(minutes=settings.BOARD_VISIT_MINUTES)
    if booking.precision == Precision.EXACT:
        start = plan.planned_start if plan is not None else booking.start
        return Block(order, booking, start, start + (booking.end - booking.start),
                     plan is not None)
    if plan is not None:
        start = plan.planned_start
    elif booking.precision == Precision.DAY:
        start = max(booking.start, timezone.make_aware(
            dt.datetime.combine(day, dt.time(settings.BOARD_FIRST_HOUR))))
    else:
        start = booking.start
    return Block(order, booking, start, start + visit, plan is not None)


def day_orders(orders: QuerySet[WorkOrder], day: dt.date, *,
               area: Area | None = None) -> list[tuple[WorkOrder, Appointment]]:
    """Open orders whose current booking overlaps ``day``, with that booking."""
    start, end = day_bounds(day)
    booked = Appointment.objects.filter(status=AppointmentStatus.BOOKED, start__lt=end,
                                        end__gt=start)
    found = (orders.filter(state__in=OPEN_STATES)
             .filter(appointments__in=booked)
             .select_related("area", "technician__user")
             .prefetch_related(Prefetch("appointments", queryset=booked, to_attr="day_bookings"))
             .distinct().order_by("pk"))
    if area is not None:
        found = found.filter(area=area)
    return [(order, order.day_bookings[0]) for order in found if order.day_bookings]


def technicians_for(area: Area | None) -> list[tuple[Technician, Area | None]]:
    """Technicians on duty with the area they are shown under (the chosen one, else their
    first by code)."""
    techs = (Technician.objects.filter(is_active=True, user__is_active=True)
             .select_related("user").prefetch_related("areas").order_by("pk"))
    if area is not None:
        techs = techs.filter(areas=area)
    rows = []
    for tech in techs:
        areas = sorted(tech.areas.all(), key=lambda a: a.code)
        rows.append((tech, area if area is not None else (areas[0] if areas else None)))
    return rows


def order_label(order: WorkOrder) -> str:
    return f"{order.number} · {order.get_kind_display()} · {order.area.name}"


def board_data(orders: QuerySet[WorkOrder], day: dt.date, *, area: Area | None,
               editable: bool) -> dict[str, Any]:
    """What the board draws for ``day`` (``orders``: the ones this user may see)."""
    rows = technicians_for(area)
    groups: dict[int | None, dict[str, Any]] = {}
    for tech, shown_in in rows:
        key = shown_in.pk if shown_in is not None else None
        group = groups.setdefault(key, {
            "id": f"area-{key}", "title": shown_in.name if shown_in else _("No area"),
            "children": [], "extendedProps": {"group": True}})
        group["children"].append({"id": f"tech-{tech.pk}", "title": tech.display_name,
                                  "extendedProps": {"technician": tech.pk}})
    shown = {f"tech-{tech.pk}" for tech, _area in rows}
    resources: list[dict[str, Any]] = [
        {"id": UNASSIGNED, "title": _("Unassigned"), "extendedProps": {"unassigned": True}},
        *sorted(groups.values(), key=lambda g: str(g["title"]))]

    pairs = day_orders(orders, day, area=area)
    plans = current_plans(booking for _order, booking in pairs)
    travel = dt.timedelta(minutes=settings.BOARD_TRAVEL_MINUTES)
    events: list[dict[str, Any]] = []
    unassigned: list[dict[str, Any]] = []
    for order, booking in pairs:
        block = block_for(order, booking, plans.get(booking.pk), day)
        resource = f"tech-{order.technician_id}" if order.technician_id else UNASSIGNED
        if resource != UNASSIGNED and resource not in shown:
            continue  # with a technician outside the chosen area, or off duty
        props = {"order": order.pk, "number": order.number, "version": order.version,
                 "window": window_text(booking), "state": order.get_state_display(),
                 "url": reverse("admin:workorders_workorder_change", args=[order.pk]),
                 "assigned": resource != UNASSIGNED}
        title = order.number  # the rest in the block's tooltip, the side list, the page
        props["label"] = order_label(order)
        events.append({"id": f"visit-{order.pk}", "resourceIds": [resource],
                       "start": local(block.start), "end": local(block.end),
                       "title": title, "classNames": ["board-visit"],
                       "editable": editable, "durationEditable": False,
                       "extendedProps": {**props, "kind": "visit"}})
        if resource == UNASSIGNED:
            unassigned.append({"number": order.number, "kind": order.get_kind_display(),
                               "area": order.area.name, "window": window_text(booking),
                               "url": props["url"]})
            continue
        events.append({"id": f"travel-{order.pk}", "resourceIds": [resource],
                       "start": local(block.start - travel), "end": local(block.start),
                       "title": _("Travel"), "classNames": ["board-travel"],
                       "editable": False, "extendedProps": {"kind": "travel"}})
        if booking.precision != Precision.DAY:
            events.append({"id": f"window-{order.pk}", "resourceIds": [resource],
                           "start": local(booking.start), "end": local(booking.end),
                           "display": "background", "classNames": ["board-window"],
                           "extendedProps": {"kind": "window"}})
    return {"day": day.isoformat(), "resources": resources, "events": events,
            "unassigned": unassigned, "hours": hours_shown(events, day)}


def hours_shown(events: list[dict[str, Any]], day: dt.date) -> list[int]:
    """The hours across: the board's working hours with an hour before for the first
    travel, widened to every block of the day (a visit booked at 06:00 is not hidden)."""
    first, last = max(0, settings.BOARD_FIRST_HOUR - 1), settings.BOARD_LAST_HOUR
    today = day.isoformat()
    for event in events:
        start, end = event["start"], event["end"]
        if start[:10] == today:
            first = min(first, int(start[11:13]))
        if end[:10] == today:
            last = max(last, int(end[11:13]) + (end[14:16] != "00"))
        elif end[:10] > today:
            last = 24
    return [first, last]
