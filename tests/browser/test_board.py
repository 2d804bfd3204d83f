"""The day board in real Chromium: an unassigned order dragged onto a technician's row is
dispatched to them; dragged onto a technician without the skill it is refused with the
rule in words and the block goes back (R4). The page passes axe-core in both themes and
loads nothing the Content-Security-Policy refuses."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from appointments.models import VisitPlan
from fieldops import clock
from tests.conftest import make_technician
from workorders import services
from workorders.models import State, WorkOrder

from .conftest import Shots, axe_violations, open_page

pytestmark = pytest.mark.django_db(transaction=True)
#: An hour's width on the board (board.js: slotWidth).
SLOT_WIDTH = 88

DESK = {
    "viewport": {"width": 1440, "height": 900},
    "device_scale_factor": 1,
    "locale": "en-GB",
    "timezone_id": "Asia/Shanghai",
    "extra_http_headers": {"Accept-Language": "en"},
}


@pytest.fixture
def desk(browser: Any, live_server: Any) -> Any:
    yield from open_page(browser, live_server, DESK, page_errors=True)


def open_board(page: Any, user: Any, query: str = "") -> None:
    page.goto("/admin/login/?next=/admin/workorders/workorder/board/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-" + user.username)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/workorders/workorder/board/$"))
    if query:
        page.goto("/admin/workorders/workorder/board/" + query)
    page.wait_for_selector("#board[data-loaded]")


def block(page: Any, order: WorkOrder) -> Any:
    return page.locator(f".ec-event[data-order='{order.number}']")


def row_y(page: Any, name: str) -> float:
    """The vertical middle of a technician's row (its label in the rows' header)."""
    label = page.locator(".ec-sidebar").get_by_text(name, exact=True)
    box = label.bounding_box()
    assert box is not None
    return box["y"] + box["height"] / 2


def drag(page: Any, order: WorkOrder, to_y: float) -> None:
    box = block(page, order).bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y + 5, steps=3)
    page.mouse.move(x, to_y, steps=10)
    page.mouse.up()


def test_drag_an_order_onto_a_technician_dispatches_it(desk, request, make_order, dispatcher,
                                                       alice):
    # R4
    shots = Shots(desk, request.node.name)
    order = make_order(State.ACCEPTED)
    page = desk
    open_board(page, dispatcher)
    assert page.locator("#board-unassigned li[data-order]").all_inner_texts()[0].startswith(
        order.number)
    shots("before")

    drag(page, order, row_y(page, "Alice Wang"))
    status = page.locator("#board-status")
    status.filter(has_text="dispatched to Alice Wang").wait_for()
    assert "refused" not in (status.get_attribute("class") or "")
    order.refresh_from_db()
    assert (order.state, order.technician) == (State.DISPATCHED, alice)
    # the board reloads: the block is on alice's row now, with its travel before it
    page.wait_for_function("() => document.getElementById('board').dataset.loaded === '2'")
    assert abs(row_y(page, "Alice Wang") - _middle(block(page, order))) < 20
    assert page.locator("#board-unassigned li[data-order]").count() == 0
    shots("dispatched")


def test_drag_an_order_onto_the_unassigned_row_takes_it_back_to_the_queue(desk, request,
                                                                         make_order,
                                                                         dispatcher, alice):
    # R4: unassign
    shots = Shots(desk, request.node.name)
    order = make_order(State.DISPATCHED, technician=alice)
    page = desk
    open_board(page, dispatcher)
    assert abs(row_y(page, "Alice Wang") - _middle(block(page, order))) < 20

    drag(page, order, row_y(page, "Unassigned"))
    status = page.locator("#board-status")
    status.filter(has_text="back in the queue").wait_for()
    assert "refused" not in (status.get_attribute("class") or "")
    order.refresh_from_db()
    assert (order.state, order.technician) == (State.ACCEPTED, None)
    page.wait_for_function("() => document.getElementById('board').dataset.loaded === '2'")
    assert abs(row_y(page, "Unassigned") - _middle(block(page, order))) < 20
    assert page.locator("#board-unassigned li[data-order]").all_inner_texts()[0].startswith(
        order.number)
    shots("unassigned")


def test_a_drop_on_a_technician_without_the_skill_is_refused_and_goes_back(desk, request,
                                                                           make_order,
                                                                           dispatcher, east):
    # R4
    shots = Shots(desk, request.node.name)
    make_technician("erin", areas=[east], skills=("install", "fixed_line"),
                    full_name="Erin Sun")
    order = make_order(State.ACCEPTED)
    page = desk
    open_board(page, dispatcher)
    assert abs(row_y(page, "Unassigned") - _middle(block(page, order))) < 20

    drag(page, order, row_y(page, "Erin Sun"))
    status = page.locator("#board-status.refused")
    status.filter(has_text="Erin Sun lacks the skills for this order").wait_for()
    text = status.inner_text()
    assert "R4" not in text and "{" not in text
    assert status.get_attribute("role") == "alert"
    # the block is back in the row of unassigned orders (the status above moved the board)
    page.wait_for_function("() => document.getElementById('board').dataset.loaded === '2'")
    assert abs(row_y(page, "Unassigned") - _middle(block(page, order))) < 20
    order.refresh_from_db()
    assert (order.state, order.technician) == (State.ACCEPTED, None)
    shots("refused")


def test_a_change_by_another_dispatcher_is_shown_not_overwritten(desk, make_order, dispatcher,
                                                                 alice, east):
    make_technician("dave", areas=[east], full_name="Dave Zhao")
    order = make_order(State.ACCEPTED)
    page = desk
    open_board(page, dispatcher)
    # Meanwhile another dispatcher sends the order to alice from the desk.
    services.work_order_dispatch(order=order, by=dispatcher, technician=alice)

    drag(page, order, row_y(page, "Dave Zhao"))
    page.locator("#board-status.refused").filter(
        has_text="Another dispatcher changed order").wait_for()
    page.wait_for_function("() => document.getElementById('board').dataset.loaded === '2'")
    assert abs(row_y(page, "Alice Wang") - _middle(block(page, order))) < 20
    order.refresh_from_db()
    assert order.technician == alice  # not overwritten


def test_drag_a_visit_along_its_row_plans_its_start(desk, make_order, dispatcher, alice):
    # R11, R15: inside the day agreed at intake, hours ahead
    tomorrow = clock.today_local() + dt.timedelta(days=1)
    order = make_order(State.DISPATCHED, technician=alice, preferred_day=tomorrow)
    page = desk
    open_board(page, dispatcher, f"?day={tomorrow.isoformat()}")
    box = block(page, order).bounding_box()
    assert box is not None
    x, y = box["x"] + 4, box["y"] + box["height"] / 2  # 08:00, the board's first hour
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 5, y, steps=3)
    page.mouse.move(x + 6 * SLOT_WIDTH, y, steps=10)  # six hour-wide slots to the right
    page.mouse.up()
    page.locator("#board-status").filter(has_text="planned to start at 14:00").wait_for()
    plan = VisitPlan.objects.get(order=order)
    assert timezone.localtime(plan.planned_start).strftime("%Y-%m-%d %H:%M") == (
        f"{tomorrow.isoformat()} 14:00")
    assert plan.set_by == dispatcher


def test_the_board_passes_axe_in_both_themes(desk, request, make_order, dispatcher, alice):
    shots = Shots(desk, request.node.name)
    make_order(State.DISPATCHED, technician=alice)
    make_order(State.SCHEDULED, technician=alice)
    make_order(State.ACCEPTED)
    page = desk
    open_board(page, dispatcher)
    page.wait_for_selector(".ec-event")
    assert axe_violations(page) == []
    shots("light")
    page.emulate_media(color_scheme="dark")
    page.wait_for_selector("#board.ec-dark")
    assert axe_violations(page) == []
    shots("dark")


def _middle(locator: Any) -> float:
    box = locator.bounding_box()
    assert box is not None
    return float(box["y"] + box["height"] / 2)


def test_a_proposed_day_plan_is_shown_beside_the_board_and_accepted(desk, request, settings,
                                                                   make_order, dispatcher,
                                                                   alice, east):
    # Issue 14 part 5 (R4, R11): propose, read each route, accept the whole plan
    settings.DAY_PLAN = {"seconds": 0.3}
    shots = Shots(desk, request.node.name)
    tomorrow = clock.today_local() + dt.timedelta(days=1)
    orders = [make_order(State.DISPATCHED, technician=alice, preferred_day=tomorrow)
              for _ in range(3)]
    page = desk
    open_board(page, dispatcher, f"?day={tomorrow.isoformat()}&area={east.pk}")
    page.get_by_role("button", name="Propose a plan for this area and day").click()
    page.wait_for_selector(".day-plan-table")
    for order in orders:
        assert page.locator(".day-plan-visits").get_by_text(order.number).count() == 1
    assert axe_violations(page) == []
    shots("proposed")
    page.get_by_role("button", name="Accept the whole plan").click()
    page.get_by_text("3 visits planned.").wait_for()
    assert VisitPlan.objects.filter(order__in=orders).count() == 3
    assert page.get_by_text("Accepted by").count() == 1
    assert axe_violations(page) == []
