"""R4: technicians ranked for an order, with the reasons in words; auto-dispatch takes
the best one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from appointments import services as booking_services
from appointments.models import Precision
from fieldops import clock
from planning import ranking
from planning.models import OrderLocation, PositionSource, TechnicianPosition
from technicians.models import Area, Technician
from tests.conftest import make_technician
from workorders import selectors, services
from workorders.models import Kind, State, WorkOrder

pytestmark = pytest.mark.django_db

#: A weekday, 09:00 in the office's time zone.
MORNING = dt.datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _morning() -> Iterator[None]:
    with time_machine.travel(MORNING, tick=False):
        yield


@pytest.fixture
def order(make_order: Any) -> WorkOrder:
    return make_order()


def put(technician: Technician, order: WorkOrder, *, km_north: float,
        at: dt.datetime | None = None) -> None:
    """The technician checked in ``km_north`` km north of the order's address."""
    here = OrderLocation.objects.get(order=order)
    TechnicianPosition.objects.create(
        technician=technician, latitude=here.latitude + km_north / 111.195,
        longitude=here.longitude, at=at or clock.now(), source=PositionSource.CHECK_IN)


def names(candidates: list[ranking.Candidate]) -> list[str]:
    return [c.technician.user.username for c in candidates]


def test_the_nearer_of_two_equal_technicians_comes_first(order: WorkOrder,
                                                         east: Area) -> None:
    far, near = make_technician("far", areas=[east]), make_technician("near", areas=[east])
    put(far, order, km_north=8)
    put(near, order, km_north=2)
    first, second = ranking.rank_candidates(order)
    assert names([first, second]) == ["near", "far"]
    assert first.distance_km == pytest.approx(2.0, abs=0.05)
    assert first.origin == "position" and first.travel_minutes == 6  # 2 km at 20 km/h
    assert "2.0 km from the last check-in, about 6 min" in first.reasons
    # score = 10 × open orders + 2 × km (docs/console.md)
    assert (first.score, second.score) == (4.0, 16.0)


def test_load_outweighs_a_short_distance(make_order: Any, order: WorkOrder,
                                         east: Area) -> None:
    busy, idle = make_technician("busy", areas=[east]), make_technician("idle", areas=[east])
    make_order(State.DISPATCHED, technician=busy)
    make_order(State.DISPATCHED, technician=busy)
    put(busy, order, km_north=0)
    put(idle, order, km_north=3)
    first, second = ranking.rank_candidates(order)
    assert names([first, second]) == ["idle", "busy"]
    assert "2 open orders" in second.reasons and "0 open orders" in first.reasons


def test_ineligible_technicians_are_listed_last_with_the_rule(order: WorkOrder,
                                                                east: Area) -> None:
    copper = make_technician("copper", areas=[east], access=("xdsl",))  # order is FTTH
    resting = make_technician("resting", areas=[east])
    resting.is_active = False
    resting.save()
    able = make_technician("able", areas=[east])
    for t in (copper, resting):
        put(t, order, km_north=0)
    put(able, order, km_north=9)
    ranked = ranking.rank_candidates(order)
    assert names(ranked)[0] == "able"
    assert ranked[0].eligible and ranked[0].reasons[0] == "in area, skills match"
    by_name = {c.technician.user.username: c for c in ranked}
    assert not by_name["copper"].eligible
    assert by_name["copper"].reasons[0].startswith("copper lacks the skills for this order")
    assert by_name["resting"].refusal == "resting is not on duty."


def test_a_technician_at_daily_capacity_follows_those_with_room(
        make_order: Any, order: WorkOrder, east: Area) -> None:
    full = make_technician("full", areas=[east], capacity=1)
    roomy = make_technician("roomy", areas=[east])
    make_order(State.DISPATCHED, technician=full)
    make_order(State.DISPATCHED, technician=roomy)
    put(full, order, km_north=0)
    put(roomy, order, km_north=20)
    first, second = ranking.rank_candidates(order)
    assert names([first, second]) == ["roomy", "full"]
    assert second.eligible and second.at_capacity and not second.can_auto_dispatch
    assert "at daily capacity (1 open orders)" in second.reasons


def test_an_old_position_is_not_where_the_technician_is(order: WorkOrder,
                                                       east: Area) -> None:
    stale = make_technician("stale", areas=[east])
    put(stale, order, km_north=0, at=clock.now() - dt.timedelta(hours=13))
    [c] = ranking.rank_candidates(order)
    assert c.origin == "area"
    assert any(r.endswith(f"km from the area's centre, about {c.travel_minutes} min")
               for r in c.reasons)


