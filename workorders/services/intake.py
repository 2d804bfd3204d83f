"""Intake and dispatch: an order is taken from any channel (R1, R3), handed to a technician
(R4), accepted with its resources checked (R5, R6), or resolved on the phone (R2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, router, transaction
from django.utils.translation import gettext as _

from fieldops import clock
from fieldops.bulk import row_insert_sql
from technicians.models import Area, Technician

from .. import selectors
from ..errors import IllegalTransition, NoTechnicianAvailable, RuleViolation
from ..events import OrderAction
from ..lifecycle import (
    User,
    allowed_for,
    new_event,
    precheck,
    publish_event,
    record_event,
    require,
    require_fits,
    transition,
)
from ..models import (
    Assignment,
    Customer,
    CustomerClass,
    Kind,
    ServiceAccount,
    WorkOrder,
    WorkOrderEvent,
)


def work_order_create(
    *, by: User, channel: str, kind: str, service: str, access_type: str,
    customer_name: str, contact_phone: str, address: str, area: Area,
    customer_class: str = CustomerClass.STANDARD, account_number: str = "",
    alt_phone: str = "", symptoms: str = "", fault_started_at: dt.datetime | None = None,
    preferred_day: dt.date | None = None, external_ref: str = "", notes: str = "",
) -> WorkOrder:
    """Take a request from any channel (R1) with its first appointment to the day (R3)."""
    require(customer_name, _("Give the customer's name."), field="customer_name")
    require(contact_phone, _("Give a contact phone number."), field="contact_phone")
    require(address, _("Give the address of the visit."), field="address")
    if kind == Kind.REPAIR:
        require(symptoms, _("Describe the fault symptoms for a repair order."),
                 field="symptoms")
    today = clock.today_local()
    if preferred_day is None:
        if kind != Kind.REPAIR:
            raise RuleViolation(
                _("Agree the day of the first visit with the customer (R3)."),
                field="preferred_day", rule="R3")
        preferred_day = today  # a repair is wanted as soon as possible
    if preferred_day < today:
        raise RuleViolation(
            _("The preferred day %(day)s is in the past; agree a day from today on (R3).")
            % {"day": preferred_day.isoformat()},
            field="preferred_day", rule="R3")

    # No savepoint when called inside a transaction (the API's idempotent intake): an
    # error here rolls back the caller's whole transaction anyway.
    with transaction.atomic(savepoint=False):
        now = clock.now()
        order = WorkOrder(
            kind=kind, service=service, access_type=access_type, channel=channel,
            customer_class=customer_class, contact_phone=contact_phone, address=address,
            area=area, symptoms=symptoms, fault_started_at=fault_started_at,
            preferred_day=preferred_day, external_ref=external_ref, notes=notes,
            created_at=now, updated_at=now, created_by=by,
        )
        payload = {"channel": channel, "kind": kind,
                   "preferred_day": preferred_day.isoformat()}
        if not account_number and connection.vendor == "postgresql":
            # The common case, a customer without an account: the customer found or added,
            # the order and its first event in one statement (one round trip, not four).
            row = _write_intake(order, by=by, at=now, payload=payload, customer=Customer(
                phone=contact_phone, name=customer_name, alt_phone=alt_phone,
                customer_class=customer_class, created_at=now))
        else:
            order.customer, order.account = _customer_and_account(
                account_number=account_number, contact_phone=contact_phone,
                customer_name=customer_name, alt_phone=alt_phone,
                customer_class=customer_class, address=address, area=area, service=service,
                access_type=access_type)
            order.save(force_insert=True)
            row = new_event(order=order, by=by, action=OrderAction.CREATE, from_state="",
                            to_state=order.state, at=now, payload=payload)
            row.save(force_insert=True)
        # The first booking to the day (R3) is written by the bookings' handler of this
        # event (appointments.handlers).
        publish_event(row)
    return order


def _customer_and_account(*, account_number: str, contact_phone: str, customer_name: str,
                          alt_phone: str, customer_class: str, address: str, area: Area,
                          service: str, access_type: str
                          ) -> tuple[Customer, ServiceAccount | None]:
    account = None
    if account_number:
        account = ServiceAccount.objects.select_related("customer").filter(
            number=account_number).first()
    if account is not None:
        return account.customer, account
    # Not get_or_create: two intakes for one new customer at the same moment may both
    # create a row, and get() would then fail for every later order.
    found = (Customer.objects.filter(phone=contact_phone, name=customer_name)
             .order_by("pk").first())
    customer = found or Customer.objects.create(
        phone=contact_phone, name=customer_name, alt_phone=alt_phone,
        customer_class=customer_class)
    if account_number:
        account = ServiceAccount.objects.create(
            number=account_number, customer=customer, address=address, area=area,
            service=service, access_type=access_type)
    return customer, account


def _write_intake(order: WorkOrder, *, by: User, at: dt.datetime, payload: dict[str, Any],
                  customer: Customer) -> WorkOrderEvent:
    """PostgreSQL: the customer (the oldest with this phone and name, else ``customer``
    added), ``order`` and its ``create`` event written by one statement of data-modifying
    ``WITH``s. Same rows and the same race as two intakes' separate look-up and insert
    (two racing intakes for one new customer may both add one; ``customer_merge`` folds
    them). ``order`` gets its id and customer; the event row is returned, not yet
    published."""
    using = router.db_for_write(WorkOrder) or DEFAULT_DB_ALIAS
    quote = connection.ops.quote_name
    meta = Customer._meta
    lookup = (customer.phone, customer.name)  # as given (saving normalizes the phone)
    names = [f.attname for f in meta.concrete_fields]
    columns = ", ".join(quote(str(f.column)) for f in meta.concrete_fields)
    table, new_columns, values, customer_params = row_insert_sql(customer, using, cast=True)
    # The order's customer id and the event's order id come from the statement's own rows.
    order_table, order_columns, order_values, order_params = row_insert_sql(
        order, using, expressions={"customer_id": "(SELECT id FROM customer)"})
    row = new_event(order=order, by=by, action=OrderAction.CREATE, from_state="",
                    to_state=order.state, at=at, payload=payload)
    event_table, event_columns, event_values, event_params = row_insert_sql(
        row, using, expressions={"order_id": "(SELECT id FROM new_order)"})
    sql = (f"WITH found AS (SELECT {columns} FROM {table} WHERE {quote('phone')} = %s "
           f"AND {quote('name')} = %s ORDER BY {quote('id')} LIMIT 1), "
           f"made AS (INSERT INTO {table} ({new_columns}) SELECT {values} "
           f"WHERE NOT EXISTS (SELECT 1 FROM found) RETURNING {columns}), "
           f"customer AS (SELECT * FROM found UNION ALL SELECT * FROM made), "
           f"new_order AS (INSERT INTO {order_table} ({order_columns}) "
           f"VALUES ({order_values}) RETURNING id), "
           f"new_event AS (INSERT INTO {event_table} ({event_columns}) "
           f"VALUES ({event_values}) RETURNING id, order_id) "
           f"SELECT customer.*, new_event.order_id, new_event.id "
           f"FROM customer CROSS JOIN new_event")
    params = (*lookup, *customer_params, *order_params, *event_params)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        *values_read, order_id, event_id = cursor.fetchone()
    found = Customer.from_db(using, names, values_read)
    for instance, pk in ((order, order_id), (row, event_id)):
        instance.pk = pk
        instance._state.adding, instance._state.db = False, using
    order.customer = found
    row.order = order
    return row
    return order


def customer_merge(*, keep: Customer, duplicates: Iterable[Customer], by: User) -> int:
    """Fold duplicate customer records into ``keep`` (racing intakes, R1, can create two
    rows for one new customer): their service accounts and orders move to ``keep``, a
    second phone ``keep`` lacks is taken over, and the duplicates are deleted. Every moved
    order gets a new version (its ETag changes) and a ``merge_customer`` event in its log
    (R42). Returns how many orders moved."""
    others = sorted({c.pk for c in duplicates} - {keep.pk})
    if not others:
        raise RuleViolation(_("Choose at least one other customer to merge into %(name)s.")
                            % {"name": keep.name})
    with transaction.atomic():
        rows = {c.pk: c for c in Customer.objects.select_for_update()
                .filter(pk__in=[keep.pk, *others]).order_by("pk")}
        if keep.pk not in rows or len(rows) != len(others) + 1:
            raise RuleViolation(_("One of these customers was merged or deleted meanwhile; "
                                  "reload the list and try again."))
        kept = rows[keep.pk]
        if not kept.alt_phone:
            phones = (rows[pk].alt_phone or rows[pk].phone for pk in others)
            kept.alt_phone = next((p for p in phones if p != kept.phone), "")
            kept.save(update_fields=["alt_phone"])
        ServiceAccount.objects.filter(customer_id__in=others).update(customer=kept)
        now = clock.now()
        orders = list(WorkOrder.objects.select_for_update(no_key=True, of=("self",))
                      .filter(customer_id__in=others).order_by("pk"))
        for order in orders:
            merged_from = order.customer_id
            order.customer = kept
            order.version += 1
            order.updated_at = now
            order.save(update_fields=["customer", "version", "updated_at"])
            record_event(order=order, by=by, action=OrderAction.MERGE_CUSTOMER,
                         from_state=order.state,
                         to_state=order.state, at=now,
                         reason=_("Duplicate customer record merged into %(name)s.")
                         % {"name": kept.name},
                         payload={"from_customer": merged_from, "to_customer": kept.pk})
        Customer.objects.filter(pk__in=others).delete()
    return len(orders)


def start_assignment(order: WorkOrder, technician: Technician, *, by: User, now: dt.datetime,
                      automatic: bool, reason: str) -> None:
    Assignment.objects.filter(order=order, ended_at__isnull=True).update(ended_at=now)
    Assignment.objects.create(order=order, technician=technician, assigned_at=now,
                              assigned_by=by, automatic=automatic, reason=reason)


def why_not(order: WorkOrder, technician: Technician) -> str | None:
    """R4: why ``technician`` cannot take ``order`` (off duty, another area, a missing skill
    or access type), or None. A dispatcher's choice may go beyond daily capacity; the rest
    holds for every way of dispatching (desk, API, console)."""
    if not (technician.is_active and technician.user.is_active):
        return _("%(name)s is not on duty.") % {"name": technician.display_name}
    # ``.all()``: answered from a prefetch when the caller made one (the ranking does).
    if order.area_id not in {area.pk for area in technician.areas.all()}:
        return (_("%(name)s does not serve area %(area)s.")
                % {"name": technician.display_name, "area": order.area})
    skills = {skill.code for skill in technician.skills.all()}
    missing = [label for code, label in ((order.kind, order.get_kind_display()),
                                         (order.service, order.get_service_display()))
               if code not in skills]
    if order.access_type not in {skill.code for skill in technician.access_types.all()}:
        missing.append(order.get_access_type_display())
    if missing:
        return (_("%(name)s lacks the skills for this order: %(skills)s.")
                % {"name": technician.display_name, "skills": ", ".join(map(str, missing))})
    return None


def choose_technician(order: WorkOrder, technician: Technician | None, *,
            exclude: Iterable[int] = ()) -> tuple[Technician, bool]:
    if technician is not None:
        refused = why_not(order, technician)
        if refused:
            raise RuleViolation(refused + " " + _("Choose another technician (R4)."),
                                field="technician", rule="R4")
        return technician, False
    chosen = selectors.pick_technician(order, exclude=exclude)
    if chosen is None:
        raise NoTechnicianAvailable(
            _("No technician on duty serves area %(area)s with the skills for this %(kind)s "
              "order (%(service)s, %(access)s) and free capacity. Choose one by hand or "
              "add capacity.")
            % {"area": order.area, "kind": order.get_kind_display(),
               "service": order.get_service_display(),
               "access": order.get_access_type_display()})
    return chosen, True


def work_order_dispatch(*, order: WorkOrder, by: User, technician: Technician | None = None,
                        reason: str = "") -> WorkOrder:
    """R4: assign to ``technician``, or automatically by area, skill and load. Also
    re-dispatches an order that came back for missing resources (R6)."""
    precheck(order, OrderAction.DISPATCH, by)
    require_fits(reason, Assignment, "reason", field="reason", rule="R4")
    chosen, automatic = choose_technician(order, technician)

    def after(locked: WorkOrder, now: dt.datetime) -> None:
        start_assignment(locked, chosen, by=by, now=now, automatic=automatic, reason=reason)

    return transition(order, OrderAction.DISPATCH, by=by, reason=reason, after=after,
                       payload={"technician": chosen.pk, "automatic": automatic},
                       technician=chosen, at=None)


def work_order_reassign(*, order: WorkOrder, by: User, technician: Technician | None = None,
                        reason: str) -> WorkOrder:
    """R4: hand the order to another technician; the assignment history is kept."""
    precheck(order, OrderAction.REASSIGN, by)
    require(reason, _("Say why the order is reassigned."), field="reason", rule="R4")
    require_fits(reason, Assignment, "reason", field="reason", rule="R4")
    exclude = [order.technician_id] if order.technician_id else []
    chosen, automatic = choose_technician(order, technician, exclude=exclude)
    if chosen.pk == order.technician_id:
        raise RuleViolation(_("The order is already with %(name)s; choose someone else.")
                            % {"name": chosen.display_name}, field="technician", rule="R4")

    def after(locked: WorkOrder, now: dt.datetime) -> None:
        start_assignment(locked, chosen, by=by, now=now, automatic=automatic, reason=reason)

    return transition(order, OrderAction.REASSIGN, by=by, reason=reason, after=after,
                       payload={"technician": chosen.pk, "previous": order.technician_id,
                                "automatic": automatic},
                       technician=chosen, at=None)


def work_order_unassign(*, order: WorkOrder, by: User, reason: str) -> WorkOrder:
    """R4: the dispatcher takes a dispatched or accepted order off its technician, back to
    the queue to be dispatched again; the assignment history keeps who held it. The contact
    promise (R7) was the technician's and is cancelled with it (SLA rules' ``cancel_on``);
    the next dispatch starts it again. Once the customer was reached, a booking hangs on the
    technician and only a reassignment hands it on."""
    if order.technician_id is None:
        raise IllegalTransition(order, OrderAction.UNASSIGN, allowed_for(order, by))
    precheck(order, OrderAction.UNASSIGN, by)
    require(reason, _("Say why the order goes back to the queue."), field="reason", rule="R4")

    def after(locked: WorkOrder, now: dt.datetime) -> None:
        Assignment.objects.filter(order=locked, ended_at__isnull=True).update(ended_at=now)

    return transition(order, OrderAction.UNASSIGN, by=by, reason=reason, after=after,
                      payload={"previous": order.technician_id})


def work_order_accept(*, order: WorkOrder, by: User) -> WorkOrder:
    """R5: the technician accepts at once."""
    return transition(order, OrderAction.ACCEPT, by=by)


def work_order_confirm_resources(*, order: WorkOrder, by: User) -> WorkOrder:
    """R5: line and port resources exist at the address."""
    return transition(order, OrderAction.CONFIRM_RESOURCES, by=by, at=None)


def work_order_report_no_resources(*, order: WorkOrder, by: User, reason: str) -> WorkOrder:
    """R6: back to dispatch flagged "no resources"; the SLA clock pauses."""
    require(reason, _("Say which resource is missing (line, port, cabinet...)."),
             field="reason", rule="R6")
    return transition(order, OrderAction.REPORT_NO_RESOURCES, by=by, reason=reason)


def work_order_resolve_remotely(*, order: WorkOrder, by: User, resolution: str) -> WorkOrder:
    """R2: the call-centre fixed it on the phone; its own outcome, no visit."""
    require(resolution, _("Say how the fault was resolved remotely."),
             field="resolution", rule="R2")
    return transition(order, OrderAction.RESOLVE_REMOTELY, by=by, reason=resolution, at=None)

