"""Reads of the API: which orders a caller sees, filtered and paged by a stable cursor,
and what the order detail and timeline show."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from appointments.models import Appointment, AppointmentStatus
from surveys.models import FollowUp, FollowUpStatus
from workorders.models import WorkOrder, WorkOrderEvent
from workorders.selectors import orders_visible_to

from . import conf, sla


class BadCursor(ValueError):
    pass


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"i{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadCursor(cursor) from exc
    if not raw.startswith("i") or not raw[1:].isdigit() or len(raw) > 20:
        raise BadCursor(cursor)
    return int(raw[1:])


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def keyset_page(qs: QuerySet[Any], *, descending: bool, cursor: str | None,
                page_size: int | None) -> Page:
    """One page ordered by id, after ``cursor``. Orders created while a client pages
    have higher ids: they never shift or repeat the pages after the first (stable)."""
    size = min(page_size or conf.get("PAGE_SIZE"), conf.get("MAX_PAGE_SIZE"))
    if cursor:
        after = decode_cursor(cursor)
        qs = qs.filter(pk__lt=after) if descending else qs.filter(pk__gt=after)
    rows = list(qs.order_by("-pk" if descending else "pk")[:size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, encode_cursor(rows[-1].pk) if more and rows else None)


def orders_for(user: Any, filters: dict[str, Any]) -> QuerySet[WorkOrder]:
    """R41 visibility, then the list filters of GET /work-orders/."""
    qs = orders_visible_to(user).select_related("area", "customer", "technician__user")
    if filters.get("state"):
        qs = qs.filter(state__in=sorted(filters["state"]))
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("area"):
        qs = qs.filter(area__code=filters["area"])
    if filters.get("technician"):
        qs = qs.filter(technician_id=filters["technician"])
    if filters.get("customer_phone"):
        phone = filters["customer_phone"]
        qs = qs.filter(Q(contact_phone=phone) | Q(customer__phone=phone))
    if filters.get("account"):
        qs = qs.filter(account__number=filters["account"])
    if filters.get("external_ref"):
        qs = qs.filter(external_ref=filters["external_ref"])
    for name, lookup in (("created_after", "created_at__gte"),
                         ("created_before", "created_at__lt"),
                         ("updated_after", "updated_at__gte"),
                         ("updated_before", "updated_at__lt")):
        if filters.get(name):
            qs = qs.filter(**{lookup: filters[name]})
    if filters.get("sla_status"):
        qs = sla.filter_orders(qs, filters["sla_status"])
    return qs


def order_for(user: Any, pk: int) -> WorkOrder:
    """One order the caller may see, or ``WorkOrder.DoesNotExist`` (a 404: R41 hides
    other technicians' orders rather than refusing them)."""
    return (orders_visible_to(user)
            .select_related("area", "customer", "account", "technician__user",
                            "technician__team")
            .prefetch_related("technician__areas",
                              Prefetch("appointments", to_attr="appointment_rows",
                                       queryset=Appointment.objects.order_by("-booked_at",
                                                                             "-id")))
            .get(pk=pk))


def current_appointment(order: WorkOrder) -> Appointment | None:
    """The booked appointment, else the latest one (kept, missed...)."""
    rows = getattr(order, "appointment_rows", None)
    if rows is None:
        rows = list(order.appointments.order_by("-booked_at", "-id"))
    for row in rows:
        if row.status == AppointmentStatus.BOOKED:
            return row
    return rows[0] if rows else None


def order_events(order: WorkOrder) -> QuerySet[WorkOrderEvent]:
    return WorkOrderEvent.objects.filter(order=order).order_by("at", "id")


def follow_ups_for(user: Any, filters: dict[str, Any]) -> QuerySet[FollowUp]:
    from fieldops import clock

    qs = FollowUp.objects.filter(order__in=orders_visible_to(user)).select_related("owner")
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("mine"):
        qs = qs.filter(owner=user)
    if filters.get("overdue"):
        qs = qs.filter(status=FollowUpStatus.OPEN, due_at__lt=clock.now())
    return qs
