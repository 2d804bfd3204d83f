"""Payment by QR code (R47): the demo backend's customer page marks the payment paid at
the moment of confirmation (the receipt's time), the receipt link goes out by SMS; a
provider's callback counts only with a valid signature."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from charges import services
from charges.models import Payment, PaymentStatus
from charges.payments import sign_callback
from fieldops.signed_links import mask_links
from notifications.models import Notification
from workorders.errors import RuleViolation
from workorders.events import OrderAction
from workorders.models import WorkOrder, WorkOrderEvent

pytestmark = pytest.mark.django_db

SECRET = "test-callback-secret"
NOON = dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC)  # 12:00 in Beijing


@pytest.fixture
def charged(make_order: Any, alice: Any, prices: Any) -> WorkOrder:
    with time_machine.travel(NOON - dt.timedelta(hours=2), tick=False):
        order = make_order("on_site", technician=alice)
        services.fee_line_add(order=order, by=alice.user, code="T-ROUTER")
    return order


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_the_demo_payment_is_paid_at_the_customers_confirmation(client, charged, alice):
    # R47: the QR code opens the signed page; the receipt's time is the confirmation's
    with time_machine.travel(NOON - dt.timedelta(minutes=30), tick=False):
        payment = services.payment_request(order=charged, by=alice.user)
    assert payment.amount == Decimal("159.00") and payment.status == PaymentStatus.PENDING
    assert "/pay/" in payment.qr_payload
    page = _path(payment.qr_payload)
    assert "¥159.00" in client.get(page).content.decode()
    confirmed_at = NOON + dt.timedelta(minutes=7, seconds=13)
    with time_machine.travel(confirmed_at, tick=False):
        response = client.post(page)
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID and payment.paid_at == confirmed_at
    event = WorkOrderEvent.objects.get(order=charged, action=OrderAction.RECEIVE_PAYMENT)
    assert event.at == confirmed_at and event.payload["amount"] == "159.00"
    sms = Notification.objects.get(order=charged, kind="receipt")
    assert "2026-12-07 12:07" in sms.body and "¥159.00" in sms.body  # the site's language
    found = re.search(r"https?://\S+/rc/\S+/", sms.body)
    assert found is not None
    sent = found.group(0)
    assert "/rc/…/" in mask_links(sms.body)  # staff screens don't open it (R40)
    for receipt_page in (_path(sent), response["Location"]):
        receipt = client.get(receipt_page).content.decode()
        assert "2026-12-07 12:07" in receipt and "159.00" in receipt
    # the QR code again: straight to the receipt; a second confirmation changes nothing
    assert client.post(page).status_code == 302
    assert Notification.objects.filter(order=charged, kind="receipt").count() == 1


def test_a_changed_amount_replaces_the_code_shown(client, charged, alice):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    # R47: a line added after the QR code was shown: the old code no longer pays
    old = services.payment_request(order=charged, by=alice.user)
    assert services.payment_request(order=charged, by=alice.user) == old  # a reload
    services.fee_line_add(order=charged, by=alice.user, code="T-ROUTER")
    old.refresh_from_db()
    assert old.status == PaymentStatus.CANCELLED
    response = client.post(_path(old.qr_payload))
    assert response.status_code == 410 and "amount changed" in response.content.decode()
    new = services.payment_request(order=charged, by=alice.user)
    assert new.amount == Decimal("318.00")


def test_nothing_to_pay_is_said(make_order, alice, prices):
    # R47
    order = make_order("on_site", technician=alice)
    with pytest.raises(RuleViolation, match="nothing to pay"):
        services.payment_request(order=order, by=alice.user)


def test_a_tampered_or_foreign_link_is_refused(client, charged, alice):
    payment = services.payment_request(order=charged, by=alice.user)
    page = _path(payment.qr_payload)
    assert client.get(page[:-3] + "xx/").status_code == 404
    receipt_with_pay_token = reverse("pay:receipt", args=[page.rstrip("/").split("/")[-1]])
    assert client.get(receipt_with_pay_token).status_code == 404


def _asked_before_noon(order: WorkOrder, technician: Any) -> Payment:
    # The code is shown at 11:30, before the provider's time of payment: a test run after
    # noon of the test's day must not make the payment younger than its callback.
    with time_machine.travel(NOON - dt.timedelta(minutes=30), tick=False):
        return services.payment_request(order=order, by=technician.user)


def _callback(client: Any, payment: Payment, *, secret: str = SECRET, amount: str = "",
              paid_at: dt.datetime = NOON, timestamp: int | None = None) -> Any:
    body = json.dumps({"reference": payment.reference, "amount": amount or str(payment.amount),
                       "paid_at": paid_at.isoformat(), "transaction": "4200001234"}).encode()
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    return client.post(reverse("pay:callback"), data=body, content_type="application/json",
                       headers={"X-Payment-Timestamp": stamp,
                                "X-Payment-Signature": sign_callback(body, stamp, secret)})


def test_a_signed_callback_marks_the_payment_paid_at_the_providers_time(client, settings,
                                                                        charged, alice):
    # R47: a provider's confirmation, verified by its HMAC signature; paid_at is its time
    settings.PAYMENT_CALLBACK_SECRET = SECRET
    payment = _asked_before_noon(charged, alice)
    with time_machine.travel(NOON + dt.timedelta(seconds=20), tick=False):
        response = _callback(client, payment, paid_at=NOON)
        assert response.status_code == 200, response.content
        assert _callback(client, payment, paid_at=NOON).status_code == 200  # repeated
    payment.refresh_from_db()
    assert (payment.status, payment.paid_at, payment.provider_ref,
            payment.confirmed_via) == (PaymentStatus.PAID, NOON, "4200001234", "callback")


def test_a_callback_with_a_bad_signature_is_refused(client, settings, charged, alice):
    # R47: not signed with our secret, replayed from long ago, or no secret set: 400
    settings.PAYMENT_CALLBACK_SECRET = SECRET
    payment = _asked_before_noon(charged, alice)
    with time_machine.travel(NOON + dt.timedelta(seconds=20), tick=False):
        assert _callback(client, payment, secret="guessed").status_code == 400
        old = int((NOON - dt.timedelta(hours=1)).timestamp())
        assert _callback(client, payment, timestamp=old).status_code == 400
        unsigned = client.post(reverse("pay:callback"), data=b"{}",
                               content_type="application/json")
        assert unsigned.status_code == 400
        settings.PAYMENT_CALLBACK_SECRET = ""
        assert _callback(client, payment).status_code == 400
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING and payment.paid_at is None
    assert not WorkOrderEvent.objects.filter(order=charged,
                                             action=OrderAction.RECEIVE_PAYMENT).exists()


def test_a_callback_for_another_amount_or_payment_is_refused(client, settings, charged,
                                                             alice):
    settings.PAYMENT_CALLBACK_SECRET = SECRET
    payment = _asked_before_noon(charged, alice)
    with time_machine.travel(NOON + dt.timedelta(seconds=20), tick=False):
        assert _callback(client, payment, amount="1.00").status_code == 409
        payment.reference = "P0-UNKNOWN"
        assert _callback(client, payment).status_code == 404
    assert Payment.objects.get(order=charged).status == PaymentStatus.PENDING
