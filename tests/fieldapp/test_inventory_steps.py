"""The equipment (R45) and materials (R46) steps on the technician's pages: offered on
site to the order's technician, a serial typed any way, the refusals shown on the form
(never a 500, nothing written), the steppers' quantities drawn from the van."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from inventory.models import Device, MaterialUse, Owner, VanStock
from tests.inventory.conftest import (  # noqa: F401 (fixtures)
    catalogue,
    dsl_model,
    onu_model,
    stock,
)
from workorders.models import State

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(alice_client):
    """Pages and messages in English (zh-Hans is the default)."""
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def step_url(order, name):
    return reverse("tech:step", args=[order.pk, name])


@pytest.fixture
def on_site(make_order, alice):
    return make_order(State.ON_SITE, technician=alice, account_number="KD-1001")


def test_both_steps_are_offered_on_site_to_the_orders_technician(alice_client, on_site,
                                                                 make_order, alice):
    page = alice_client.get(reverse("tech:order", args=[on_site.pk])).content.decode()
    assert step_url(on_site, "equipment") in page and step_url(on_site, "materials") in page
    scheduled = make_order(State.SCHEDULED, technician=alice)
    page = alice_client.get(reverse("tech:order", args=[scheduled.pk])).content.decode()
    assert step_url(scheduled, "equipment") not in page


def test_a_typed_serial_with_spaces_and_lower_case_is_installed(alice_client, on_site,
                                                                stock):  # noqa: F811
    # R45
    page = alice_client.get(step_url(on_site, "equipment"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "vendor/barcode-detector/iife/polyfill.js" in html  # named, not loaded
    assert '<script src="/static/vendor/barcode-detector' not in html
    assert "vendor/zxing-wasm/reader/" in html
    response = alice_client.post(step_url(on_site, "equipment"), {
        "version": on_site.version, "action": "install", "serial": " zteg 0000 0001 "})
    assert response.status_code == 302
    assert response["Location"] == step_url(on_site, "equipment")
    assert Device.objects.get(serial="ZTEG00000001").owner == Owner.CUSTOMER
    again = alice_client.get(step_url(on_site, "equipment")).content.decode()
    assert "ZTEG00000001" in again


@pytest.mark.parametrize(("serial", "words"), [
    ("NOPE1", "does not know"),
    ("ZTEGBOB00001", "not in your van"),
    ("HWDSL0000001", "does not fit"),
])
def test_a_refusal_is_shown_on_the_serial_field(alice_client, on_site, stock,  # noqa: F811
                                                serial, words):
    # R45: a clear message on the field, 422, nothing written
    response = alice_client.post(step_url(on_site, "equipment"), {
        "version": on_site.version, "action": "install", "serial": serial})
    assert response.status_code == 422
    assert words in response.content.decode()
    assert not Device.objects.filter(owner=Owner.CUSTOMER).exists()


def test_a_duplicate_scan_is_refused(alice_client, on_site, stock):  # noqa: F811
    data = {"version": on_site.version, "action": "install", "serial": "ZTEG00000001"}
    alice_client.post(step_url(on_site, "equipment"), data)
    response = alice_client.post(step_url(on_site, "equipment"), data)
    assert response.status_code == 422
    assert "already recorded on this order" in response.content.decode()


def test_a_swap_needs_the_old_serial(alice_client, on_site, stock):  # noqa: F811
    response = alice_client.post(step_url(on_site, "equipment"), {
        "version": on_site.version, "action": "swap", "serial": "ZTEG00000002"})
    assert response.status_code == 400
    assert "serial of the device you take out" in response.content.decode()


def test_the_materials_page_has_a_stepper_per_normed_item(alice_client, on_site,
                                                          catalogue):  # noqa: F811
    html = alice_client.get(step_url(on_site, "materials")).content.decode()
    for item in catalogue.values():
        assert f'data-for="id_item-{item.pk}"' in html
    assert html.count('data-by="1"') == 3 and html.count('data-by="-1"') == 3


def test_materials_from_the_page_draw_the_van(alice_client, on_site, alice,
                                              catalogue):  # noqa: F811
    # R46
    fibre, connector = catalogue["fibre"], catalogue["connector"]
    response = alice_client.post(step_url(on_site, "materials"), {
        "version": on_site.version, f"item-{fibre.pk}": "35.5",
        f"item-{connector.pk}": "2"})
    assert response.status_code == 302
    assert VanStock.objects.get(technician=alice, item=fibre).quantity == Decimal("264.5")
    html = alice_client.get(step_url(on_site, "materials")).content.decode()
    assert "35.5" in html


@pytest.mark.parametrize(("value", "words"), [("-3", "cannot take back more"),
                                              ("1.5", "whole pieces"),
                                              ("9999", "too much")])
def test_a_bad_quantity_is_shown_on_its_field(alice_client, on_site, catalogue,  # noqa: F811
                                              value, words):
    connector = catalogue["connector"]
    response = alice_client.post(step_url(on_site, "materials"), {
        "version": on_site.version, f"item-{connector.pk}": value})
    assert response.status_code == 422
    assert words in response.content.decode()
    assert not MaterialUse.objects.exists()
