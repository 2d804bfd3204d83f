"""The on-site checklist on the technician's phone (R43, R44, R48, R49): the order page
lists the policy's steps with done / to do, each step's page records through the visit's
services, and sign-off is offered only after the report and the checks."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from inventory.models import Device, Owner, VanStock
from tests.fieldapp.helpers import on_site_with_report, upload
from tests.inventory.conftest import (  # noqa: F401 (fixtures)
    catalogue,
    dsl_model,
    onu_model,
    stock,
)
from visits.models import ChecklistPolicy, Measure, Source, StepKey, StepRecord, TestResult
from workorders import services
from workorders.kit import order_kit, required_kit
from workorders.models import CompletionReport, State, WorkOrder


@pytest.fixture(autouse=True)
def _english() -> object:
    with translation.override("en"):
        yield


def page(client: Client, order: WorkOrder, name: str = "") -> str:
    url = (reverse("tech:step", args=[order.pk, name]) if name
           else reverse("tech:order", args=[order.pk]))
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (200, 302)
    return response.content.decode()


def post(client: Client, order: WorkOrder, name: str, data: dict, files: dict | None = None):
    order.refresh_from_db()
    return client.post(reverse("tech:step", args=[order.pk, name]),
                       {"version": order.version, **data, **(files or {})},
                       HTTP_ACCEPT_LANGUAGE="en")


def test_the_on_site_page_is_a_checklist_and_hides_sign_off_before_the_report(
        alice_client, make_order, alice):
    """R26/R27: no sign-off before the report; the checklist shows what is to do."""
    order = make_order(State.ON_SITE, technician=alice)
    html = page(alice_client, order)
    for key in ("work", "tests", "tryout", "cleanup", "safety"):
        assert f'data-checklist="{key}"' in html
    assert 'data-step="sign-off"' not in html
    assert "Write the report first" in html
    response = alice_client.get(reverse("tech:step", args=[order.pk, "sign-off"]))
    assert response.status_code == 302  # not offered: back to the order


@pytest.mark.usefixtures("visits_alone")
def test_a_visit_walked_through_the_pages_reaches_sign_off(alice_client, make_order, alice):
    """R43, R44, R48: report, readings (one from the network), try-out, clean-up, then
    the sign-off button appears."""
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice), checklist=False)
    html = page(alice_client, order)
    assert 'data-step="sign-off"' not in html
    assert post(alice_client, order, "read-line", {}).status_code == 302
    rx = TestResult.objects.get(order=order, measure=Measure.RX_POWER)
    assert rx.source == Source.NETWORK
    tests_page = page(alice_client, order, "tests")
    assert "Network-verified" in tests_page
    assert post(alice_client, order, "tests", {"speed_down": "470", "speed_up": "47.5",
                                               Measure.RX_POWER: "-3"}).status_code == 302
    assert TestResult.objects.get(pk=rx.pk).value == rx.value  # not typed over
    html = page(alice_client, order)
    assert "try the service" in html  # the blocker names the try-out (R43)
    assert post(alice_client, order, "tryout", {"tried": ["internet"], "worked": "yes",
                                                "explained": ["use"]}).status_code == 302
    assert post(alice_client, order, "cleanup", {"done": "on"},
                {"photo": upload()}).status_code == 302
    html = page(alice_client, order)
    assert 'data-step="sign-off"' in html
    assert StepRecord.objects.get(order=order, step=StepKey.CLEANUP).photo is not None


def test_an_absurd_reading_comes_back_on_the_page_and_nothing_is_written(
        alice_client, make_order, alice):
    """R48: 10 Gbit/s on the plan, with a clear message on its field; the other readings
    of the same page are not written either."""
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice), checklist=False)
    response = post(alice_client, order, "tests", {"rx_power": "-18", "speed_down": "10000",
                                                   "speed_up": "40"})
    assert response.status_code == 422
    assert "not possible on a 500 Mbit/s line" in response.content.decode()
    assert not TestResult.objects.filter(order=order).exists()


def test_safety_at_height_before_the_work(alice_client, make_order, alice, stock,  # noqa: F811
                                          catalogue):  # noqa: F811
    """R49: at height, every work step (the report, the readings, the equipment, the
    materials) waits for the second person and the warning sign; the pages say so in
    plain words, and nothing is written."""
    ChecklistPolicy.objects.filter(kind="install", access_type="").update(work_at_height=True)
    order = make_order(State.ON_SITE, technician=alice, account_number="KD-1001")
    html = page(alice_client, order)
    assert "Name the second person" in html  # what holds the visit back, first
    fibre = catalogue["fibre"]
    for name, data in (("report", {"work_done": "安装光猫 ONU installed"}),
                       ("tests", {"speed_down": "470"}),
                       ("equipment", {"action": "install", "serial": "ZTEG00000001"}),
                       ("materials", {f"item-{fibre.pk}": "20"})):
        response = post(alice_client, order, name, data)
        body = response.content.decode()
        assert response.status_code == 422, name
        assert "Name the second person and put up the warning sign" in body, name
        assert "R49" not in body, name
    assert not CompletionReport.objects.filter(order=order).exists()
    assert not TestResult.objects.filter(order=order).exists()
    assert Device.objects.get(serial="ZTEG00000001").owner == Owner.VAN
    assert VanStock.objects.get(technician=alice, item=fibre).quantity == 300
    response = post(alice_client, order, "safety", {"at_height": "on",
                                                    "second_person": "李强",
                                                    "warning_sign": "on"})
    assert response.status_code == 302
    assert post(alice_client, order, "report",
                {"work_done": "安装光猫 ONU installed"}).status_code == 302
    assert post(alice_client, order, "tests", {"speed_down": "470"}).status_code == 302
    assert "Name the second person" not in page(alice_client, order)


def test_at_height_the_kit_page_lists_the_safety_gear(alice_client, make_order, alice):
    """R49 with R20: the kit check asks for the helmet, the harness, the ladder and the
    warning sign where the policy says work at height."""
    order = make_order(State.SCHEDULED, technician=alice)
    assert "Safety helmet" not in page(alice_client, order, "kit")
    ChecklistPolicy.objects.filter(kind="install", access_type="").update(work_at_height=True)
    html = page(alice_client, order, "kit")
    for label in ("Safety helmet", "Safety harness", "Ladder", "Warning sign"):
        assert label in html
    response = post(alice_client, order, "kit", {"items": list(required_kit("ftth"))})
    assert response.status_code == 422
    assert "Safety harness" in response.content.decode()
    assert "R20" not in response.content.decode()
    assert post(alice_client, order, "kit",
                {"items": list(order_kit(order))}).status_code == 302
    assert WorkOrder.objects.get(pk=order.pk).state == State.PREPARED


def test_a_step_is_declined_with_a_reason(alice_client, make_order, alice):
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice), checklist=False)
    assert "Can&#x27;t do this step" in page(alice_client, order) or \
        "Can't do this step" in page(alice_client, order)
    response = post(alice_client, order, "decline", {"step": "cleanup", "reason": ""})
    assert response.status_code == 400
    response = post(alice_client, order, "decline", {"step": "cleanup",
                                                     "reason": "new building, no waste"})
    assert response.status_code == 302
    assert StepRecord.objects.get(order=order, step="cleanup").status == "declined"


def test_the_checklist_pages_are_the_orders_technicians_only(bob_client, make_order, alice):
    order = make_order(State.ON_SITE, technician=alice)
    assert bob_client.get(reverse("tech:step", args=[order.pk, "tryout"])).status_code == 404


def test_no_rule_ids_on_the_checklist_pages(alice_client, make_order, alice):
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice), checklist=False)
    for name in ("", "tests", "tryout", "cleanup", "safety", "decline"):
        html = page(alice_client, order, name)
        for rule in ("R43", "R44", "R48", "R49"):
            assert rule not in html, (name, rule)


@pytest.mark.usefixtures("visits_alone")
def test_other_apps_steps_are_not_linked_when_not_registered(alice_client, make_order, alice):
    order = make_order(State.ON_SITE, technician=alice)
    services.work_order_save_report(order=order, by=alice.user, work_done="ONU installed")
    html = page(alice_client, order)
    assert 'data-checklist="equipment"' not in html  # the checklist names it not
