"""Reading orders: filters, stable cursor pages, the detail with R40 masking, the timeline."""

from __future__ import annotations

import datetime as dt

import time_machine

from fieldops import clock
from workorders.events import OrderAction
from workorders.models import PiiAccess, State


def _ids(response):
    assert response.status_code == 200, response.body
    return [row["id"] for row in response.body["results"]]


def test_the_list_is_newest_first_and_filters_combine(cc, make_order, alice, bob, west):
    a = make_order()
    b = make_order(State.DISPATCHED, technician=alice, kind="repair")
    c = make_order(State.DISPATCHED, technician=bob, area=west)
    assert _ids(cc.get("work-orders/")) == [c.pk, b.pk, a.pk]
    assert _ids(cc.get("work-orders/", state="dispatched")) == [c.pk, b.pk]
    assert _ids(cc.get("work-orders/", state="accepted,dispatched", kind="repair")) == [b.pk]
    assert _ids(cc.get("work-orders/", area=west.code)) == [c.pk]
    assert _ids(cc.get("work-orders/", technician=alice.pk)) == [b.pk]
    assert _ids(cc.get("work-orders/", ordering="id")) == [a.pk, b.pk, c.pk]


def test_filter_by_customer_phone_account_and_reference(cc, make_order):
    a = make_order(contact_phone="13900001111", account_number="BB-001", external_ref="R-1")
    make_order(contact_phone="13900002222")
    assert _ids(cc.get("work-orders/", customer_phone="13900001111")) == [a.pk]
    assert _ids(cc.get("work-orders/", account="BB-001")) == [a.pk]
    assert _ids(cc.get("work-orders/", external_ref="R-1")) == [a.pk]


def test_filter_by_created_and_updated_ranges(cc, make_order, agent):
    from workorders import services

    start = clock.now()
    with time_machine.travel(start - dt.timedelta(days=3), tick=False):
        old = make_order()
    with time_machine.travel(start, tick=False):
        new = make_order()
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        services.work_order_cancel(order=old, by=agent, reason="客户取消")
    since = (start - dt.timedelta(days=1)).isoformat()
    assert _ids(cc.get("work-orders/", created_after=since)) == [new.pk]
    assert _ids(cc.get("work-orders/", created_before=since)) == [old.pk]
    later = (start + dt.timedelta(minutes=30)).isoformat()
    assert _ids(cc.get("work-orders/", updated_after=later)) == [old.pk]


def test_the_list_masks_phone_numbers(cc, make_order):
    # R40: lists never show full numbers
    make_order()
    row = cc.get("work-orders/").body["results"][0]
    assert row["contact_phone"] == "138****5678"


def test_pages_stay_stable_while_orders_are_being_created(cc, make_order):
    orders = [make_order() for _ in range(5)]
    first = cc.get("work-orders/", page_size=2)
    assert _ids(first) == [orders[4].pk, orders[3].pk]
    make_order()  # created while the client pages: must not shift what follows
    make_order()
    second = cc.get(first.body["next"])
    assert _ids(second) == [orders[2].pk, orders[1].pk]
    third = cc.get(second.body["next"])
    assert _ids(third) == [orders[0].pk] and third.body["next"] is None


def test_the_call_centre_sees_full_phones_on_the_order_and_the_read_is_logged(
        cc, make_order, call_centre):
    # R40: full data for the roles that need it, every read attributable
    order = make_order()
    response = cc.get(f"work-orders/{order.pk}/")
    assert response.status_code == 200
    assert response.body["customer"]["phone"] == "13812345678"
    assert response["ETag"] == f'"{order.version}"'
    access = PiiAccess.objects.get()
    assert access.user == call_centre.user and access.where == "api:order"


def test_a_reporting_client_sees_masked_phones_and_nothing_is_logged(bi, make_order, alice):
    order = make_order(State.DISPATCHED, technician=alice)
    body = bi.get(f"work-orders/{order.pk}/").body
    assert body["customer"]["phone"] == "138****5678"
    assert body["technician"]["phone"] == "139****0000"
    assert body["allowed_actions"] == [] and body["actions"] == []
    assert not PiiAccess.objects.exists()


