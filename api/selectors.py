"""Reads of the API: which orders a caller sees, filtered and paged by a stable cursor,
and what the order detail and timeline show."""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, router
from django.db.models import Prefetch, Q, QuerySet

from appointments.models import Appointment, AppointmentStatus
from fieldops import clock
from fieldops.rawsql import plan_for, typed
from surveys.models import FollowUp, FollowUpStatus
from technicians.models import Area, Technician
from workorders.access import order_visibility
from workorders.models import Customer, ServiceAccount, WorkOrder, WorkOrderEvent
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


#: The columns of one list row, in the order ``order_list_page`` returns them.
LIST_COLUMNS = ("id", "version", "state", "kind", "service", "channel", "customer_class",
                "contact_phone", "technician_id", "external_ref", "preferred_day",
                "created_at", "updated_at", "customer_name", "area_code",
                "technician_employee_no", "technician_first_name", "technician_last_name",
                "technician_username")


def _order_list_sql(where: list[str], descending: bool, *, vendor: str) -> str:
    """The page first (one table, its indexes, ``LIMIT``), then the names joined to just
    those rows: joining before the limit made PostgreSQL plan and join every match.
    (``MATERIALIZED`` is PostgreSQL's fence; older SQLite builds don't know the word.)"""
    order, customer, area, technician, user = (
        f'"{m._meta.db_table}"' for m in (WorkOrder, Customer, Area, Technician,
                                           get_user_model()))
    direction = "DESC" if descending else "ASC"
    fence = "MATERIALIZED " if vendor == "postgresql" else ""
    return (
        f"WITH page AS {fence}(SELECT w.id, w.version, w.state, w.kind, w.service, "
        f"w.channel, w.customer_class, w.contact_phone, w.technician_id, w.external_ref, "
        f"w.preferred_day, w.created_at, w.updated_at, w.customer_id, w.area_id "
        f"FROM {order} w WHERE {' AND '.join(where) or 'TRUE'} "
        f"ORDER BY w.id {direction} LIMIT %s) "
        f"SELECT page.id, page.version, page.state, page.kind, page.service, page.channel, "
        f"page.customer_class, page.contact_phone, page.technician_id, page.external_ref, "
        f"page.preferred_day, page.created_at, page.updated_at, c.name, a.code, "
        f"t.employee_no, u.first_name, u.last_name, u.username "
        f"FROM page JOIN {customer} c ON c.id = page.customer_id "
        f"JOIN {area} a ON a.id = page.area_id "
        f"LEFT JOIN {technician} t ON t.id = page.technician_id "
        f"LEFT JOIN {user} u ON u.id = t.user_id "
        f"ORDER BY page.id {direction}")


def _order_list_where(user: Any, filters: dict[str, Any]) -> tuple[list[str], list[Any]] | None:
    """R41 visibility, then the list filters of GET /work-orders/, as SQL conditions on
    the order table ``w``; None when the caller may see no order at all."""
    scope, technician_id = order_visibility(user)
    if scope == "none":
        return None
    where: list[str] = []
    params: list[Any] = []

    def add(condition: str, *values: Any) -> None:
        where.append(condition)
        params.extend(values)

    if scope == "own":
        add("w.technician_id = %s", technician_id)
    if filters.get("state"):
        states = sorted(filters["state"])
        add(f"w.state IN ({', '.join(['%s'] * len(states))})", *states)
    if filters.get("kind"):
        add("w.kind = %s", filters["kind"])
    if filters.get("area"):
        # "=" a scalar subquery (codes are unique): PostgreSQL then knows the one area
        # when it plans, and reads an area's orders in one state newest first straight
        # from the (area, state, id) index, stopping at the end of the page.
        add(f'w.area_id = (SELECT id FROM "{Area._meta.db_table}" WHERE code = %s)',
            filters["area"])
    if filters.get("technician"):
        add("w.technician_id = %s", filters["technician"])
    if filters.get("customer_phone"):
        phone = filters["customer_phone"]
        add(f"(w.contact_phone = %s OR w.customer_id IN "
            f'(SELECT id FROM "{Customer._meta.db_table}" WHERE phone = %s))', phone, phone)
    if filters.get("account"):
        add(f'w.account_id IN (SELECT id FROM "{ServiceAccount._meta.db_table}" '
            f"WHERE number = %s)", filters["account"])
    if filters.get("external_ref"):
        add("w.external_ref = %s", filters["external_ref"])
    for name, condition in (("created_after", "w.created_at >= %s"),
                            ("created_before", "w.created_at < %s"),
                            ("updated_after", "w.updated_at >= %s"),
                            ("updated_before", "w.updated_at < %s")):
        if filters.get(name):
            ops = connections[router.db_for_read(WorkOrder)].ops
            add(condition, ops.adapt_datetimefield_value(filters[name]))
    if filters.get("sla_status"):
        timers = sla.timers_with_status(filters["sla_status"]).values("order_id")
        sql, timer_params = timers.query.sql_with_params()
        add(f"w.id IN ({sql})", *timer_params)
    return where, params


