"""Reads of the API: which orders a caller sees, filtered and paged by a stable cursor,
and what the order detail and timeline show."""

from __future__ import annotations

import base64
import binascii
import copy
import functools
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import Prefetch, Q, QuerySet

from appointments.models import Appointment, AppointmentStatus
from fieldops import clock, refdata
from fieldops.rawsql import plan_for, typed
from surveys.models import FollowUp, FollowUpStatus
from technicians.models import Area
from workorders.models import WorkOrder, WorkOrderEvent
from workorders.selectors import orders_visible_to

from . import conf, sla
from .models import ApiClient, WebhookEndpoint


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
    """The same orders as ``readers.order_list_page``, as a queryset (R41 visibility, then the
    list filters of GET /work-orders/); for reads that need models."""
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


@functools.cache
def _select_sql(model: Any, column: str) -> str:
    fields = ", ".join(f'"{f.column}"' for f in model._meta.concrete_fields)
    return f'SELECT {fields} FROM "{model._meta.db_table}" WHERE "{column}" = %s'


def area_by_code(code: str) -> Area | None:
    """``Area.objects.filter(code=code).first()`` (the code is unique) for every intake,
    without compiling the query each time; in an API request, from this process's copy of
    the areas as of the request's reference stamp (``fieldops.refdata``): no query. Each
    call gets its own instance."""
    db = router.db_for_read(Area)
    values = _AREAS.get(code, lambda: _area_values(db, code))
    if values is None:
        return None
    return Area.from_db(db, [f.attname for f in Area._meta.concrete_fields], list(values))


def _area_values(db: str, code: str) -> tuple[Any, ...] | None:
    with connections[db].cursor() as cursor:
        cursor.execute(_select_sql(Area, "code"), [code])
        row = cursor.fetchone()
    if row is None:
        return None
    fields = Area._meta.concrete_fields
    return tuple(typed(row, plan_for(connections[db], "api.area", lambda: fields),
                       connections[db]))


#: Area code -> the area's column values (``_area_values``), per reference stamp.
_AREAS = refdata.Cache()
refdata.watch(Area)


@functools.cache
def _endpoints_sql() -> str:
    endpoint, client = (f'"{m._meta.db_table}"' for m in (WebhookEndpoint, ApiClient))
    columns = ", ".join(f'e."{f.column}"' for f in WebhookEndpoint._meta.concrete_fields)
    return (f"SELECT {columns} FROM {endpoint} e JOIN {client} c ON c.id = e.client_id "
            f"WHERE e.is_active AND c.is_active ORDER BY c.name, e.id")


def active_webhook_endpoints() -> list[WebhookEndpoint]:
    """``WebhookEndpoint.objects.filter(is_active=True, client__is_active=True)`` in its
    default order (client name, id). Asked on every order event, mostly to find there are
    none, so it is written once per process instead of compiled each time."""
    fields = WebhookEndpoint._meta.concrete_fields
    db = router.db_for_read(WebhookEndpoint)
    names = [f.attname for f in fields]
    rows = _ENDPOINTS.get(db, lambda: _endpoint_rows(db))
    # Copies: an endpoint's lists (event types) are its own.
    return [WebhookEndpoint.from_db(db, names, copy.deepcopy(list(row))) for row in rows]


def _endpoint_rows(db: str) -> list[tuple[Any, ...]]:
    connection = connections[db]
    with connection.cursor() as cursor:
        cursor.execute(_endpoints_sql())
        rows = cursor.fetchall()
    plan = plan_for(connection, "api.webhook_endpoints",
                    lambda: WebhookEndpoint._meta.concrete_fields)
    return [tuple(typed(row, plan, connection)) for row in rows]


#: The active endpoints' column values, per reference stamp (``fieldops.refdata``): in an
#: API request, the usual answer (nobody listens) costs no query.
_ENDPOINTS = refdata.Cache()
refdata.watch(WebhookEndpoint, ApiClient)


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

    qs = FollowUp.objects.filter(order__in=orders_visible_to(user)).select_related("owner")
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("mine"):
        qs = qs.filter(owner=user)
    if filters.get("overdue"):
        qs = qs.filter(status=FollowUpStatus.OPEN, due_at__lt=clock.now())
    return qs
