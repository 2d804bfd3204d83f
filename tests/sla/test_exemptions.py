"""Force-majeure exemptions (R50): declared for one order or an area and a range, each
customer told once (R15), decided by a supervisor; approved breaches stay recorded (R38)
but leave the compliance figures (R39) and the ledger (the ``BreachesExempted`` event)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from appointments.models import Appointment, AppointmentStatus
from dashboards import selectors
from dashboards.selectors import Filters
from dashboards.tasks import refresh_stale_facts
from fieldops import clock
from notifications.models import Notification
from sla import engine, force_majeure
from sla.events import BreachesExempted
from sla.exemptions import ExemptBreach, Exemption, ExemptionOrder, ExemptionState
from sla.tasks import exempt_late_breaches
from sla.timers import Timer, TimerEvent
from workorders.errors import NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.models import Kind, State, WorkOrderEvent

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)  # a Tuesday


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def sms(kind_prefix: str = "force_majeure") -> list[Notification]:
    return list(Notification.objects.filter(channel="sms", kind__startswith=kind_prefix)
                .order_by("pk"))


def breach_contact(make_order, alice):
    """An order dispatched to alice at T0 whose contact promise (R7, 60 min) breaks at
    T0 + 60 min (the sweep runs at T0 + 65 min)."""
    order = make_order(State.DISPATCHED, technician=alice)
    return order


def sweep_at(moment: dt.datetime, traveller) -> None:
    traveller.move_to(moment)
    engine.sweep_all()


@pytest.mark.django_db
def test_a_technician_declares_for_their_own_order_and_the_customer_is_told_once(
        at_t0, make_order, alice):
    # R50, R15: the booked customer gets one SMS with a signed link to keep or move the
    # visit; a retry of the declaration sends nothing again
    order = make_order(State.SCHEDULED, technician=alice)
    before = Notification.objects.filter(channel="sms").count()
    exemption = force_majeure.declare(
        by=alice.user, kind="weather", reason="暴雨红色预警, 道路积水", order=order,
        starts_at=T0 - dt.timedelta(hours=1), ends_at=T0)
    assert exemption.state == ExemptionState.DECLARED
    assert list(ExemptionOrder.objects.filter(exemption=exemption)
                .values_list("order_id", flat=True)) == [order.pk]
    texts = sms()
    assert len(texts) == 1 and texts[0].kind == "force_majeure_rebook"
    assert order.number in texts[0].body and "http" in texts[0].body
    assert WorkOrderEvent.objects.filter(order=order,
                                         action=OrderAction.DECLARE_FORCE_MAJEURE).count() == 1
    force_majeure.declare(by=alice.user, kind="weather", reason="暴雨 (retry)", order=order,
                          starts_at=T0 - dt.timedelta(hours=1), ends_at=T0)
    assert len(sms()) == 1  # the dedupe key: nothing sent twice
    assert Notification.objects.filter(channel="sms").count() == before + 1


@pytest.mark.django_db
def test_the_signed_link_offers_a_new_time(at_t0, make_order, alice, customer):
    # R50, R15: the link in the SMS opens the customer's booking page (the reschedule path)
    order = make_order(State.SCHEDULED, technician=alice)
    force_majeure.declare(by=alice.user, kind="road_closure", reason="道路封闭",
                          order=order, starts_at=T0 - dt.timedelta(minutes=30), ends_at=T0)
    assert customer.open_link(order).status_code == 200


@pytest.mark.django_db
def test_a_dispatcher_declares_for_an_area_and_a_range(at_t0, make_order, alice, bob,
                                                       dispatcher, east, west):
    # R50: every order of the area open in the range is affected, each customer texted
    # once (a re-declaration texts nobody again); another area's orders are untouched
    booked = make_order(State.SCHEDULED, technician=alice)
    waiting = make_order(State.DISPATCHED, technician=alice, kind=Kind.REPAIR)
    # its visit not booked (any more): the SMS gives the technician's number instead
    Appointment.objects.filter(order=waiting).update(status=AppointmentStatus.CANCELLED)
    elsewhere = make_order(State.DISPATCHED, technician=bob, area=west)
    exemption = force_majeure.declare(
        by=dispatcher, kind="power_cut", reason="区域停电", area=east,
        starts_at=T0 - dt.timedelta(hours=2), ends_at=T0)
    affected = set(exemption.affected.values_list("order_id", flat=True))
    assert affected == {booked.pk, waiting.pk}
    assert elsewhere.pk not in affected
    texts = sms()
    assert sorted(n.order_id for n in texts) == sorted([booked.pk, waiting.pk])
    assert next(n for n in texts if n.order_id == booked.pk).kind == "force_majeure_rebook"
    unbooked = next(n for n in texts if n.order_id == waiting.pk)
    assert unbooked.kind == "force_majeure" and "13900000000" in unbooked.body
    force_majeure.declare(by=dispatcher, kind="power_cut", reason="区域停电 (again)",
                          area=east, starts_at=T0 - dt.timedelta(hours=2), ends_at=T0)
    assert len(sms()) == 2


@pytest.mark.django_db
def test_an_area_with_no_orders_is_recorded_and_affects_none(at_t0, dispatcher, west):
    # R50
    exemption = force_majeure.declare(by=dispatcher, kind="weather", reason="大雪",
                                      area=west, starts_at=T0 - dt.timedelta(hours=3),
                                      ends_at=T0)
    assert Exemption.objects.filter(pk=exemption.pk).exists()
    assert exemption.affected.count() == 0 and sms() == []


@pytest.mark.django_db
def test_approval_exempts_the_breach_keeps_it_in_history_and_out_of_the_figures(
        at_t0, make_order, alice, dispatcher, supervisor, listen):
    # R50, R38, R39: the breach stays on the timer and in its log; the figures and the
    # ledger (BreachesExempted) leave it out
    heard = listen(BreachesExempted)
    order = breach_contact(make_order, alice)
    sweep_at(T0 + dt.timedelta(minutes=65), at_t0)
    timer = Timer.objects.get(order=order, kind="contact")
    assert timer.breached_at is not None
    refresh_stale_facts()
    day = Filters(start=T0.date(), end=T0.date())
    assert selectors.compliance(day).current["contact_breached"] == 1

    exemption = force_majeure.declare(by=dispatcher, kind="weather", reason="暴雨",
                                      order=order, starts_at=T0, ends_at=clock.now())
    force_majeure.decide(exemption, by=supervisor, approve=True, reason="气象台红色预警属实")
    exemption.refresh_from_db()
    assert exemption.state == ExemptionState.APPROVED and exemption.decided_by == supervisor
    mark = ExemptBreach.objects.get(timer=timer)
    assert mark.exempted_by == supervisor and mark.reason == "气象台红色预警属实"
    assert mark.exempted_at == clock.now()
    timer.refresh_from_db()
    assert timer.breached_at is not None  # R38: still recorded
    assert TimerEvent.objects.filter(timer=timer, kind="breached").count() == 1
    assert Timer.objects.filter(exempt_mark__isnull=False).get() == timer
    decided = WorkOrderEvent.objects.get(order=order,
                                         action=OrderAction.DECIDE_FORCE_MAJEURE)
    assert decided.payload["exempt_timers"] == [timer.pk]
    assert heard == [BreachesExempted(exemption_id=exemption.pk, timer_ids=(timer.pk,),
                                      approved_by=supervisor.pk, at=clock.now())]

    refresh_stale_facts()
    figures = selectors.compliance(day).current
    assert figures["breaches"] == 0 and figures["contact_breached"] == 0
    assert figures["exempt_breaches"] == 1 and figures["exemption_rate"] == 1.0
    assert figures["contact_rate"] is None  # the only outcome was exempted
    assert [r["timer"] for r in selectors.breach_attribution(day)["rows"]] == []
    assert [r["timer"] for r in selectors.exempt_breaches(day)] == [timer]
    area = selectors.by_area(day)[0]
    assert area["exempt_breaches"] == 1 and area["exemption_rate"] == 1.0


@pytest.mark.django_db
def test_a_breach_outside_the_range_is_not_exempted(at_t0, make_order, alice, dispatcher,
                                                   supervisor):
    # R50: only breaches inside the declared range
    order = breach_contact(make_order, alice)
    sweep_at(T0 + dt.timedelta(minutes=65), at_t0)
    exemption = force_majeure.declare(by=dispatcher, kind="weather", reason="暴雨",
                                      order=order, starts_at=T0,
                                      ends_at=T0 + dt.timedelta(minutes=30))
    force_majeure.decide(exemption, by=supervisor, approve=True, reason="属实")
    assert not ExemptBreach.objects.exists()


@pytest.mark.django_db
def test_a_breach_recorded_later_inside_an_approved_range_is_exempt(
        at_t0, make_order, alice, dispatcher, supervisor, listen):
    # R50: the event was still going on when approved; the sweep's breach is marked too
    heard = listen(BreachesExempted)
    order = breach_contact(make_order, alice)
    at_t0.move_to(T0 + dt.timedelta(minutes=20))
    exemption = force_majeure.declare(by=alice.user, kind="weather", reason="暴雨",
                                      order=order, starts_at=T0,
                                      ends_at=T0 + dt.timedelta(hours=3))
    force_majeure.decide(exemption, by=supervisor, approve=True, reason="属实")
    assert not ExemptBreach.objects.exists()
    sweep_at(T0 + dt.timedelta(minutes=65), at_t0)
    timer = Timer.objects.get(order=order, kind="contact")
    assert timer.breached_at is not None
    assert not ExemptBreach.objects.exists()  # the sweep itself pays nothing for R50
    assert exempt_late_breaches() == 1  # what beat does within a minute
    assert exempt_late_breaches() == 0  # run it twice
    assert ExemptBreach.objects.get(timer=timer).exemption == exemption
    assert [e.timer_ids for e in heard] == [(timer.pk,)]
    assert WorkOrderEvent.objects.filter(
        order=order, action=OrderAction.DECIDE_FORCE_MAJEURE).count() == 2
    refresh_stale_facts()
    figures = selectors.compliance(Filters(start=T0.date(), end=T0.date())).current
    assert (figures["breaches"], figures["exempt_breaches"]) == (0, 1)


@pytest.mark.django_db
def test_rejection_changes_nothing_but_the_record(at_t0, make_order, alice, dispatcher,
                                                  supervisor, listen):
    # R50: rejected, the breach counts as before
    heard = listen(BreachesExempted)
    order = breach_contact(make_order, alice)
    sweep_at(T0 + dt.timedelta(minutes=65), at_t0)
    exemption = force_majeure.declare(by=dispatcher, kind="other", reason="小区门禁",
                                      order=order, starts_at=T0, ends_at=clock.now())
    force_majeure.decide(exemption, by=supervisor, approve=False, reason="可提前联系客户")
    exemption.refresh_from_db()
    assert exemption.state == ExemptionState.REJECTED
    assert exemption.decision_reason == "可提前联系客户"
    assert not ExemptBreach.objects.exists() and heard == []
    refresh_stale_facts()
    day = Filters(start=T0.date(), end=T0.date())
    assert selectors.compliance(day).current["breaches"] == 1


def _count_all() -> tuple[int, ...]:
    return (Exemption.objects.count(), ExemptionOrder.objects.count(),
            WorkOrderEvent.objects.filter(action=OrderAction.DECLARE_FORCE_MAJEURE).count(),
            Notification.objects.filter(channel="sms", kind__startswith="force").count())


@pytest.mark.django_db
@pytest.mark.parametrize("bad, field", [
    ({"starts_at": T0 + dt.timedelta(hours=1), "ends_at": T0 + dt.timedelta(hours=2)},
     "starts_at"),  # in the future
    ({"starts_at": T0 - dt.timedelta(hours=80), "ends_at": T0}, "ends_at"),  # > 72 h
    ({"starts_at": T0, "ends_at": T0 - dt.timedelta(hours=1)}, "ends_at"),  # ends first
    ({"reason": "   "}, "reason"),
    ({"kind": "alien_invasion"}, "kind"),
])
def test_bad_declarations_are_refused_and_nothing_is_written(at_t0, make_order, alice,
                                                            bad, field):
    # R50: a clear message naming the field, nothing half-written
    order = make_order(State.SCHEDULED, technician=alice)
    before = _count_all()
    arguments = {"by": alice.user, "kind": "weather", "reason": "暴雨", "order": order,
                 "starts_at": T0 - dt.timedelta(hours=1), "ends_at": T0, **bad}
    with pytest.raises(RuleViolation) as refused:
        force_majeure.declare(**arguments)
    assert refused.value.details["field"] == field and refused.value.message
    assert _count_all() == before


@pytest.mark.django_db
def test_a_technician_cannot_declare_for_another_technicians_order(at_t0, make_order,
                                                                  alice, bob, east):
    # R41, R50
    order = make_order(State.SCHEDULED, technician=alice)
    before = _count_all()
    with pytest.raises(NotPermitted):
        force_majeure.declare(by=bob.user, kind="weather", reason="暴雨", order=order,
                              starts_at=T0 - dt.timedelta(hours=1), ends_at=T0)
    with pytest.raises(NotPermitted):  # nor for an area
        force_majeure.declare(by=alice.user, kind="weather", reason="暴雨", area=east,
                              starts_at=T0 - dt.timedelta(hours=1), ends_at=T0)
    assert _count_all() == before


@pytest.mark.django_db
def test_the_role_matrix_and_deciding_twice(at_t0, make_order, alice, dispatcher,
                                            supervisor, agent):
    # R50: a technician and a dispatcher declare; only a supervisor decides, once
    order = make_order(State.SCHEDULED, technician=alice)
    exemption = force_majeure.declare(by=dispatcher, kind="weather", reason="暴雨",
                                      order=order, starts_at=T0 - dt.timedelta(hours=1),
                                      ends_at=T0)
    for user in (alice.user, dispatcher, agent):
        with pytest.raises(NotPermitted):
            force_majeure.decide(exemption, by=user, approve=True, reason="ok")
    with pytest.raises(RuleViolation):
        force_majeure.decide(exemption, by=supervisor, approve=True, reason="  ")
    assert Exemption.objects.get(pk=exemption.pk).state == ExemptionState.DECLARED
    force_majeure.decide(exemption, by=supervisor, approve=True, reason="属实")
    events = WorkOrderEvent.objects.filter(action=OrderAction.DECIDE_FORCE_MAJEURE).count()
    with pytest.raises(RuleViolation) as twice:
        force_majeure.decide(exemption, by=supervisor, approve=False, reason="改主意")
    assert twice.value.details["field"] == "state"
    assert Exemption.objects.get(pk=exemption.pk).state == ExemptionState.APPROVED
    assert WorkOrderEvent.objects.filter(
        action=OrderAction.DECIDE_FORCE_MAJEURE).count() == events


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_admin_pages_follow_the_roles(at_t0, make_order, alice, dispatcher, supervisor,
                                          east):
    # R50: dispatchers declare on the desk, supervisors approve; the list filters
    add = reverse("admin:sla_exemption_add")
    assert client_for(dispatcher).get(add).status_code == 200
    assert client_for(supervisor).get(add).status_code == 403
    response = client_for(dispatcher).post(add, {
        "kind": "weather", "reason": "暴雨", "area": east.pk,
        "starts_at_0": "2026-11-24", "starts_at_1": "10:00", "ends_at_0": "2026-11-24",
        "ends_at_1": "08:00"})
    assert response.status_code == 200 and not Exemption.objects.exists()  # ends first
    order = make_order(State.SCHEDULED, technician=alice)
    response = client_for(dispatcher).post(add, {
        "kind": "weather", "reason": "暴雨", "area": east.pk,
        "starts_at_0": "2026-11-24", "starts_at_1": "07:00", "ends_at_0": "2026-11-24",
        "ends_at_1": "09:00"})
    assert response.status_code == 302, response.content.decode()[:3000]
    exemption = Exemption.objects.get()
    assert list(exemption.affected.values_list("order_id", flat=True)) == [order.pk]
    listing = reverse("admin:sla_exemption_changelist")
    for query in ({"state__exact": "declared"}, {"area__id__exact": east.pk},
                  {"kind__exact": "weather"}):
        page = client_for(supervisor).get(listing, query)
        assert page.status_code == 200 and str(exemption) in page.content.decode()
    decide = reverse("admin:sla_exemption_decide", args=[exemption.pk])
    assert client_for(dispatcher).get(decide).status_code == 403
    assert client_for(supervisor).get(decide).status_code == 200
    client_for(supervisor).post(decide, {"decision": "reject", "reason": "证据不足"})
    assert Exemption.objects.get().state == ExemptionState.REJECTED
    change = reverse("admin:sla_exemption_change", args=[exemption.pk])
    assert client_for(supervisor).get(change).status_code == 200
