"""The customer's charges pages (R47), no login: the demo backend's payment page behind
the QR code (``/pay/<token>/``), the receipt behind the SMS link (``/rc/<token>/``), and
the payment provider's signed callback (``/pay/callback/``). Thin: ``charges.links``
checks the tokens, ``charges.payments`` the callback's signature, ``charges.services``
writes."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from charges import links, selectors, services
from charges.models import Payment, PaymentStatus
from charges.payments import BadCallback, backend
from workorders.errors import DomainError

log = logging.getLogger(__name__)


def _refused(request: HttpRequest, error: links.LinkError) -> HttpResponse:
    return render(request, "customer/invalid.html", {"error": error}, status=error.status)


def _charges(payment: Payment) -> dict[str, Any]:
    order = payment.order
    return {"order": order, "payment": payment, "charges": selectors.summary(order)}


@never_cache
@csrf_protect
def pay(request: HttpRequest, token: str) -> HttpResponse:
    """The demo backend's payment page: the lines, the amount, and "Pay"; once paid, the
    receipt."""
    try:
        payment = links.resolve_payment(token)
    except links.LinkError as error:
        return _refused(request, error)
    status = 200
    error_message = ""
    if request.method == "POST" and payment.status == PaymentStatus.PENDING:
        try:
            payment = services.payment_confirm(payment=payment, via="customer page")
        except DomainError as error:
            error_message = error.message
            status = error.status
        else:
            return redirect("pay:receipt", token=links.receipt_token(payment))
    if payment.status == PaymentStatus.PAID:
        return redirect("pay:receipt", token=links.receipt_token(payment))
    return render(request, "customer/pay.html", {**_charges(payment), "error": error_message},
                  status=status)


@never_cache
def receipt(request: HttpRequest, token: str) -> HttpResponse:
    """R47: the receipt: the lines, the total, what was paid and when (the payment's
    confirmation time)."""
    try:
        payment = links.resolve_receipt(token)
    except links.LinkError as error:
        return _refused(request, error)
    return render(request, "customer/receipt.html", _charges(payment))


@csrf_exempt  # a provider's server calls it; its HMAC signature is the authentication
@require_POST
def callback(request: HttpRequest) -> HttpResponse:
    """A payment provider's confirmation: refused (400) unless its signature verifies;
    an unknown payment is a 404, a wrong amount a 409; a repeat is answered OK."""
    try:
        confirmation = backend().verify_callback(request.body, request.headers)
    except BadCallback as error:
        log.warning("payment callback refused: %s", error.message)
        return JsonResponse({"ok": False, "error": error.message}, status=400)
    payment = Payment.objects.filter(reference=confirmation.reference).first()
    if payment is None:
        return JsonResponse({"ok": False, "error": "unknown payment reference"}, status=404)
    try:
        services.payment_confirm(payment=payment, confirmation=confirmation, via="callback")
    except DomainError as error:
        return JsonResponse({"ok": False, "error": error.message}, status=409)
    return JsonResponse({"ok": True})
