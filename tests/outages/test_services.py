"""Outages (R54): one declaration pauses every open repair of an area or access node, each
customer is told once, and after the repair only those who say service is still down are
dispatched."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications import delivery
from notifications.backends import outbox
from notifications.models import Notification
from outages import links, services, tasks
from outages.models import Link, Outage, OutageOrder, OutageProposal, OutageState
from sla.timer_admin import paused_label
from sla.timers import Timer, TimerStatus
from workorders.errors import NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.models import State, WorkOrder, WorkOrderEvent

from .conftest import ETA, T0, sms


def visit_timer(order: WorkOrder) -> Timer:
    return Timer.objects.get(order=order, kind="visit")


@pytest.mark.django_db
def test_an_outage_pauses_40_orders_in_one_call_with_bounded_statements(
        at_t0, repair, dispatcher, east, alice, make_order):
    # R54: forty repair reports from one area are one outage; their visit clocks pause
    # (reason "outage", like R6) in one call whose statements grow only with the orders
    orders = [repair("accepted") for _ in range(36)]
    orders += [repair("dispatched", technician=alice) for _ in range(2)]
    orders += [repair("taken", technician=alice) for _ in range(2)]
    install = make_order("accepted")  # not a repair: not attached
    visited = repair("en_route", technician=alice)  # on the way: the visit goes ahead
    with CaptureQueriesContext(connection) as queries:
        outage = services.declare(by=dispatcher, area=east, eta=ETA,
                                  explanation="东四路段光缆被挖断, 正在抢修.")
    assert OutageOrder.objects.filter(outage=outage).count() == 40
    # about a dozen statements per order (its event, its timers and their events, the
    # facts mark, webhooks, the SMS and its savepoints: 491 measured), nothing per pair of
    # orders: the count grows with the orders, not with their square
    assert len(queries) <= 40 * 13 + 40, len(queries)
    for order in orders:
        timer = visit_timer(order)
        assert timer.status == TimerStatus.PAUSED
        assert str(paused_label(timer)) == "Paused: Attached to an outage"
        assert WorkOrderEvent.objects.filter(order=order,
                                             action=OrderAction.ATTACH_OUTAGE).count() == 1
    assert not OutageOrder.objects.filter(order__in=[install, visited]).exists()
    assert visit_timer(visited).status == TimerStatus.ARMED
    texts = sms("outage")
    assert sorted(n.order_id for n in texts) == sorted(o.pk for o in orders)
    assert "16:00" in texts[0].body and "光缆被挖断" in texts[0].body
    assert texts[0].params == {"number": orders[0].number, "eta": "16:00",
                               "explanation": "东四路段光缆被挖断, 正在抢修."}


@pytest.mark.django_db
def test_the_sms_goes_once_each_even_if_the_job_retries(at_t0, repair, dispatcher, east):
    # R54: one SMS per customer and outage, whatever runs twice: the attach, the intake's
    # job, the telling, the delivery job
    orders = [repair("accepted") for _ in range(3)]
    outage = services.declare(by=dispatcher, area=east, eta=ETA, explanation="光缆中断.")
    assert services.attach(outage, [o.pk for o in orders], by=dispatcher) == 0
    for order in orders:
        assert tasks.attach_new_order(order.pk) is False
        assert services.tell_declared(order, outage) is False
    notes = sms("outage")
    assert len(notes) == 3
    for note in notes:
        delivery.deliver(note.pk)
        delivery.deliver(note.pk)  # a retried job finds the row sent
    assert len([m for m in outbox if "光缆中断" in m["text"]]) == 3
    assert Notification.objects.filter(kind="outage", status="sent").count() == 3


@pytest.mark.django_db
def test_after_the_repair_half_say_yes_and_close_without_a_visit_the_rest_resume(
        at_t0, repair, dispatcher, east, customer):
    # R54: yes closes the order as resolved without a visit (its own outcome, counted on
    # the outage); no sends it back to dispatch with its clock running again
    orders = [repair("accepted") for _ in range(6)]
    outage = services.declare(by=dispatcher, area=east, eta=ETA, explanation="光缆中断.")
    at_t0.shift(dt.timedelta(hours=3))
    services.mark_repaired(outage, by=dispatcher, note="熔接完成")
    asked = sms("outage_repaired")
    assert len(asked) == 6 and all("/o/" in n.body for n in asked)
    for n, order in enumerate(orders):
        page = customer.open_link(order)
        assert page.status_code == 200 and "data-outage-answer" in page.content.decode()
        answer = customer.client.post(customer.link_path(order),
                                      {"service_back": "yes" if n % 2 == 0 else "no"})
        assert answer.status_code == 302
    yes, no = orders[0::2], orders[1::2]
    for order in yes:
        order.refresh_from_db()
        assert order.state == State.RESOLVED_REMOTELY
        closing = order.events.get(action=OrderAction.RESOLVE_REMOTELY)
        assert closing.payload == {"outage": outage.pk, "outcome": "service_back"}
        assert closing.actor is None
        assert visit_timer(order).status == TimerStatus.CANCELLED
    for order in no:
        order.refresh_from_db()
        assert order.state == State.ACCEPTED
        assert order.events.filter(action=OrderAction.RELEASE_OUTAGE).count() == 1
        timer = visit_timer(order)
        assert timer.status == TimerStatus.ARMED and timer.due_at is not None
        # the three paused hours do not count against the 24-hour promise (R34)
        assert timer.due_at == T0 + dt.timedelta(hours=24 + 3)
    links_by_state = dict(OutageOrder.objects.filter(outage=outage)
                          .values_list("order_id", "state"))
    assert sorted(s for s in links_by_state.values()) == sorted(
        [Link.RESOLVED] * 3 + [Link.RELEASED] * 3)
    # the link is single-use: a second answer changes nothing
    again = customer.client.post(customer.link_path(yes[0]), {"service_back": "no"})
    assert again.status_code == 409
    assert WorkOrder.objects.get(pk=yes[0].pk).state == State.RESOLVED_REMOTELY


@pytest.mark.django_db
def test_a_yes_for_an_order_already_taken_is_released_and_the_desk_told(
        at_t0, repair, dispatcher, east, alice):
    # R54, R2: resolve_remotely starts from accepted, dispatched or no-resources only; a
    # taken order goes back to its technician, who confirms with the customer
    order = repair("taken", technician=alice)
    outage = services.declare(by=dispatcher, area=east, eta=ETA, explanation="光缆中断.")
    services.mark_repaired(outage, by=dispatcher)
    link = OutageOrder.objects.get(order=order)
    services.answer(link, service_back=True)
    order.refresh_from_db()
    assert order.state == State.TAKEN
    link.refresh_from_db()
    assert link.state == Link.RELEASED and link.service_back is True
    told = Notification.objects.filter(kind="outage_service_back", channel="in_app")
    assert {n.recipient for n in told} == {dispatcher, alice.user}


@pytest.mark.django_db
def test_customers_who_never_answer_are_dispatched_after_the_policy_hours(
        at_t0, repair, dispatcher, east):
    order = repair("accepted")
    outage = services.declare(by=dispatcher, area=east, eta=ETA, explanation="光缆中断.")
    services.mark_repaired(outage, by=dispatcher)
    at_t0.shift(dt.timedelta(hours=3, minutes=59))
    assert services.sweep() == 0
    at_t0.shift(dt.timedelta(minutes=2))
    assert services.sweep() == 1
    assert services.sweep() == 0  # run twice: nothing more
    assert OutageOrder.objects.get(order=order).state == Link.RELEASED
    assert visit_timer(order).status == TimerStatus.ARMED


@pytest.mark.django_db
def test_the_repair_promise_warns_then_breaches_once_at_its_true_time(
        at_t0, repair, dispatcher, supervisor, east):
    # R54: the outage's own timer (policy: 8 h, warned at 80 %), swept by beat
    outage = services.declare(by=dispatcher, area=east, eta=ETA, explanation="光缆中断.")
    assert outage.due_at == T0 + dt.timedelta(hours=8)
    at_t0.shift(dt.timedelta(hours=6))
    assert services.sweep() == 0
    at_t0.shift(dt.timedelta(minutes=30))
    assert services.sweep() == 1
    outage.refresh_from_db()
    assert outage.warned_at == T0 + dt.timedelta(hours=6, minutes=24)
    assert outage.breached_at is None and outage.next_check_at == outage.due_at
    at_t0.shift(dt.timedelta(hours=3))  # the sweep was down: the breach keeps its time
    assert tasks.sweep_outages() == 1
    assert tasks.sweep_outages() == 0
    outage.refresh_from_db()
    assert outage.breached_at == T0 + dt.timedelta(hours=8)
    breached = Notification.objects.filter(kind="outage_breached")
    assert {n.recipient for n in breached} == {dispatcher, supervisor}
    # repaired late: the breach stays recorded
    services.mark_repaired(outage, by=dispatcher)
    outage.refresh_from_db()
    assert outage.state == OutageState.REPAIRED and outage.breached_at is not None


@pytest.mark.django_db
def test_a_node_outage_takes_only_the_lines_on_that_node(at_t0, repair, olt, dispatcher,
                                                          east):
    on_node = [repair("accepted", node=olt, n=i) for i in range(3)]
    elsewhere = repair("accepted")
    outage = services.declare(by=dispatcher, node=olt, eta=ETA, explanation="OLT 板卡故障.")
    assert outage.area == east
    assert set(OutageOrder.objects.filter(outage=outage).values_list("order_id", flat=True)) \
        == {o.pk for o in on_node}
    assert visit_timer(elsewhere).status == TimerStatus.ARMED


@pytest.mark.django_db
def test_the_product_proposes_an_outage_after_n_reports_from_one_node(
        at_t0, repair, olt, dispatcher, agent):
    # R54: the policy's count (5) of repair reports from one node within its window (60
    # min) is a proposal, shown to the dispatchers as an alert; nothing is declared
    for n in range(4):
        repair("accepted", node=olt, n=n)
        at_t0.shift(dt.timedelta(minutes=10))
    assert not OutageProposal.objects.exists()
    repair("accepted", node=olt, n=4)
    proposal = OutageProposal.objects.get()
    assert proposal.node == olt and proposal.reports == 5 and proposal.state == "open"
    alerts = Notification.objects.filter(kind="outage_proposed", channel="in_app")
    assert [n.recipient for n in alerts] == [dispatcher]
    repair("accepted", node=olt, n=5)  # a sixth report: still one proposal, one alert
    assert OutageProposal.objects.count() == 1 and alerts.count() == 1
    assert not Outage.objects.exists()
    outage = services.declare(by=dispatcher, node=olt, eta=ETA, explanation="OLT 故障.",
                              proposal=proposal)
    proposal.refresh_from_db()
    assert proposal.state == "declared" and proposal.outage == outage
    assert OutageOrder.objects.filter(outage=outage).count() == 6


@pytest.mark.django_db
def test_a_dismissed_proposal_can_be_neither_dismissed_again_nor_declared(
        at_t0, olt, dispatcher, agent):
    proposal = OutageProposal.objects.create(node=olt, reports=5, window_minutes=60,
                                             proposed_at=T0)
    with pytest.raises(NotPermitted):
        services.dismiss(proposal, by=agent)
    services.dismiss(proposal, by=dispatcher)
    with pytest.raises(RuleViolation) as again:
        services.dismiss(proposal, by=dispatcher)
    assert again.value.details["field"] == "proposal"
    with pytest.raises(RuleViolation) as declared:
        services.declare(by=dispatcher, node=olt, eta=ETA, explanation="OLT 故障.",
                         proposal=proposal)
    assert declared.value.details["field"] == "proposal"
    assert not Outage.objects.exists()  # the refusal rolled the outage back


@pytest.mark.django_db
def test_reports_spread_beyond_the_window_propose_nothing(at_t0, repair, olt):
    for n in range(5):
        repair("accepted", node=olt, n=n)
        at_t0.shift(dt.timedelta(minutes=20))
    assert not OutageProposal.objects.exists()


def _count_all() -> tuple[int, int, int, int]:
    return (Outage.objects.count(), OutageOrder.objects.count(),
            WorkOrderEvent.objects.filter(action__in=[OrderAction.ATTACH_OUTAGE,
                                                      OrderAction.RELEASE_OUTAGE]).count(),
            Notification.objects.filter(kind__startswith="outage").count())


@pytest.mark.django_db
def test_bad_declarations_are_refused_with_the_field_and_nothing_written(
        at_t0, repair, dispatcher, east, west, olt):
    repair("accepted")
    before = _count_all()
    cases = [
        ({"explanation": "光缆中断.", "eta": ETA}, "area"),
        ({"area": east, "explanation": "光缆中断.", "eta": T0 - dt.timedelta(minutes=1)},
         "eta"),
        ({"area": east, "explanation": "光缆中断.", "eta": T0}, "eta"),
        ({"area": east, "explanation": "光缆中断.", "eta": None}, "eta"),
        ({"area": east, "explanation": "   ", "eta": ETA}, "explanation"),
        ({"area": east, "explanation": "长" * 201, "eta": ETA}, "explanation"),
        ({"area": west, "node": olt, "explanation": "光缆中断.", "eta": ETA}, "node"),
    ]
    for fields, field in cases:
        with pytest.raises(RuleViolation) as refused:
            services.declare(by=dispatcher, **fields)
        assert refused.value.details["field"] == field, fields
        assert refused.value.details["rule"] == "R54"
        if field == "area":
            assert "choose an area or an access node" in refused.value.message
        if fields.get("eta") == T0:
            assert "has already passed" in refused.value.message
    assert _count_all() == before


@pytest.mark.django_db
def test_repairing_or_releasing_twice_is_refused_and_changes_nothing(
        at_t0, repair, dispatcher, east):
    first, second = repair("accepted"), repair("accepted")
    outage = services.declare(by=dispatcher, area=east, eta=ETA, explanation="光缆中断.")
    link = OutageOrder.objects.get(order=first)
    services.release(link, by=dispatcher, reason="不是同一故障: 用户光猫损坏")
    assert visit_timer(first).status == TimerStatus.ARMED
    before = _count_all()
    with pytest.raises(RuleViolation) as twice:
        services.release(link, by=dispatcher, reason="再放一次")
    assert twice.value.details["field"] == "order"
    assert first.number in twice.value.message
    with pytest.raises(RuleViolation) as no_reason:
        services.release(OutageOrder.objects.get(order=second), by=dispatcher, reason=" ")
    assert no_reason.value.details["field"] == "reason"
    assert _count_all() == before
    services.mark_repaired(outage, by=dispatcher)
    after_repair = _count_all()
    with pytest.raises(RuleViolation) as repaired_twice:
        services.mark_repaired(outage, by=dispatcher)
    assert repaired_twice.value.details["field"] == "state"
    assert "already marked repaired" in repaired_twice.value.message
    assert _count_all() == after_repair
    with pytest.raises(RuleViolation):  # the customer's link answers once
        services.answer(OutageOrder.objects.get(order=first), service_back=True)


@pytest.mark.django_db
def test_only_dispatchers_declare_repair_and_release(at_t0, repair, dispatcher, agent,
                                                     supervisor, alice, east):
    repair("accepted")
    for user in (agent, supervisor, alice.user):
        with pytest.raises(NotPermitted):
            services.declare(by=user, area=east, eta=ETA, explanation="光缆中断.")
    outage = services.declare(by=dispatcher, area=east, eta=ETA, explanation="光缆中断.")
    link = OutageOrder.objects.get(outage=outage)
    for user in (agent, supervisor, alice.user):
        with pytest.raises(NotPermitted):
            services.mark_repaired(outage, by=user)
        with pytest.raises(NotPermitted):
            services.release(link, by=user, reason="x")
    assert Outage.objects.get().state == OutageState.OPEN


@pytest.mark.django_db
def test_a_tampered_or_foreign_link_is_refused(at_t0, repair, dispatcher, east, customer):
    order = repair("accepted")
    outage = services.declare(by=dispatcher, area=east, eta=ETA, explanation="光缆中断.")
    link = OutageOrder.objects.get(order=order)
    # asked only after the repair: before, the link exists but takes no answer
    early = customer.client.post(f"/o/{links.token_for(link)}/", {"service_back": "yes"})
    assert early.status_code == 409
    shown = customer.client.get(f"/o/{links.token_for(link)}/").content.decode()
    assert 'data-result="repairing"' in shown and "data-outage-answer" not in shown
    services.mark_repaired(outage, by=dispatcher)
    path = customer.link_path(order)
    assert customer.client.get(path[:-3] + "xx/").status_code == 404
    assert customer.client.post(path, {"service_back": "maybe"}).status_code == 400
    assert WorkOrder.objects.get(pk=order.pk).state == State.ACCEPTED
