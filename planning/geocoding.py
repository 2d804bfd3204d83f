"""Geocoders: an address to coordinates, behind ``settings.GEOCODER`` (a dotted path).

``DemoGeocoder`` answers at once and offline: it places an address in the demo city, near
its area's centre, by hashing the address (the same address always lands on the same
spot). ``NominatimGeocoder`` asks an OpenStreetMap Nominatim server over HTTP; an adapter for
another service (AMap, Baidu) is one more class with ``locate`` and ``area_centre``.
A geocoder that needs the network (``immediate = False``) is asked after the order's
transaction commits, by a Celery task, never inside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float


class Geocoder(Protocol):
    #: Stored with each location it gives.
    name: str
    #: Answers without the network, so it may run inside the order's transaction.
    immediate: bool

    def locate(self, address: str, area: Any) -> Point | None: ...

    def area_centre(self, area: Any) -> Point | None: ...


def _fraction(text: str, salt: str) -> tuple[float, float]:
    digest = hashlib.sha256(f"{salt}:{text}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") / 2**64,
            int.from_bytes(digest[8:16], "big") / 2**64)


class DemoGeocoder:
    """The demo city (Beijing's inner districts): an area's centre is a hashed point in the
    city's box; an address lands within ``RADIUS_KM`` of its area's centre."""

    name = "demo"
    immediate = True
    SOUTH, NORTH, WEST, EAST = 39.80, 40.05, 116.25, 116.55
    RADIUS_KM = 3.0

    def area_centre(self, area: Any) -> Point:
        a, b = _fraction(area.code, "area")
        return Point(round(self.SOUTH + a * (self.NORTH - self.SOUTH), 6),
                     round(self.WEST + b * (self.EAST - self.WEST), 6))

    def locate(self, address: str, area: Any) -> Point:
        centre = self.area_centre(area)
        a, b = _fraction(address.strip(), "address")
        distance = self.RADIUS_KM * math.sqrt(a)  # evenly over the disc
        bearing = 2 * math.pi * b
        north_km, east_km = distance * math.cos(bearing), distance * math.sin(bearing)
        return Point(
            round(centre.latitude + north_km / 111.32, 6),
            round(centre.longitude
                  + east_km / (111.32 * math.cos(math.radians(centre.latitude))), 6))


class NominatimGeocoder:
    """OpenStreetMap's Nominatim search API (``settings.NOMINATIM_URL``). Its usage policy
    asks for a User-Agent naming the application and at most one request a second: the
    Celery task asks once per order."""

    name = "nominatim"
    immediate = False

    def __init__(self, base_url: str | None = None, *, timeout: float = 10.0) -> None:
        self.base_url = (base_url or settings.NOMINATIM_URL).rstrip("/")
        self.timeout = timeout

    def _search(self, query: str) -> Point | None:
        url = f"{self.base_url}/search?" + urllib.parse.urlencode(
            {"q": query, "format": "jsonv2", "limit": 1})
        request = urllib.request.Request(url, headers={
            "User-Agent": settings.NOMINATIM_USER_AGENT, "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            found = json.load(response)
        if not isinstance(found, list) or not found:
            return None
        try:
            return Point(float(found[0]["lat"]), float(found[0]["lon"]))
        except (KeyError, TypeError, ValueError):
            log.warning("Nominatim answered without coordinates for %r", query)
            return None

    def locate(self, address: str, area: Any) -> Point | None:
        return self._search(address)

    def area_centre(self, area: Any) -> Point | None:
        # No network while a dispatcher waits for the ranking: unknown.
        return None


@cache
def _geocoder(path: str) -> Geocoder:
    return import_string(path)()


def geocoder() -> Geocoder:
    """The configured geocoder (one instance per dotted path)."""
    return _geocoder(settings.GEOCODER)


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance in kilometres."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))
