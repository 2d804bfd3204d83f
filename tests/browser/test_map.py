"""The dispatcher's map in real Chromium with the tile server unreachable: open orders,
technicians' last positions (R17) and the line to each technician's next order still draw;
nothing breaks the Content-Security-Policy; axe finds no serious or critical violation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone

from planning.models import OrderLocation, PositionSource, TechnicianPosition
from workorders.models import Kind, State

from .conftest import DESK, axe_violations, log_in, open_page

pytestmark = pytest.mark.django_db(transaction=True)

@pytest.fixture
def desk(browser: Any, live_server: Any) -> Any:
    """The desk screen with every request off this machine (the tile server) refused and
    remembered in ``page.tiles``."""
    pages = open_page(browser, live_server, DESK)
    page = next(pages)
    tiles: list[str] = []

    def offline(route: Any) -> None:
        tiles.append(route.request.url)
        route.abort()

    page.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost).*"), offline)
    page.tiles = tiles
    yield page
    next(pages, None)  # closes the context; fails on a CSP violation


def test_markers_and_lines_draw_without_tiles(desk: Any, make_order: Any, dispatcher: Any,
                                             alice: Any) -> None:
    held = make_order(State.DISPATCHED, technician=alice)
    make_order(State.ACCEPTED, kind=Kind.REPAIR)
    make_order(State.CLOSED, technician=alice)  # finished: not on the map
    here = OrderLocation.objects.get(order=held)
    TechnicianPosition.objects.create(technician=alice, latitude=here.latitude + 0.02,
                                      longitude=here.longitude, at=timezone.now(),
                                      source=PositionSource.CHECK_IN)
    errors: list[str] = []
    desk.on("pageerror", lambda error: errors.append(str(error)))
    log_in(desk, dispatcher, "/admin/workorders/workorder/map/")
    desk.wait_for_selector("#order-map[data-drawn='true']")
    # two open orders; alice once (her newest position), a line to the order she holds
    assert desk.locator("path.map-order").count() == 2
    assert desk.locator("path.map-technician").count() == 1
    assert desk.locator("path.map-line").count() == 1
    assert desk.tiles, "the map asked the tile server (blocked here) for tiles"
    assert all(url.startswith("https://tile.openstreetmap.org/") for url in desk.tiles)
    assert not errors, errors


def test_the_map_passes_axe(desk: Any, make_order: Any, dispatcher: Any, alice: Any) -> None:
    make_order(State.DISPATCHED, technician=alice)
    log_in(desk, dispatcher, "/admin/workorders/workorder/map/")
    desk.wait_for_selector("#order-map[data-drawn='true']")
    assert axe_violations(desk) == []
    desk.emulate_media(color_scheme="dark")
    assert axe_violations(desk) == []
