"""The charges on the technician's phone (R47): the step page adds a line from the price
list and shows the total and the QR code; bad input comes back on the page with a 4xx;
the sign-off page shows the lines and the total before the customer signs; the order's
checklist links the step."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from charges.models import FeeLine, Payment
from tests.fieldapp.helpers import on_site_with_report
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


def _post(client: Any, order: WorkOrder, name: str, data: dict[str, Any]) -> Any:
    order.refresh_from_db()
    return client.post(reverse("tech:step", args=[order.pk, name]),
                       {"version": order.version, **data})


def test_a_charge_added_on_the_page_and_the_qr_code_shown(alice_client, make_order, alice,
                                                          prices):
    # R47: an item of the list in force, the total, then the QR code for the total
    order = make_order("on_site", technician=alice)
    html = alice_client.get(reverse("tech:step", args=[order.pk, "charges"])).content.decode()
    assert "无线路由器 · ¥159.00" in html and "移机服务费" not in html  # not a move
    assert "旧收费" not in html  # no longer in force
    response = _post(alice_client, order, "charges", {"code": "T-ROUTER", "quantity": "1"})
    assert response.status_code == 302
    html = alice_client.get(response["Location"]).content.decode()
    assert 'data-total>159.00<' in html
    response = _post(alice_client, order, "pay", {})
    assert response.status_code == 302
    html = alice_client.get(response["Location"]).content.decode()
    assert "<svg" in html and "data-qr" in html and Payment.objects.filter(order=order).count() == 1
    checklist = alice_client.get(reverse("tech:order", args=[order.pk])).content.decode()
    assert reverse("tech:step", args=[order.pk, "charges"]) in checklist


@pytest.mark.parametrize(("data", "field"), [
    ({"code": "T-ROUTER", "quantity": "-1"}, "quantity"),
    ({"code": "T-ROUTER", "quantity": "5000"}, "quantity"),
    ({"code": "CASH-TIP", "quantity": "1"}, "code"),
])
def test_bad_input_comes_back_on_the_page_with_a_4xx(alice_client, make_order, alice,
                                                     prices, data, field):
    # R47: a negative or absurd quantity, an item not on the list: said on its field
    order = make_order("on_site", technician=alice)
    response = _post(alice_client, order, "charges", data)
    assert 400 <= response.status_code < 500
    html = response.content.decode()
    assert f'id="field-{field}"' in html and "errorlist" in html
    assert not FeeLine.objects.filter(order=order).exists()


def test_the_sign_off_page_shows_the_lines_and_the_total(alice_client, make_order, alice,
                                                         prices):
    # R47: the customer sees what they sign
    order = make_order("on_site", technician=alice, kind="move")
    assert _post(alice_client, order, "charges", {"code": "T-MOVE",
                                                  "quantity": "1"}).status_code == 302
    order = on_site_with_report(order)
    html = alice_client.get(reverse("tech:step", args=[order.pk, "sign-off"])).content.decode()
    assert 'id="charges-summary"' in html and "移机服务费" in html
    assert 'data-total>100.00<' in html


def test_after_sign_off_the_page_says_nothing_more_can_be_charged(alice_client, make_order,
                                                                  alice, prices):
    # R47
    order = make_order("signed_off", technician=alice)
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = alice_client.get(reverse("tech:step", args=[order.pk, "charges"])).content.decode()
    assert "nothing more can be charged" in html and "data-submit" not in html
    response = _post(alice_client, order, "charges", {"code": "T-ROUTER", "quantity": "1"})
    assert response.status_code == 422
    assert not FeeLine.objects.filter(order=order).exists()
