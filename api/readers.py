"""The order list and detail read for their serializers: what is read is derived from what
the serializer shows.

The list is the API's hottest read, so it is one hand-built statement rather than the ORM
(the ORM spent more time compiling the statement than PostgreSQL spent running it, and
models were built for every row only to be turned into JSON). Its columns are not written
down: ``ListPlan`` walks ``WorkOrderListItemSerializer``'s field sources (``customer.name``
is the customer table's ``name``, joined) and, for a value a model computes, the columns
``COMPUTED_FROM`` names. A field added to the serializer is read and rendered with no
other change (or, when its source is neither a column nor in ``COMPUTED_FROM``, the list
refuses to start and says so).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import connections, router
from django.db.models import Field, Model
from rest_framework import serializers

from charges import selectors as charges
from fieldops.rawsql import plan_for, prepared_cursor, typed
from inventory import selectors as inventory
from outages.selectors import order_outage
from planning.eta import order_eta
from technicians.models import Area, Technician
from visits.selectors import visit_record
from workorders.access import order_visibility
from workorders.models import Customer, ServiceAccount, State, WorkOrder
from workorders.selectors import allowed_actions

from . import conf, rendering, selectors, sla
from .selectors import Page, decode_cursor, encode_cursor
from .serializers import WorkOrderListItemSerializer

#: Values a model computes rather than stores: (model, attribute) -> (the source paths,
#: from that model, of the columns it needs; the function of their values that gives it).
COMPUTED_FROM: dict[tuple[type[Model], str], tuple[tuple[str, ...], Callable[..., Any]]] = {
    (WorkOrder, "number"): (("id",), WorkOrder.number_for),
    (Technician, "display_name"): (("user.first_name", "user.last_name", "user.username"),
                                   Technician.name_for),
}


@dataclass
class _Join:
    alias: str
    model: type[Model]
    sql: str  # the JOIN clause


class ListPlan:
    """The statement and the renderer of one list serializer over one root model: the
    root's columns are read in a page (its indexes, ``LIMIT``), and the joined tables'
    columns for just those rows."""

    def __init__(self, serializer_class: type[serializers.Serializer],
                 model: type[Model]) -> None:
        self.model = model
        self.page_columns: list[str] = []  # of the root table, in the page
        self.columns: list[tuple[str, Field]] = []  # (select expression, field)
        self._index: dict[tuple[str, ...], int] = {}
        self._joins: dict[tuple[str, ...], _Join] = {}
        self._nullable: dict[tuple[str, ...], bool] = {(): False}
        self.column((model._meta.pk.name,))  # first: the keyset's id
        self._render = {pii: rendering._render_steps(rendering.plan(
            serializer_class(), pii=pii, getter_for=self._getter)) for pii in (False, True)}
        #: Names the row's typing (``fieldops.rawsql.plan_for``): the columns read.
        self.key = "api.list:" + ",".join(expression for expression, _ in self.columns)

    def render(self, rows: list[Any], *, pii: bool) -> list[dict[str, Any]]:
        """The rows as the serializer shows them, to a caller who may (``pii``) or may not
        see full phone numbers (R40)."""
        render, tz = self._render[pii], rendering.current_timezone()
        return [render(row, tz) for row in rows]

    # -- columns and joins ------------------------------------------------------------

    def _model_at(self, path: tuple[str, ...]) -> type[Model]:
        """The model reached by following the foreign keys of ``path`` (joined)."""
        model = self.model
        for depth in range(1, len(path) + 1):
            relation = _field(model, path[depth - 1])
            if not (relation.many_to_one or relation.one_to_one) or not relation.concrete:
                raise ImproperlyConfigured(f"{'.'.join(path)}: only foreign keys are joined")
            if path[:depth] not in self._joins:
                parent = self._alias(path[:depth - 1])
                column = self._root_column(relation) if depth == 1 else (
                    f'{parent}."{relation.column}"')
                target = relation.related_model
                alias = f"j{len(self._joins)}"
                nullable = self._nullable[path[:depth - 1]] or relation.null
                self._nullable[path[:depth]] = nullable
                self._joins[path[:depth]] = _Join(alias, target, (
                    f'{"LEFT JOIN" if nullable else "JOIN"} "{target._meta.db_table}" '
                    f'{alias} ON {alias}."{target._meta.pk.column}" = {column}'))
            model = relation.related_model
        return model

    def _alias(self, path: tuple[str, ...]) -> str:
        return "page" if not path else self._joins[path].alias

    def _root_column(self, field: Field) -> str:
        if field.column not in self.page_columns:
            self.page_columns.append(str(field.column))
        return f'page."{field.column}"'

    def column(self, path: tuple[str, ...]) -> int:
        """The index in the row of the stored value at ``path`` (added if new)."""
        if path not in self._index:
            model = self._model_at(path[:-1])
            field = _field(model, path[-1])
            if not field.concrete or field.many_to_many or field.one_to_many:
                raise ImproperlyConfigured(f"{'.'.join(path)} is not a column; add it to "
                                           f"api.readers.COMPUTED_FROM")
            expression = (self._root_column(field) if len(path) == 1
                          else f'{self._alias(path[:-1])}."{field.column}"')
            self._index[path] = len(self.columns)
            self.columns.append((expression, field))
        return self._index[path]

    def _getter(self, field: serializers.Field,
                path: tuple[str, ...]) -> Callable[[Any], Any] | None:
        """For a field over ``path``: its value in a row (for a nested serializer, the row
        itself, or None when the foreign key is null)."""
        if isinstance(field, serializers.ListSerializer):
            raise ImproperlyConfigured(f"{'.'.join(path)}: a list can't come from one row")
        if isinstance(field, serializers.BaseSerializer):
            if not path:
                return _row
            model = self._model_at(path[:-1])
            relation = _field(model, path[-1])
            self._model_at(path)
            index = self.column((*path[:-1], relation.attname))
            return (lambda row: None if row[index] is None else row) if (
                self._nullable[path]) else _row
        owner = self._model_at(path[:-1])
        computed = COMPUTED_FROM.get((owner, path[-1]))
        if computed is not None:
            sources, function = computed
            indexes = tuple(self.column((*path[:-1], *source.split(".")))
                            for source in sources)
            if len(indexes) == 1:
                only = indexes[0]
                return lambda row: function(row[only])
            return lambda row: function(*[row[i] for i in indexes])
        return itemgetter(self.column(path))

    # -- the statement ------------------------------------------------------------------

    def sql(self, where: list[str], descending: bool, *, vendor: str) -> str:
        """The page first (one table, its indexes, ``LIMIT``), then the names joined to just
        those rows: joining before the limit made PostgreSQL plan and join every match.
        (``MATERIALIZED`` is PostgreSQL's fence; older SQLite builds don't know the word.)"""
        direction = "DESC" if descending else "ASC"
        fence = "MATERIALIZED " if vendor == "postgresql" else ""
        pk = self.model._meta.pk.column
        page = ", ".join(f'w."{c}"' for c in self.page_columns)
        select = ", ".join(expression for expression, _ in self.columns)
        joins = " ".join(join.sql for join in self._joins.values())
        return (f'WITH page AS {fence}(SELECT {page} FROM "{self.model._meta.db_table}" w '
                f"WHERE {' AND '.join(where) or 'TRUE'} "
                f'ORDER BY w."{pk}" {direction} LIMIT %s) '
                f"SELECT {select} FROM page {joins} "
                f'ORDER BY page."{pk}" {direction}')


def _row(row: Any) -> Any:
    return row


def _field(model: type[Model], name: str) -> Any:
    try:
        return model._meta.pk if name == "pk" else model._meta.get_field(name)
    except FieldDoesNotExist:
        if (model, name) in COMPUTED_FROM:
            raise ImproperlyConfigured(f"{model.__name__}.{name} is computed: it can only "
                                       f"be shown, not joined through") from None
        raise ImproperlyConfigured(f"{model.__name__}.{name} is not a column; add it to "
                                   f"api.readers.COMPUTED_FROM") from None


@functools.cache
def order_list_plan() -> ListPlan:
    return ListPlan(WorkOrderListItemSerializer, WorkOrder)


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


def order_list_page(user: Any, filters: dict[str, Any], *, descending: bool,
                    cursor: str | None, page_size: int | None,
                    plan: ListPlan | None = None) -> Page:
    """One page of GET /work-orders/ for this caller: rows (tuples, as ``plan`` reads them,
    by default ``order_list_plan()``; render them with its ``render``), newest first or
    oldest first, after ``cursor`` (keyset on the id, like ``selectors.keyset_page``)."""
    size = min(page_size or conf.get("PAGE_SIZE"), conf.get("MAX_PAGE_SIZE"))
    conditions = _order_list_where(user, filters)
    if conditions is None:
        return Page([], None)
    where, params = conditions
    if cursor:
        after = decode_cursor(cursor)
        where = [*where, "w.id < %s" if descending else "w.id > %s"]
        params = [*params, after]
    plan = plan or order_list_plan()
    connection = connections[router.db_for_read(WorkOrder)]
    # Planned once per connection (a prepared statement per shape of filters): planning
    # the page cost PostgreSQL more than reading it.
    with prepared_cursor(connection) as db_cursor:
        db_cursor.execute(plan.sql(where, descending, vendor=connection.vendor),
                          [*params, size + 1])
        rows = db_cursor.fetchall()
    if connection.vendor != "postgresql":  # psycopg's rows are typed already
        types = plan_for(connection, plan.key,
                         lambda: [field for _, field in plan.columns])
        rows = [tuple(typed(row, types, connection)) for row in rows]
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, encode_cursor(rows[-1][0]) if more and rows else None)


# --- The detail -------------------------------------------------------------------------

def _sign_off(order: WorkOrder) -> dict[str, Any] | None:
    """R26: the newest signature, and whether it and all it covers are unchanged."""
    signature = order.signatures.order_by("-signed_at", "-id").first()
    if signature is None:
        return None
    return {"signed_at": signature.signed_at, "method": signature.method,
            "rating": signature.rating,
            "seal_intact": signature.seal_valid and signature.content_intact}


class OrderDetail:
    """The order as ``WorkOrderDetailSerializer`` reads it: the order's own attributes, and
    alongside them what this caller may do now, the current appointment and the SLA."""

    __slots__ = ("actions", "allowed_actions", "appointment", "charges", "checklist",
                 "equipment", "eta", "materials", "order", "outage", "sign_off", "sla",
                 "test_results")

    def __init__(self, order: WorkOrder, *, allowed: list[str],
                 actions: list[dict[str, str]]) -> None:
        self.order = order
        self.allowed_actions = allowed
        self.actions = actions
        self.appointment = selectors.current_appointment(order)
        self.sla = sla.order_sla(order)
        # R54: the known outage of a repair ("known outage, ETA 16:00"); at intake the
        # outages' handler left its match on the order, so nothing more is read.
        self.outage = order_outage(order)
        self.eta = order_eta(order)  # "where is my technician"
        # R45, R46: recorded on site only; an accepted order has never been visited (no
        # transition leads back to it), so intake's answer reads nothing more.
        visited = order.state != State.ACCEPTED
        self.equipment = inventory.order_equipment(order) if visited else []
        self.materials = inventory.order_materials(order) if visited else []
        # The visit's checklist and measured results (R43-R49); empty before the visit.
        self.checklist, self.test_results = visit_record(order)
        # R47: the fee lines, their total and the payment's time; none before the visit.
        self.charges = (charges.summary(order) if visited else
                        {"lines": [], "total": charges.ZERO, "paid": charges.ZERO,
                         "paid_at": None})
        self.sign_off = _sign_off(order) if visited else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.order, name)


def order_detail(order: WorkOrder, user: Any,
                 links: Callable[[WorkOrder, Any, list[str]], list[dict[str, str]]]
                 ) -> OrderDetail:
    """``order`` for this caller's detail; ``links`` gives the API actions the caller may
    POST, from the transitions they may fire."""
    allowed = allowed_actions(order, user)
    return OrderDetail(order, allowed=allowed, actions=links(order, user, allowed))
