"""Writes: an order's location, a technician's position."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, router

from fieldops import clock
from fieldops.bulk import row_insert_sql, write_later

from .geocoding import Geocoder, geocoder
from .models import OrderLocation, PositionSource, TechnicianPosition


def order_locate(*, order: Any, using: Geocoder | None = None,
                 at: dt.datetime | None = None) -> OrderLocation | None:
    """Geocode the order's address and keep it (replacing an older answer); None if the
    geocoder does not know the address."""
    coder = using or geocoder()
    point = coder.locate(order.address, order.area)
    if point is None:
        return None
    location = OrderLocation(order=order, latitude=point.latitude, longitude=point.longitude,
                             geocoder=coder.name, geocoded_at=at or clock.now())
    # One upsert (an intake pays one statement for its place, not a look and a write; an
    # API intake writes it with its last statement, ``fieldops.bulk.writes_gathered``).
    alias = router.db_for_write(OrderLocation) or DEFAULT_DB_ALIAS
    if connections[alias].vendor != "postgresql":
        OrderLocation.objects.bulk_create(
            [location], update_conflicts=True, unique_fields=["order"],
            update_fields=["latitude", "longitude", "geocoder", "geocoded_at"])
        return location
    quote = connections[alias].ops.quote_name
    table, columns, values, params = row_insert_sql(location, alias)
    updated = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}"
                        for c in ("latitude", "longitude", "geocoder", "geocoded_at"))
    write_later(f"INSERT INTO {table} ({columns}) VALUES ({values}) "
                f"ON CONFLICT ({quote('order_id')}) DO UPDATE SET {updated}", params)
    return location


def technician_position_record(*, technician_id: int, latitude: float, longitude: float,
                               at: dt.datetime, source: PositionSource) -> TechnicianPosition:
    return TechnicianPosition.objects.create(technician_id=technician_id, latitude=latitude,
                                             longitude=longitude, at=at, source=source)