def test_the_detail_shows_state_technician_appointment_and_allowed_actions(
        cc, make_order, alice):
    order = make_order(State.SCHEDULED, technician=alice)
    body = cc.get(f"work-orders/{order.pk}/").body
    assert body["state"] == "scheduled" and body["number"] == order.number
    assert body["technician"]["name"] == "Alice Wang"
    assert body["technician"]["areas"] == ["BJ-DC-01"]
    assert body["appointment"]["precision"] == "exact"
    assert body["appointment"]["status"] == "booked"
    assert set(body["allowed_actions"]) == {"park", "cancel"}
    names = {a["name"] for a in body["actions"]}
    assert names == {"park", "cancel", "appointment-change-requests", "follow-ups"}
    assert body["sla"]["status"] in {"none", "ok", "at_risk", "breached"}


def test_a_technician_sees_only_their_own_orders(as_session, make_order, alice, bob, west):
    # R41
    mine = make_order(State.DISPATCHED, technician=alice)
    theirs = make_order(State.DISPATCHED, technician=bob, area=west)
    api = as_session(alice.user)
    assert _ids(api.get("work-orders/")) == [mine.pk]
    assert api.get(f"work-orders/{theirs.pk}/").status_code == 404


def test_the_timeline_lists_every_event_with_who_and_why(cc, make_order, alice):
    # R42: who, when, from, to, why
    order = make_order(State.CONTACTED, technician=alice)
    body = cc.get(f"work-orders/{order.pk}/timeline/").body
    actions = [e["action"] for e in body["events"]]
    assert actions == [OrderAction.CREATE, OrderAction.DISPATCH, OrderAction.ACCEPT,
                       OrderAction.CONTACT]
    contact = body["events"][-1]
    assert contact["actor"] == "Alice Wang" and contact["from_state"] == "taken"
    assert contact["to_state"] == "contacted"
    assert body["technician"]["name"] == "Alice Wang"
    assert isinstance(body["timer_events"], list)


def test_areas_and_technicians_for_the_call_centre_screens(cc, alice, bob, west):
    areas = cc.get("areas/").body
    assert [a["code"] for a in areas] == ["BJ-DC-01", "BJ-MTG-07"]
    techs = cc.get("technicians/", area=west.code).body
    assert [t["name"] for t in techs] == ["Bob Li"]
    assert techs[0]["phone"] == "13900000000"  # the call-centre may call technicians


def test_a_technician_cannot_list_areas_or_technicians(as_session, alice):
    api = as_session(alice.user)
    assert api.get("areas/").status_code == 403
    assert api.get("technicians/").status_code == 403


def test_me_names_the_client(cc, call_centre, as_session, dispatcher):
    assert cc.get("me/").body == {"id": call_centre.pk, "name": "10010 呼叫中心",
                                  "role": "call_centre", "rate_limit_per_minute": 600}
    assert as_session(dispatcher).get("me/").status_code == 404


def test_the_order_shows_its_sla_timers_and_the_list_filters_by_sla_status(cc, make_order,
                                                                          alice):
    """R7/R38: a dispatched order runs the contact timer; past its warning it is at risk,
    past its due time breached (and stays breached)."""
    from sla import engine

    start = clock.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        order = make_order(State.DISPATCHED, technician=alice)
        quiet = make_order()
        body = cc.get(f"work-orders/{order.pk}/").body
    assert body["sla"]["available"] is True
    running = [t for t in body["sla"]["timers"] if t["status"] == "armed"]
    assert running and body["sla"]["status"] == "ok"
    contact = next(t for t in running if t["due_at"])
    due = dt.datetime.fromisoformat(contact["due_at"])
    assert contact["remaining_seconds"] == int((due - start).total_seconds())
    assert _ids(cc.get("work-orders/", sla_status="at_risk")) == []

    with time_machine.travel(due + dt.timedelta(minutes=1), tick=False):
        engine.sweep_all()
        body = cc.get(f"work-orders/{order.pk}/").body
        assert body["sla"]["status"] == "breached"
        assert _ids(cc.get("work-orders/", sla_status="breached")) == [order.pk]
        timeline = cc.get(f"work-orders/{order.pk}/timeline/").body
    events = {e["event"] for e in timeline["timer_events"]}
    assert {"started", "breached"} <= events
    assert quiet.pk not in _ids(cc.get("work-orders/", sla_status="breached"))


def test_no_api_answer_is_kept_by_a_browser_or_proxy(cc, make_order):
    # Defect: API responses carried no Cache-Control, so customer data could be kept by
    # a browser or an intermediate cache.
    order = make_order()
    for response in (cc.get("work-orders/"), cc.get(f"work-orders/{order.pk}/"),
                     cc.get("work-orders/999999/"), cc.get("no-such-endpoint/"),
                     cc.post("work-orders/", {"bad": 1})):
        assert "no-store" in response["Cache-Control"], response.status_code
