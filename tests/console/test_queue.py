"""The dispatcher's queue: open orders by the next promise to fall due (R38), time left in
words, status in colour and words, filters, and the page refreshing its table by itself."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from console.queue import QueueFilters, open_orders, row, time_left_in_words
from fieldops import clock
from sla.timers import Timer, TimerStatus
from workorders.models import CustomerClass, Kind, State, WorkOrder

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:workorders_workorder_queue")


@pytest.mark.parametrize(("seconds", "words"), [
    (12 * 60 + 59, "12 min"),
    (59.5 * 60, "59 min"),
    (30, "0 min"),
    (2 * 3600 + 10 * 60, "2 h 10 min"),
    (3 * 3600, "3 h"),
    (3 * 86400 + 4 * 3600 + 59, "3 d 4 h"),
    (-30, "overdue 1 min"),
    (-35 * 60, "overdue 35 min"),
    (-(35 * 60 + 59), "overdue 35 min"),
    (-(2 * 3600 + 5 * 60 + 1), "overdue 2 h 5 min"),
])
def test_time_left_is_said_in_words(seconds, words, settings):
    settings.LANGUAGE_CODE = "en"
    from django.utils import translation

    with translation.override("en"):
        assert time_left_in_words(seconds) == words


def test_time_left_reads_in_chinese():
    from django.utils import translation

    with translation.override("zh-hans"):
        assert time_left_in_words(2 * 3600 + 600) == "2 小时 10 分钟"
        assert time_left_in_words(-35 * 60) == "超时 35 分钟"


def _due_in(order: WorkOrder, minutes: float, *, warned: bool = False) -> Timer:
    """Make the order's running timer fall due ``minutes`` from now (the engine armed it)."""
    timer = Timer.objects.filter(order=order, status=TimerStatus.ARMED).order_by("due_at").first()
    assert timer is not None, f"{order} has no running promise"
    now = clock.now()
    Timer.objects.filter(order=order, status=TimerStatus.ARMED).exclude(pk=timer.pk).update(
        due_at=now + dt.timedelta(days=30))
    timer.due_at = now + dt.timedelta(minutes=minutes)
    timer.warned_at = now if warned else None
    timer.save(update_fields=["due_at", "warned_at"])
    return timer


def test_orders_come_by_the_next_promise_then_vip_then_age(make_order, alice):
    later = make_order(State.DISPATCHED, technician=alice)
    sooner = make_order(State.DISPATCHED, technician=alice)
    tie_standard = make_order(State.DISPATCHED, technician=alice)
    tie_vip = make_order(State.DISPATCHED, technician=alice, customer_class=CustomerClass.VIP)
    _due_in(later, 50)
    _due_in(sooner, 10)
    timer = _due_in(tie_standard, 30)
    _due_in(tie_vip, 30)
    Timer.objects.filter(order=tie_vip, status=TimerStatus.ARMED).update(due_at=timer.due_at)
    closed = make_order(State.DISPATCHED, technician=alice)
    WorkOrder.objects.filter(pk=closed.pk).update(state=State.CANCELLED)
    numbers = [o.number for o in open_orders(QueueFilters())]
    assert numbers[:4] == [sooner.number, tie_vip.number, tie_standard.number, later.number]
    assert closed.number not in numbers


def test_each_row_says_what_is_due_how_long_is_left_and_how_it_stands(make_order, alice):
    on_track = make_order(State.DISPATCHED, technician=alice)
    at_risk = make_order(State.DISPATCHED, technician=alice)
    overdue = make_order(State.DISPATCHED, technician=alice)
    _due_in(on_track, 45)
    _due_in(at_risk, 12.5, warned=True)
    _due_in(overdue, -35.2)
    now = clock.now()
    rows = {r.order.pk: r for r in (row(o, now) for o in open_orders(QueueFilters()))}
    assert (rows[on_track.pk].status, rows[at_risk.pk].status, rows[overdue.pk].status) == \
        ("on_track", "at_risk", "breached")
    assert rows[at_risk.pk].left in ("12 分钟", "12 min")
    assert rows[overdue.pk].left in ("超时 35 分钟", "overdue 35 min")
    assert rows[on_track.pk].promise  # the timer's kind in words, not its code


