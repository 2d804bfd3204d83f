"""Where an order's address is, for the check-in distance signal (R52, R17).

The coordinates of addresses come from the geocoder, kept by ``planning`` (a floor above
this one). Rather than reach up, this module holds a locator that ``planning`` registers
at start-up (``planning.apps``): a function from order ids to ``(latitude, longitude)``.
With none registered the distance signal is not raised (there is nothing to measure
against); the check-in's own position is in the check-in event's payload (workorders).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

Locator = Callable[[Iterable[int]], dict[int, tuple[float, float]]]

_locator: Locator | None = None


def register_locator(locator: Locator | None) -> None:
    global _locator
    _locator = locator


def order_coordinates(order_ids: Iterable[int]) -> dict[int, tuple[float, float]]:
    if _locator is None:
        return {}
    return _locator(list(order_ids))


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(h)))
