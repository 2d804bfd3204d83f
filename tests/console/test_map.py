"""The dispatcher's map page: open orders where the geocoder placed them, technicians'
last positions (R17), a line from each technician to the next order they hold."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from planning.models import OrderLocation, PositionSource, TechnicianPosition
from workorders.models import State

pytestmark = pytest.mark.django_db

MAP = reverse("admin:workorders_workorder_map")


def page_data(page):
    found = re.search(r'<script id="map-data" type="application/json">(.*?)</script>',
                      page.content.decode(), re.S)
    assert found
    return json.loads(found.group(1))


def test_the_map_shows_open_orders_technicians_and_their_next_order(client, dispatcher,
                                                                     make_order, alice):
    held = make_order(State.DISPATCHED, technician=alice)
    waiting = make_order()
    make_order(State.CANCELLED)
    here = OrderLocation.objects.get(order=held)
    TechnicianPosition.objects.create(technician=alice, latitude=39.95, longitude=116.40,
                                      at=timezone.now(), source=PositionSource.CHECK_IN)
    client.force_login(dispatcher)
    page = client.get(MAP)
    assert page.status_code == 200
    data = page_data(page)
    assert sorted(o["number"] for o in data["orders"]) == sorted([held.number, waiting.number])
    [tech] = data["technicians"]
    assert (tech["name"], tech["lat"], tech["lon"]) == ("Alice Wang", 39.95, 116.40)
    assert data["lines"] == [{"technician": alice.pk, "order": held.number,
                              "from": [39.95, 116.40], "to": [here.latitude, here.longitude]}]
    html = page.content.decode()
    assert 'data-tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in html
    assert "vendor/leaflet/leaflet.js" in html
    assert "tile.openstreetmap.org" in page["Content-Security-Policy"]


def test_the_tile_server_is_a_setting(client, dispatcher, settings):
    settings.MAP_TILE_URL = "https://tiles.example.cn/{z}/{x}/{y}.png"
    client.force_login(dispatcher)
    assert 'data-tiles="https://tiles.example.cn/{z}/{x}/{y}.png"' in client.get(
        MAP).content.decode()


def test_a_technician_may_not_open_the_map(alice_client):
    response = alice_client.get(MAP)
    assert response.status_code in (302, 403)
