"""Reads of the charges (R47): the price list in force, an order's lines and totals, its
payments. Shared by the technician's page, the customer's pages, the API and the seal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum

from fieldops import clock
from workorders.models import WorkOrder

from .models import ZERO, FeeLine, Payment, PaymentStatus, PriceItem


def price_list(on: dt.date | None = None, *, kind: str = "") -> QuerySet[PriceItem]:
    """R47: the prices in force on ``on`` (default: today, local), for ``kind`` of work."""
    day = on or clock.today_local()
    rows = PriceItem.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day),
                                    valid_from__lte=day)
    if kind:
        rows = rows.filter(Q(kind="") | Q(kind=kind))
    return rows.order_by("code")


def lines(order: WorkOrder) -> list[FeeLine]:
    return list(FeeLine.objects.filter(order=order).order_by("at", "id"))


def total(order: WorkOrder) -> Decimal:
    """What the order's lines add up to, refunds included."""
    found = FeeLine.objects.filter(order=order).aggregate(total=Sum("amount"))["total"]
    return (found or ZERO).quantize(Decimal("0.01"))


def paid(order: WorkOrder) -> Decimal:
    found = Payment.objects.filter(order=order, status=PaymentStatus.PAID).aggregate(
        total=Sum("amount"))["total"]
    return (found or ZERO).quantize(Decimal("0.01"))


def balance(order: WorkOrder) -> Decimal:
    """What the customer still owes (never below zero: a refund after payment is money
    back, not a credit)."""
    return max(total(order) - paid(order), ZERO)


def pending_payment(order: WorkOrder) -> Payment | None:
    return (Payment.objects.filter(order=order, status=PaymentStatus.PENDING)
            .order_by("-created_at", "-id").first())


def paid_payments(order: WorkOrder) -> list[Payment]:
    return list(Payment.objects.filter(order=order, status=PaymentStatus.PAID)
                .order_by("paid_at", "id"))


def line_dict(line: FeeLine) -> dict[str, Any]:
    return {"code": line.code, "name": line.name, "kind": line.kind,
            "unit_price": str(line.unit_price), "quantity": str(line.quantity),
            "amount": str(line.amount), "serial": line.serial}


def summary(order: WorkOrder) -> dict[str, Any]:
    """The order's charges as the customer, the technician and the API see them: lines,
    total, what was paid and when (the latest payment's confirmation time)."""
    rows = lines(order)
    payments = paid_payments(order)
    amount = sum((line.amount for line in rows), ZERO).quantize(Decimal("0.01"))
    return {
        "lines": rows,
        "total": amount,
        "paid": sum((p.amount for p in payments), ZERO).quantize(Decimal("0.01")),
        "paid_at": payments[-1].paid_at if payments else None,
        "payments": payments,
        "balance": balance(order),
    }