def test_a_booked_window_shows_free_time_and_clashes(make_order: Any, east: Area) -> None:
    free, clashing = make_technician("free", areas=[east]), make_technician("clash",
                                                                            areas=[east])
    order = make_order(State.CONTACTED, technician=free)
    window = (MORNING.replace(hour=14), MORNING.replace(hour=15))
    order = booking_services.work_order_schedule(order=order, by=free.user, start=window[0],
                                                 end=window[1], precision=Precision.EXACT)
    # free has a visit 10:00-11:00 at the same address; clash one at 14:30-15:30
    before = make_order(State.CONTACTED, technician=free)
    booking_services.work_order_schedule(order=before, by=free.user,
                                         start=MORNING.replace(hour=10),
                                         end=MORNING.replace(hour=11),
                                         precision=Precision.EXACT)
    other = make_order(State.CONTACTED, technician=clashing)
    booking_services.work_order_schedule(order=other, by=clashing.user,
                                         start=MORNING.replace(hour=14, minute=30),
                                         end=MORNING.replace(hour=15, minute=30),
                                         precision=Precision.EXACT)
    order.refresh_from_db()
    ranked = {c.technician.user.username: c for c in
              ranking.rank_candidates(order, exclude=[free.pk])}
    mine = ranked["free"]
    assert mine.refusal == "free has this order now."
    assert mine.origin == "previous_visit" and mine.distance_km == 0.0
    assert "free 11:00-20:00" in mine.reasons and "1 visit booked today" in mine.reasons
    theirs = ranked["clash"]
    assert theirs.clash == other.number
    assert f"busy 14:30-15:30 ({other.number})" in theirs.reasons
    assert theirs.score >= 50  # the clash weight


def test_promises_met_or_at_risk_by_travel_time(make_order: Any, east: Area) -> None:
    order = make_order(kind=Kind.REPAIR)  # R34: on site within 24 h of intake
    near, far = make_technician("near", areas=[east]), make_technician("far", areas=[east])
    with time_machine.travel(MORNING + dt.timedelta(hours=23, minutes=30), tick=False):
        put(near, order, km_north=3)  # 9 min away
        put(far, order, km_north=15)  # 45 min away
        first, second = ranking.rank_candidates(order)
    assert names([first, second]) == ["near", "far"]
    assert [p.met for p in first.promises] == [True]
    assert [p.met for p in second.promises] == [False]
    assert "visit promise met" in first.reasons
    assert "visit promise at risk (due 09:00)" in second.reasons
    assert second.score == pytest.approx(2 * 15 + 100, abs=0.5)


def test_reasons_speak_the_dispatchers_language(order: WorkOrder, east: Area) -> None:
    tech = make_technician("wang", areas=[east])
    put(tech, order, km_north=4.2)
    with translation.override("zh-hans"):
        [c] = ranking.rank_candidates(order)
    assert c.reasons[0] == "片区相符, 技能齐备"
    assert any("公里" in r for r in c.reasons)


# --- Auto-dispatch uses the ranking (R4) ------------------------------------------------

def test_auto_dispatch_takes_the_best_ranked_technician(order: WorkOrder, east: Area,
                                                         dispatcher: Any) -> None:
    assert selectors.registered_technician_picker() is ranking.pick_technician
    far, near = make_technician("far", areas=[east]), make_technician("near", areas=[east])
    put(far, order, km_north=8)
    put(near, order, km_north=1)
    order = services.work_order_dispatch(order=order, by=dispatcher)
    assert order.technician == near  # the plain picker would take "far" (lower id)


def test_without_the_ranking_auto_dispatch_falls_back_to_the_least_loaded(
        order: WorkOrder, east: Area, dispatcher: Any) -> None:
    far, near = make_technician("far", areas=[east]), make_technician("near", areas=[east])
    put(far, order, km_north=8)
    put(near, order, km_north=1)
    selectors.register_technician_picker(None)
    try:
        order = services.work_order_dispatch(order=order, by=dispatcher)
    finally:
        selectors.register_technician_picker(ranking.pick_technician)
    assert order.technician == far


def test_auto_dispatch_skips_technicians_at_capacity_and_the_current_one(
        make_order: Any, east: Area, dispatcher: Any) -> None:
    holder = make_technician("holder", areas=[east])
    full = make_technician("full", areas=[east], capacity=1)
    spare = make_technician("spare", areas=[east])
    make_order(State.DISPATCHED, technician=full)
    order = make_order(State.DISPATCHED, technician=holder)
    put(holder, order, km_north=0)
    put(full, order, km_north=0)
    put(spare, order, km_north=12)
    order = services.work_order_reassign(order=order, by=dispatcher, reason="sick")
    assert order.technician == spare


def test_a_whole_day_agreed_at_intake_holds_no_slot(make_order: Any, east: Area) -> None:
    holder = make_technician("holder", areas=[east])
    held = make_order(State.DISPATCHED, technician=holder)  # R3: the intake day is booked
    assert held.appointments.get().precision == Precision.DAY
    order = make_order()
    [c] = ranking.rank_candidates(order)
    assert c.visits_that_day == 1 and c.clash is None
    assert "1 visit booked today" in c.reasons
    assert "free 09:00-20:00" in c.reasons  # from now to the end of the working day


def test_the_ranking_reads_a_fixed_number_of_queries(make_order: Any, east: Area,
                                                     django_assert_max_num_queries: Any
                                                     ) -> None:
    """One read per kind of fact, however many technicians serve the area."""
    order = make_order()
    for n in range(12):
        tech = make_technician(f"t{n}", areas=[east])
        put(tech, order, km_north=n)
    with django_assert_max_num_queries(12):
        ranked = ranking.rank_candidates(order)
    assert len(ranked) == 12
