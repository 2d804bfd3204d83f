"""The dispatcher's desk in the Django admin, driven through the test client."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation

from workorders.events import OrderAction
from workorders.models import PiiAccess, State, WorkOrder, WorkOrderEvent

LIST = reverse("admin:workorders_workorder_changelist")


def change_url(order):
    return reverse("admin:workorders_workorder_change", args=[order.pk])


def act_url(order, action):
    return reverse("admin:workorders_workorder_act", args=[order.pk, action])


@pytest.fixture
def desk(client, dispatcher):
    client.force_login(dispatcher)
    return client


def test_the_list_shows_orders_with_filters(desk, make_order, alice):
    make_order()
    make_order(State.SCHEDULED, technician=alice)
    page = desk.get(LIST)
    assert page.status_code == 200
    assert page.context["cl"].result_count == 2
    filtered = desk.get(LIST, {"state__exact": State.SCHEDULED})
    assert filtered.context["cl"].result_count == 1
    for params in ({"kind__exact": "install"}, {"open": "1"}, {"customer_class__exact": "vip"},
                   {"technician__id__exact": alice.pk}):
        assert desk.get(LIST, params).status_code == 200


@pytest.mark.parametrize("term", ["number", "13812345678", "ACC-77", "东四十条", "CC-1"])
def test_search_finds_an_order_by_number_phone_account_address_or_reference(desk, make_order,
                                                                           term):
    order = make_order(account_number="ACC-77", external_ref="CC-1")
    make_order(contact_phone="13900000000", address="北京市西城区", customer_name="李四")
    query = order.number if term == "number" else term
    page = desk.get(LIST, {"q": query})
    assert [o.pk for o in page.context["cl"].result_list] == [order.pk]


def test_phone_numbers_are_masked_for_roles_that_do_not_need_them(client, make_order,
                                                                  supervisor, dispatcher):
    # R40
    order = make_order()
    client.force_login(supervisor)
    page = client.get(LIST).content.decode()
    assert "138****5678" in page and "13812345678" not in page
    detail = client.get(change_url(order)).content.decode()
    assert "13812345678" not in detail
    assert not PiiAccess.objects.exists()

    client.force_login(dispatcher)
    detail = client.get(change_url(order)).content.decode()
    assert "13812345678" in detail
    access = PiiAccess.objects.get()  # the full read is attributable
    assert access.user == dispatcher and access.order == order


def test_the_order_page_shows_history_and_only_allowed_buttons(desk, make_order):
    order = make_order()
    page = desk.get(change_url(order)).content.decode()
    assert f'data-action="{OrderAction.DISPATCH}"' in page
    assert f'data-action="{OrderAction.CANCEL}"' in page
    assert f'data-action="{OrderAction.ACCEPT}"' not in page  # a field step, not the desk's
    assert "create" in page  # the event inline


def test_a_desk_action_runs_the_service(desk, make_order, alice, dispatcher):
    order = make_order()
    assert desk.get(act_url(order, "dispatch")).status_code == 200
    response = desk.post(act_url(order, "dispatch"),
                         {"technician": alice.pk, "reason": "", "version": order.version})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == State.DISPATCHED and order.technician == alice
    event = WorkOrderEvent.objects.get(order=order, action=OrderAction.DISPATCH)
    assert event.actor == dispatcher


def test_an_illegal_action_is_refused_with_a_readable_message(desk, make_order):
    order = make_order(State.CANCELLED)
    with translation.override("en"):
        response = desk.post(act_url(order, "dispatch"), {"version": order.version},
                             HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Cannot dispatch" in t and "Allowed now" in t for t in texts), texts
    order.refresh_from_db()
    assert order.state == State.CANCELLED


def test_a_stale_page_is_refused_as_a_conflict(desk, make_order, alice, dispatcher):
    order = make_order()
    shown_version = order.version
    from workorders import services

    services.work_order_cancel(order=order, by=dispatcher, reason="customer called back")
    response = desk.post(act_url(order, "dispatch"),
                         {"technician": alice.pk, "version": shown_version},
                         HTTP_ACCEPT_LANGUAGE="en")
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("changed by someone else" in t for t in texts), texts
    assert WorkOrder.objects.get(pk=order.pk).state == State.CANCELLED


def test_a_missing_reason_is_a_form_error_not_a_crash(desk, make_order, alice):
    order = make_order(State.DISPATCHED, technician=alice)
    response = desk.post(act_url(order, "cancel"), {"reason": "", "version": order.version})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]


def test_bulk_dispatch_dispatches_what_it_can_and_reports_the_rest(desk, make_order, alice,
                                                                   west):
    ok = make_order()
    stranded = make_order(area=west)  # nobody serves the west area here
    response = desk.post(LIST, {"action": "bulk_dispatch",
                                "_selected_action": [ok.pk, stranded.pk]},
                         HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    ok.refresh_from_db()
    stranded.refresh_from_db()
    assert ok.state == State.DISPATCHED and ok.technician == alice
    assert stranded.state == State.ACCEPTED
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(stranded.number in t for t in texts)


def test_bulk_reassign_asks_for_the_technician_then_reassigns(desk, make_order, alice, east):
    from tests.conftest import make_technician

    bob = make_technician("carol", areas=[east])  # another technician of the area (R4)
    orders = [make_order(State.DISPATCHED, technician=alice) for _ in range(2)]
    ids = [o.pk for o in orders]
    form_page = desk.post(LIST, {"action": "bulk_reassign", "_selected_action": ids})
    assert form_page.status_code == 200 and "form" in form_page.context
    done = desk.post(LIST, {"action": "bulk_reassign", "_selected_action": ids, "apply": "1",
                            "technician": bob.pk, "reason": "alice off sick"})
    assert done.status_code == 302
    assert {o.technician_id for o in WorkOrder.objects.filter(pk__in=ids)} == {bob.pk}


def test_intake_at_the_desk_creates_an_order_through_the_service(desk, east):
    # R1, R3
    url = reverse("admin:workorders_workorder_intake")
    assert desk.get(reverse("admin:workorders_workorder_add")).url == url
    data = {"channel": "walk_in", "kind": "install", "service": "broadband",
            "access_type": "ftth", "customer_class": "standard", "customer_name": "王芳",
            "contact_phone": "13700001111", "address": "北京市东城区北新桥 1 号",
            "area": east.pk, "preferred_day": "2000-01-01"}
    refused = desk.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200
    assert "preferred_day" in refused.context["form"].errors  # R3: not in the past
    assert not WorkOrder.objects.exists()
    data["preferred_day"] = ""
    data["kind"] = "repair"
    data["symptoms"] = "IPTV 无信号"
    created = desk.post(url, data)
    assert created.status_code == 302
    order = WorkOrder.objects.get()
    assert order.channel == "walk_in" and order.state == State.ACCEPTED


def test_a_technician_cannot_use_the_desk(client, alice, make_order):
    order = make_order(State.DISPATCHED, technician=alice)
    client.force_login(alice.user)
    assert client.get(LIST).status_code == 302  # not staff: sent to the login page
    assert client.post(act_url(order, "cancel"), {"reason": "x"}).status_code == 302
    order.refresh_from_db()
    assert order.state == State.DISPATCHED


def test_admin_pages_of_the_other_models_open(desk, make_order, alice, admin_client):
    make_order(State.SCHEDULED, technician=alice)
    for name in ("technicians_technician", "technicians_area", "appointments_appointment",
                 "workorders_workorderevent", "workorders_customer"):
        assert admin_client.get(reverse(f"admin:{name}_changelist")).status_code == 200


def test_office_roles_read_sla_timers_and_policies(client, supervisor, dispatcher):
    # R38, R39: supervisors and dispatchers see the promises; roles stay in step after
    # every migrate (fieldops.apps post_migrate)
    for user in (supervisor, dispatcher):
        client.force_login(user)
        for name in ("sla_timer", "sla_slapolicy", "sla_businesscalendar"):
            assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200


@pytest.mark.parametrize("params", [{"q": "\x00"}, {"q": "138\x00"},
                                    {"state__exact": "\x00"}, {"kind__exact": "in\x00"}])
def test_a_nul_in_a_search_or_filter_is_a_400_that_says_so(desk, make_order, params):
    # Defect: PostgreSQL can't take a NUL in a text value; the search failed as a 500.
    make_order()
    response = desk.get(LIST, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_the_desk_refuses_hidden_characters_in_names_and_strips_them_from_notes(desk, east):
    # Defect: the desk's intake stored a name with a bidi override as typed.
    url = reverse("admin:workorders_workorder_intake")
    data = {"channel": "walk_in", "kind": "repair", "service": "broadband",
            "access_type": "ftth", "customer_class": "standard", "customer_name": "王\u202e芳",
            "contact_phone": "137\u200b00001111", "address": "北京市东城区北新桥 1 号",
            "area": east.pk, "symptoms": "无信号\u200b\u202e", "notes": "备注\x00"}
    with translation.override("en"):
        refused = desk.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200
    errors = refused.context["form"].errors
    assert set(errors) == {"customer_name", "contact_phone"}
    assert "U+202E" in errors["customer_name"][0]
    assert not WorkOrder.objects.exists()
    data.update(customer_name="王芳", contact_phone="13700001111")
    assert desk.post(url, data).status_code == 302
    order = WorkOrder.objects.get()
    assert order.symptoms == "无信号" and order.notes == "备注"


def test_the_customer_record_refuses_a_hidden_character_in_its_name(make_order,
                                                                    admin_client):
    order = make_order()
    customer = order.customer
    url = reverse("admin:workorders_customer_change", args=[customer.pk])
    response = admin_client.post(url, {"name": "李\u200b四", "phone": customer.phone,
                                       "alt_phone": "", "customer_class": "standard"})
    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert "\u200b" not in customer.name
