"""The figures follow the orders a few seconds behind (R39): every order event marks its
order, and the refresh brings the marked orders' facts up to date in batches."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction

from appointments import services as booking_services
from dashboards import services as figures
from dashboards import tasks
from dashboards.models import DailyRollup, OrderFact, StaleFact
from workorders import services
from workorders.models import ContactAttempt, State


def test_an_event_marks_its_order_and_the_refresh_brings_its_facts_along(make_order,
                                                                         alice):
    order = make_order(State.DISPATCHED, technician=alice)
    assert StaleFact.objects.filter(order=order).exists()
    assert tasks.refresh_stale_facts() == 1
    assert not StaleFact.objects.exists()
    assert OrderFact.objects.get(order=order).state == State.DISPATCHED
    assert tasks.refresh_stale_facts() == 0  # nothing marked: nothing to do

    services.work_order_accept(order=order, by=alice.user)
    # Not counted until the refresh runs...
    assert OrderFact.objects.get(order=order).state == State.DISPATCHED
    assert tasks.refresh_stale_facts() == 1
    # ...then counted once, in the order's rollup row.
    assert OrderFact.objects.get(order=order).state == State.TAKEN
    assert sum(DailyRollup.objects.values_list("orders", flat=True)) == 1


def test_several_events_before_a_refresh_leave_one_mark(make_order, alice):
    order = make_order(State.TAKEN, technician=alice)
    for _ in range(3):
        order, _attempt = booking_services.work_order_log_contact(
            order=order, by=alice.user, channel=ContactAttempt.Channel.PHONE,
            outcome=ContactAttempt.Outcome.NO_ANSWER)
    assert StaleFact.objects.filter(order=order).count() == 1


def test_a_batch_gives_the_same_facts_as_one_order_at_a_time(make_order, alice, bob, east,
                                                             west):
    orders = [make_order(State.TAKEN, technician=tech, area=area)
              for tech, area in ((alice, east), (bob, west), (alice, east))]
    figures.order_facts_refresh_stale(chunk=2)  # two transactions: 2 orders, then 1
    batched = {f.order_id: f for f in OrderFact.objects.all()}
    OrderFact.objects.all().delete()
    DailyRollup.objects.all().delete()
    for order in orders:
        figures.order_facts_refresh([order.pk])
    one_by_one = {f.order_id: f for f in OrderFact.objects.all()}
    assert set(batched) == {o.pk for o in orders}
    fields = [f.attname for f in OrderFact._meta.concrete_fields if f.attname != "updated_at"]
    for order_id, fact in batched.items():
        assert ([getattr(fact, n) for n in fields]
                == [getattr(one_by_one[order_id], n) for n in fields])


def test_an_order_whose_facts_fail_does_not_hold_up_the_others(make_order, alice,
                                                                  monkeypatch, caplog):
    good = [make_order(State.TAKEN, technician=alice) for _ in range(2)]
    bad = make_order(State.TAKEN, technician=alice)
    compute = figures.order_fact_values

    def broken(order, history):
        if order["pk"] == bad.pk:
            raise ValueError("a history the facts cannot be computed from")
        return compute(order, history)

    monkeypatch.setattr(figures, "order_fact_values", broken)
    assert tasks.refresh_stale_facts() == 2
    assert set(OrderFact.objects.values_list("order_id", flat=True)) == {o.pk for o in good}
    assert list(StaleFact.objects.values_list("order_id", flat=True)) == [bad.pk]
    assert f"order {bad.pk} could not be refreshed" in caplog.text
    assert tasks.refresh_stale_facts() == 0  # still failing: tried again, marked again
    assert StaleFact.objects.filter(order=bad).exists()

    monkeypatch.setattr(figures, "order_fact_values", compute)  # fixed
    assert tasks.refresh_stale_facts() == 1
    assert not StaleFact.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_mark_held_by_an_event_not_yet_committed_is_left_for_the_next_refresh(
        make_order, alice, reference_data):
    # The event's history is not visible until it commits: a refresh running meanwhile
    # must not take the mark away, or the event would never reach the figures.
    order = make_order(State.TAKEN, technician=alice)
    assert tasks.refresh_stale_facts() == 1
    figures.order_fact_mark_stale(order.pk)  # an earlier event's mark, committed
    marked, release = threading.Event(), threading.Event()

    def event_in_flight() -> None:
        try:
            with transaction.atomic():
                figures.order_fact_mark_stale(order.pk)
                marked.set()
                release.wait(timeout=10)
        finally:
            connections.close_all()

    writer = threading.Thread(target=event_in_flight)
    writer.start()
    try:
        assert marked.wait(timeout=10)
        assert tasks.refresh_stale_facts() == 0  # skipped, not lost
    finally:
        release.set()
        writer.join(timeout=10)
    assert StaleFact.objects.filter(order=order).exists()
    assert tasks.refresh_stale_facts() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_refresh_runs_at_a_time(make_order, alice, reference_data):
    make_order(State.TAKEN, technician=alice)
    holding, release = threading.Event(), threading.Event()

    def first_refresh() -> None:
        try:
            with transaction.atomic():
                assert figures._refresh_lock()
                holding.set()
                release.wait(timeout=10)
        finally:
            connections.close_all()

    first = threading.Thread(target=first_refresh)
    first.start()
    try:
        assert holding.wait(timeout=10)
        assert tasks.refresh_stale_facts() == 0
    finally:
        release.set()
        first.join(timeout=10)
    assert tasks.refresh_stale_facts() == 1


def test_beat_refreshes_the_figures_every_few_seconds(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["dashboard-facts"]
    assert entry["task"] == "dashboards.tasks.refresh_stale_facts"
    assert entry["schedule"] <= 10
