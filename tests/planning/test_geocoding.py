"""Geocoders: the demo one is deterministic and offline; the Nominatim adapter is tested
against a local server that answers like Nominatim (no internet)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings

from planning import geocoding
from planning.geocoding import DemoGeocoder, NominatimGeocoder, Point, haversine_km
from planning.models import OrderLocation
from technicians.models import Area

ADDRESS = "北京市东城区东四十条 88 号 3 单元 502"


def test_the_demo_geocoder_places_the_same_address_on_the_same_spot() -> None:
    area = Area(code="BJ-DC-01", name="东城片区")
    coder = DemoGeocoder()
    assert coder.locate(ADDRESS, area) == coder.locate(f"  {ADDRESS} ", area)
    assert coder.locate(ADDRESS, area) != coder.locate(ADDRESS + " 1", area)


def test_demo_addresses_cluster_around_their_area_inside_the_city() -> None:
    coder = DemoGeocoder()
    east, west = Area(code="BJ-DC-01", name="东"), Area(code="BJ-XC-02", name="西")
    assert coder.area_centre(east) != coder.area_centre(west)
    for n in range(200):
        for area in (east, west):
            point = coder.locate(f"{ADDRESS} {n}", area)
            assert coder.SOUTH - 0.05 < point.latitude < coder.NORTH + 0.05
            assert coder.WEST - 0.05 < point.longitude < coder.EAST + 0.05
            assert haversine_km(point, coder.area_centre(area)) <= coder.RADIUS_KM + 0.01


def test_haversine_knows_a_degree_of_latitude() -> None:
    assert haversine_km(Point(39.0, 116.0), Point(40.0, 116.0)) == pytest.approx(111.2, abs=0.1)


class _Nominatim(BaseHTTPRequestHandler):
    answers: dict[str, Any] = {}
    seen: list[dict[str, Any]] = []

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        self.seen.append({"path": urlsplit(self.path).path, "query": query,
                          "agent": self.headers.get("User-Agent")})
        body = json.dumps(self.answers.get(query["q"][0], [])).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def nominatim() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Nominatim)
    _Nominatim.seen.clear()
    _Nominatim.answers = {ADDRESS: [{"lat": "39.9339", "lon": "116.4318",
                                      "display_name": "东四十条"}],
                          "odd": [{"display_name": "no coordinates"}]}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@override_settings(NOMINATIM_USER_AGENT="fieldops test")
def test_the_nominatim_adapter_asks_search_and_reads_the_first_answer(nominatim: str) -> None:
    coder = NominatimGeocoder(nominatim)
    assert coder.locate(ADDRESS, None) == Point(39.9339, 116.4318)
    [asked] = _Nominatim.seen
    assert asked["path"] == "/search"
    assert asked["query"]["format"] == ["jsonv2"] and asked["query"]["limit"] == ["1"]
    assert asked["agent"] == "fieldops test"
    assert coder.locate("nowhere", None) is None
    assert coder.locate("odd", None) is None
    assert coder.area_centre(None) is None  # never the network while ranking


@pytest.mark.django_db(transaction=True)
def test_a_network_geocoder_locates_the_order_after_the_commit(
        nominatim: str, make_order: Any) -> None:
    geocoding._geocoder.cache_clear()
    try:
        with override_settings(GEOCODER="planning.geocoding.NominatimGeocoder",
                               NOMINATIM_URL=nominatim):
            order = make_order(address=ADDRESS)
    finally:
        geocoding._geocoder.cache_clear()
    location = OrderLocation.objects.get(order=order)
    assert (location.latitude, location.longitude, location.geocoder) == (
        39.9339, 116.4318, "nominatim")
