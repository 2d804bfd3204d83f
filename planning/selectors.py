"""Reads for the dispatcher's map: open orders where they are, technicians where they were
last seen, and a line from each technician to the next order they hold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Min, OuterRef, Q, Subquery
from django.utils import timezone

from appointments.models import AppointmentStatus
from fieldops import clock
from technicians.models import Technician
from workorders.models import OPEN_STATES, WorkOrder

from .geocoding import geocoder
from .models import OrderLocation, TechnicianPosition

#: The map draws at most this many open orders (the newest).
MAP_ORDERS = 2000


def _local(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def map_data(*, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or clock.now()
    rows = list(
        OrderLocation.objects.filter(order__state__in=OPEN_STATES)
        .select_related("order", "order__area")
        .order_by("-order_id")[:MAP_ORDERS])
    orders: list[dict[str, Any]] = [
        {"id": r.order_id, "number": r.order.number, "state": r.order.get_state_display(),
         "area": str(r.order.area), "technician": r.order.technician_id,
         "lat": r.latitude, "lon": r.longitude} for r in rows]
    placed = {o["id"]: o for o in orders}
    # Each active technician's latest position (portable: the embedded SQLite has no
    # DISTINCT ON): its id per technician, then those rows.
    latest = (TechnicianPosition.objects.filter(technician_id=OuterRef("pk"))
              .order_by("-at", "-pk").values("pk")[:1])
    last_ids = [pk for pk in Technician.objects.filter(is_active=True)
                .annotate(last=Subquery(latest)).values_list("last", flat=True) if pk]
    positions = list(TechnicianPosition.objects.filter(pk__in=last_ids)
                     .order_by("technician_id").select_related("technician__user"))
    technicians: list[dict[str, Any]] = [
        {"id": p.technician_id, "name": p.technician.display_name, "at": _local(p.at),
         "lat": p.latitude, "lon": p.longitude} for p in positions]
    # each technician's next order: the earliest booked visit still ahead, else the
    # oldest open order they hold
    held = (WorkOrder.objects.filter(technician_id__in=[p.technician_id for p in positions])
            .filter(state__in=OPEN_STATES)
            .annotate(next_visit=Min("appointments__start", filter=Q(
                appointments__status=AppointmentStatus.BOOKED, appointments__end__gte=now)))
            .values_list("technician_id", "pk", "next_visit"))
    far_future = now + dt.timedelta(days=3650)
    best: dict[int, tuple[dt.datetime, int]] = {}
    for tech, order_id, visit in held:
        key = (visit or far_future, order_id)
        if tech not in best or key < best[tech]:
            best[tech] = key
    lines = []
    by_tech = {p.technician_id: p for p in positions}
    missing = [order_id for _t, (_v, order_id) in best.items() if order_id not in placed]
    extra = {r.order_id: (r.latitude, r.longitude)
             for r in OrderLocation.objects.filter(order_id__in=missing)}
    for tech, (_visit, order_id) in sorted(best.items()):
        to = ((placed[order_id]["lat"], placed[order_id]["lon"]) if order_id in placed
              else extra.get(order_id))
        if to is None:
            continue
        p = by_tech[tech]
        lines.append({"technician": tech, "order": WorkOrder.number_for(order_id),
                      "from": [p.latitude, p.longitude], "to": list(to)})
    points = [(o["lat"], o["lon"]) for o in orders] + [(t["lat"], t["lon"]) for t in technicians]
    if points:
        centre = [sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)]
    else:
        coder = geocoder()
        south, north = getattr(coder, "SOUTH", 39.9), getattr(coder, "NORTH", 39.9)
        west, east = getattr(coder, "WEST", 116.4), getattr(coder, "EAST", 116.4)
        centre = [(south + north) / 2, (west + east) / 2]
    return {"orders": orders, "technicians": technicians, "lines": lines, "centre": centre}



def order_coordinates(order_ids: Iterable[int]) -> dict[int, tuple[float, float]]:
    """Where the geocoder placed these orders' addresses (R52's check-in distance signal,
    registered with ``quality.geo`` in ``apps.py``)."""
    ids = list(order_ids)
    found: dict[int, tuple[float, float]] = {}
    for start in range(0, len(ids), 5000):
        found.update({order_id: (lat, lon) for order_id, lat, lon in
                      OrderLocation.objects.filter(order_id__in=ids[start:start + 5000])
                      .values_list("order_id", "latitude", "longitude")})
    return found
