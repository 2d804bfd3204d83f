"""Planning follows the lifecycle: handlers of ``OrderEvent`` (fieldops.bus)."""

from __future__ import annotations

from fieldops import bus, outbox
from workorders.events import OrderAction, OrderEvent

from . import services, tasks
from .geocoding import geocoder
from .models import PositionSource


def locate_new_order(event: OrderEvent) -> None:
    """A new order gets coordinates: at once from an offline geocoder, in the order's
    transaction; after the commit, by a task, from one that needs the network. The task
    goes through the outbox (``fieldops.outbox``): with the broker down the intake still
    succeeds, and the job waits for the broker to come back."""
    if event.action != OrderAction.CREATE:
        return
    coder = geocoder()
    if coder.immediate:
        services.order_locate(order=event.order, using=coder, at=event.at)
    else:
        outbox.send_after_commit(tasks.geocode_order, event.order.pk)


#: Steps whose location says where the technician is: a check-in (R17), setting off (R13).
SIGHTINGS = {OrderAction.CHECK_IN: PositionSource.CHECK_IN,
             OrderAction.DEPART: PositionSource.EN_ROUTE}


def keep_position(event: OrderEvent) -> None:
    """A check-in (R17) or a departure (R13) with a location is where the technician was
    last seen: for the ranking, the map and the arrival estimate (``planning.eta``)."""
    source = SIGHTINGS.get(event.action)
    if source is None or event.order.technician_id is None:
        return
    latitude, longitude = event.payload.get("latitude"), event.payload.get("longitude")
    if latitude is None or longitude is None:
        return
    services.technician_position_record(
        technician_id=event.order.technician_id, latitude=float(latitude),
        longitude=float(longitude), at=event.at, source=source)


def register() -> None:
    bus.subscribe(OrderEvent, locate_new_order)
    bus.subscribe(OrderEvent, keep_position)