def test_filters_narrow_the_queue(make_order, alice, bob, west):
    mine = make_order(State.DISPATCHED, technician=alice)
    unassigned = make_order(State.ACCEPTED)
    repair = make_order(State.ACCEPTED, kind=Kind.REPAIR)
    west_order = make_order(State.ACCEPTED, area=west)
    risky = make_order(State.DISPATCHED, technician=alice)
    _due_in(risky, 5, warned=True)
    broken = make_order(State.DISPATCHED, technician=alice)
    Timer.objects.filter(order=broken, status=TimerStatus.ARMED).update(
        breached_at=clock.now())

    def numbers(**f):
        return {o.number for o in open_orders(QueueFilters(**f))}

    assert numbers(technician=alice) == {mine.number, risky.number, broken.number}
    assert numbers(unassigned=True) == {unassigned.number, repair.number, west_order.number}
    assert numbers(kind=Kind.REPAIR) == {repair.number}
    assert numbers(area=west) == {west_order.number}
    assert numbers(state=State.DISPATCHED) == {mine.number, risky.number, broken.number}
    assert numbers(at_risk=True) == {risky.number}
    assert numbers(breached=True) == {broken.number}


def test_the_page_shows_local_times_words_and_no_internal_codes(client, dispatcher, make_order,
                                                                alice):
    order = make_order(State.DISPATCHED, technician=alice)
    timer = _due_in(order, 75.5)
    client.force_login(dispatcher)
    page = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert order.number in html and "1 h 15 min" in html and "On track" in html
    local_due = timer.due_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert f"due {local_due:%m-%d %H:%M}" in html  # Asia/Shanghai, not UTC
    for internal in ("dispatched", "contact", "R7", "{\"", "ftth"):
        assert f">{internal}<" not in html
    assert alice.display_name in html
    # the install's first visit is agreed to the day at intake (R3): a day, not 00:00-00:00
    assert f"{clock.today_local():%m-%d}, any time" in html
    assert "no-store" in page["Cache-Control"]


def test_the_table_refreshes_itself_through_htmx(client, dispatcher, make_order, settings):
    settings.CONSOLE_REFRESH_SECONDS = 5
    client.force_login(dispatcher)
    full = client.get(QUEUE, {"kind": "repair"}).content.decode()
    assert 'hx-trigger="every 5s"' in full and "?kind=repair" in full
    assert "htmx" in full and "<form" in full
    created = make_order(State.ACCEPTED, kind=Kind.REPAIR)
    table = client.get(QUEUE, {"kind": "repair"}, HTTP_HX_REQUEST="true").content.decode()
    assert created.number in table and "<form" not in table and 'id="queue"' in table


def test_a_bad_filter_value_is_shown_and_the_queue_still_answers(client, dispatcher,
                                                                 make_order):
    order = make_order(State.ACCEPTED)
    client.force_login(dispatcher)
    page = client.get(QUEUE, {"area": "999999", "state": "nonsense", "kind": "bogus"},
                      HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Select a valid choice" in html and order.number in html
    # a NUL byte is refused before any view, as everywhere in the admin (fieldops/text.py)
    assert client.get(QUEUE, {"kind": "\x00"}).status_code == 400


def test_a_dispatchers_home_is_the_queue(client, dispatcher, supervisor, admin_client):
    client.force_login(dispatcher)
    assert client.get("/admin/").url == QUEUE
    assert client.get("/admin/?apps=1").status_code == 200  # the admin's index is still there
    assert admin_client.get("/admin/").status_code == 200
    client.force_login(supervisor)
    assert client.get("/admin/").status_code == 200
    assert QUEUE in client.get("/admin/").content.decode()  # linked in the header


def test_people_without_the_orders_cannot_open_the_queue(client, alice, make_order):
    client.force_login(alice.user)
    assert client.get(QUEUE).status_code == 302  # not staff: to the login page
    client.logout()
    assert client.get(QUEUE).status_code == 302
    assert client.get("/admin/").status_code == 302


def test_one_page_of_the_queue_is_a_fixed_number_of_queries(client, dispatcher, make_order,
                                                             alice, django_assert_max_num_queries):
    for _ in range(3):
        make_order(State.DISPATCHED, technician=alice)
    client.force_login(dispatcher)
    client.get(QUEUE)
    with django_assert_max_num_queries(12) as few:
        client.get(QUEUE)
    for _ in range(6):
        make_order(State.SCHEDULED, technician=alice)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(QUEUE)
