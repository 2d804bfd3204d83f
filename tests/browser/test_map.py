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

from .conftest import axe_violations, watch_csp

pytestmark = pytest.mark.django_db(transaction=True)

DESK = {"viewport": {"width": 1440, "height": 900}, "device_scale_factor": 1,
        "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


@pytest.fixture
def desk(browser: Any, live_server: Any) -> Any:
    context = browser.new_context(base_url=live_server.url, **DESK)
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations = watch_csp(page)
    tiles: list[str] = []

    def offline(route: Any) -> None:
        tiles.append(route.request.url)
        route.abort()

    page.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost).*"), offline)
    page.tiles = tiles
    yield page
    context.close()
    assert not violations, violations


def login(page: Any, user: Any, path: str) -> None:
    page.goto(f"/admin/login/?next={path}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-" + user.username)
    page.click("input[type=submit]")


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
    login(desk, dispatcher, "/admin/workorders/workorder/map/")
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
    login(desk, dispatcher, "/admin/workorders/workorder/map/")
    desk.wait_for_selector("#order-map[data-drawn='true']")
    assert axe_violations(desk) == []
    desk.emulate_media(color_scheme="dark")
    assert axe_violations(desk) == []