def _list_fields() -> list[Any]:
    """The model fields behind ``LIST_COLUMNS``, in order (for typing the raw rows)."""
    user = get_user_model()
    order = [WorkOrder._meta.get_field(name) for name in LIST_COLUMNS[:13]]
    return [*order, Customer._meta.get_field("name"), Area._meta.get_field("code"),
            Technician._meta.get_field("employee_no"), user._meta.get_field("first_name"),
            user._meta.get_field("last_name"), user._meta.get_field("username")]


def order_list_page(user: Any, filters: dict[str, Any], *, descending: bool,
                    cursor: str | None, page_size: int | None) -> Page:
    """One page of GET /work-orders/ for this caller: rows of ``LIST_COLUMNS`` (tuples),
    newest first or oldest first, after ``cursor`` (keyset on the id, like ``keyset_page``).

    Hand-written SQL because this is the API's hottest read: the ORM spent more time
    compiling the statement than PostgreSQL spent running it, and models were built for
    every row only to be turned into JSON."""
    size = min(page_size or conf.get("PAGE_SIZE"), conf.get("MAX_PAGE_SIZE"))
    conditions = _order_list_where(user, filters)
    if conditions is None:
        return Page([], None)
    where, params = conditions
    if cursor:
        after = decode_cursor(cursor)
        where = [*where, "w.id < %s" if descending else "w.id > %s"]
        params = [*params, after]
    db = router.db_for_read(WorkOrder)
    with connections[db].cursor() as db_cursor:
        db_cursor.execute(_order_list_sql(where, descending, vendor=connections[db].vendor),
                          [*params, size + 1])
        rows = db_cursor.fetchall()
    connection = connections[db]
    if connection.vendor != "postgresql":  # psycopg's rows are typed already
        plan = plan_for(connection, "api.order_list", _list_fields)
        rows = [tuple(typed(row, plan, connection)) for row in rows]
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, encode_cursor(rows[-1][0]) if more and rows else None)


def orders_for(user: Any, filters: dict[str, Any]) -> QuerySet[WorkOrder]:
    """The same orders as ``order_list_page``, as a queryset (R41 visibility, then the
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
    without compiling the query each time."""
    db = router.db_for_read(Area)
    with connections[db].cursor() as cursor:
        cursor.execute(_select_sql(Area, "code"), [code])
        row = cursor.fetchone()
    if row is None:
        return None
    fields = Area._meta.concrete_fields
    values = typed(row, plan_for(connections[db], "api.area", lambda: fields), connections[db])
    return Area.from_db(db, [f.attname for f in fields], values)


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
    connection = connections[db]
    with connection.cursor() as cursor:
        cursor.execute(_endpoints_sql())
        rows = cursor.fetchall()
    names = [f.attname for f in fields]
    plan = plan_for(connection, "api.webhook_endpoints", lambda: fields)
    return [WebhookEndpoint.from_db(db, names, typed(row, plan, connection)) for row in rows]


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
