"""Every write to a work order goes through a function here.

Each one follows the same steps (see ``_transition``): lock the row, check that
nobody changed it since the caller read it, check the transition is allowed
from the current state and by this user, apply it, save, append the event
(R42), and queue side effects with ``transaction.on_commit``. Admin actions,
API views, technician pages and Celery tasks call these functions; none of them
sets a state itself.

``by`` is the acting user, or ``None`` when the product acts by itself (a
periodic task, a rule that fires inside another service).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from appointments import rules as appointment_rules
from appointments.models import Appointment, AppointmentStatus, Precision
from dashboards.services import order_fact_mark_stale
from fieldops import clock
from sla.engine import on_order_event
from technicians.models import Area, AreaType, Technician

from . import selectors
from .errors import (
    ConcurrentModification,
    IllegalTransition,
    NoTechnicianAvailable,
    NotPermitted,
    RuleViolation,
)
from .kit import required_kit
from .models import (
    REPORT_FIELDS,
    Assignment,
    CompletionReport,
    Consent,
    ContactAttempt,
    Customer,
    CustomerClass,
    FaultCause,
    Kind,
    Photo,
    ServiceAccount,
    Signature,
    SignOffCode,
    SignOffMethod,
    State,
    WorkOrder,
    WorkOrderEvent,
    report_hash,
)

User = Any  # an AUTH_USER_MODEL instance, or None for the system

#: R19: this many bookings refused or not kept by the customer make the order abnormal.
ABNORMAL_AFTER_CUSTOMER_MISSES = 2


# --- The common machinery --------------------------------------------------

def actor_label(by: User) -> str:
    if by is None:
        return "system"
    return by.get_full_name() or by.get_username()


def record_event(*, order: WorkOrder, by: User, action: str, from_state: str, to_state: str,
                 reason: str = "", payload: dict[str, Any] | None = None,
                 at: dt.datetime | None = None) -> WorkOrderEvent:
    """Append one row to the order's event log (R42), let the SLA timers follow the event
    (R38) and mark the order's dashboard figures for their next refresh (R39), all in the
    same transaction. Call inside the change's transaction."""
    at = at or clock.now()
    on_order_event(order=order, action=action, at=at)
    event = WorkOrderEvent.objects.create(
        order=order, at=at, actor=by, actor_label=actor_label(by),
        action=action, from_state=from_state, to_state=to_state, reason=reason,
        payload=payload or {},
    )
    order_fact_mark_stale(order.pk)  # the supervisors' figures follow the order (R39)
    return event


def _lock(order: WorkOrder) -> WorkOrder:
    """Re-read the order under a row lock and refuse if it changed since the caller read it.

    Compare-and-swap on ``version``: two dispatchers acting on the same order at once
    both pass their own read, but only the first to take the lock finds its version
    current; the second gets ``ConcurrentModification`` instead of silently acting on
    a state it never saw.
    """
    locked = (WorkOrder.objects.select_for_update(of=("self",))
              .select_related("technician", "area").get(pk=order.pk))
    if locked.version != order.version:
        raise ConcurrentModification(locked, order.version)
    return locked


def _allowed_for(order: WorkOrder, by: User) -> list[str]:
    if by is None:
        return [t.name for t in order.get_available_state_transitions()]  # type: ignore[attr-defined]
    return selectors.allowed_actions(order, by)


def _transition(order: WorkOrder, action: str, *, by: User, reason: str = "",
                payload: dict[str, Any] | None = None,
                after: Callable[[WorkOrder, dt.datetime], None] | None = None,
                **kwargs: Any) -> WorkOrder:
    """Guard, lock, transition, save, log. Returns the updated order.

    ``after(locked, now)`` writes related rows in the same transaction, inside the atomic
    block, so a refusal anywhere leaves nothing half-written.
    """
    with transaction.atomic():
        locked = _lock(order)
        _check_allowed(locked, action, by)
        method = getattr(locked, action)
        now = clock.now()
        from_state = locked.state
        if "at" in kwargs and kwargs["at"] is None:
            kwargs["at"] = now
        method(**kwargs)
        locked.version += 1
        locked.updated_at = now
        try:
            locked.save()
        except ConcurrentTransition as exc:  # a writer that bypassed the row lock
            raise ConcurrentModification(locked, order.version) from exc
        if after is not None:
            after(locked, now)
        if locked.is_terminal:  # closed, cancelled, resolved: nobody holds it any more
            Assignment.objects.filter(order=locked, ended_at__isnull=True).update(ended_at=now)
        record_event(order=locked, by=by, action=action, from_state=from_state,
                     to_state=locked.state, reason=reason, payload=payload, at=now)
    return locked


def _check_allowed(order: WorkOrder, action: str, by: User) -> None:
    """Fail fast, before any other work, when the action can't be fired now. ``_transition``
    checks again under the row lock; this only gives the right error first."""
    method = getattr(order, action)
    if not can_proceed(method):
        raise IllegalTransition(order, action, _allowed_for(order, by))
    if by is not None and not has_transition_perm(method, by):
        raise NotPermitted(
            _("You may not %(action)s order %(number)s.")
            % {"action": action, "number": order.number},
            action=action, allowed_actions=_allowed_for(order, by),
        )


def _precheck(order: WorkOrder, action: str, by: User) -> None:
    """For services that do work (like choosing a technician) before ``_transition``:
    refuse a stale copy or an impossible action first, with the error that explains it."""
    if not WorkOrder.objects.filter(pk=order.pk, version=order.version).exists():
        raise ConcurrentModification(WorkOrder.objects.get(pk=order.pk), order.version)
    _check_allowed(order, action, by)


def _require(value: Any, message: str, *, field: str, rule: str = "") -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RuleViolation(message, field=field, rule=rule)


def _day_window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    return start, start + dt.timedelta(days=1)


# --- Intake ----------------------------------------------------------------

def work_order_create(
    *, by: User, channel: str, kind: str, service: str, access_type: str,
    customer_name: str, contact_phone: str, address: str, area: Area,
    customer_class: str = CustomerClass.STANDARD, account_number: str = "",
    alt_phone: str = "", symptoms: str = "", fault_started_at: dt.datetime | None = None,
    preferred_day: dt.date | None = None, external_ref: str = "", notes: str = "",
) -> WorkOrder:
    """Take a request from any channel (R1) with its first appointment to the day (R3)."""
    _require(customer_name, _("Give the customer's name."), field="customer_name")
    _require(contact_phone, _("Give a contact phone number."), field="contact_phone")
    _require(address, _("Give the address of the visit."), field="address")
    if kind == Kind.REPAIR:
        _require(symptoms, _("Describe the fault symptoms for a repair order."),
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
        account = None
        if account_number:
            account = ServiceAccount.objects.select_related("customer").filter(
                number=account_number).first()
        if account is not None:
            customer = account.customer
        else:
            # Not get_or_create: two intakes for one new customer at the same moment may
            # both create a row, and get() would then fail for every later order.
            found = (Customer.objects.filter(phone=contact_phone, name=customer_name)
                     .order_by("pk").first())
            customer = found or Customer.objects.create(
                phone=contact_phone, name=customer_name, alt_phone=alt_phone,
                customer_class=customer_class)
            if account_number:
                account = ServiceAccount.objects.create(
                    number=account_number, customer=customer, address=address, area=area,
                    service=service, access_type=access_type)
        order = WorkOrder.objects.create(
            kind=kind, service=service, access_type=access_type, channel=channel,
            customer_class=customer_class, customer=customer, account=account,
            contact_phone=contact_phone, address=address, area=area, symptoms=symptoms,
            fault_started_at=fault_started_at, preferred_day=preferred_day,
            external_ref=external_ref, notes=notes, created_at=now, updated_at=now,
            created_by=by,
        )
        start, end = _day_window(preferred_day)
        booking = Appointment.objects.create(
            order=order, start=start, end=end, precision=Precision.DAY, booked_at=now,
            booked_by=by, reason=_("First booking at intake (R3)"))
        # The order's bookings, newest first, as api.selectors.order_for prefetches them:
        # the API's answer to the intake shows this one without asking for it again.
        order.appointment_rows = [booking]
        record_event(order=order, by=by, action="create", from_state="",
                     to_state=order.state, at=now,
                     payload={"channel": channel, "kind": kind,
                              "preferred_day": preferred_day.isoformat()})
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
        orders = list(WorkOrder.objects.select_for_update(of=("self",))
                      .filter(customer_id__in=others).order_by("pk"))
        for order in orders:
            merged_from = order.customer_id
            order.customer = kept
            order.version += 1
            order.updated_at = now
            order.save(update_fields=["customer", "version", "updated_at"])
            record_event(order=order, by=by, action="merge_customer", from_state=order.state,
                         to_state=order.state, at=now,
                         reason=_("Duplicate customer record merged into %(name)s.")
                         % {"name": kept.name},
                         payload={"from_customer": merged_from, "to_customer": kept.pk})
        Customer.objects.filter(pk__in=others).delete()
    return len(orders)


# --- Dispatch (R4) ---------------------------------------------------------

def _start_assignment(order: WorkOrder, technician: Technician, *, by: User, now: dt.datetime,
                      automatic: bool, reason: str) -> None:
    Assignment.objects.filter(order=order, ended_at__isnull=True).update(ended_at=now)
    Assignment.objects.create(order=order, technician=technician, assigned_at=now,
                              assigned_by=by, automatic=automatic, reason=reason)


def _choose(order: WorkOrder, technician: Technician | None, *,
            exclude: Iterable[int] = ()) -> tuple[Technician, bool]:
    if technician is not None:
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
    _precheck(order, "dispatch", by)
    chosen, automatic = _choose(order, technician)

    def after(locked: WorkOrder, now: dt.datetime) -> None:
        _start_assignment(locked, chosen, by=by, now=now, automatic=automatic, reason=reason)

    return _transition(order, "dispatch", by=by, reason=reason, after=after,
                       payload={"technician": chosen.pk, "automatic": automatic},
                       technician=chosen, at=None)


def work_order_reassign(*, order: WorkOrder, by: User, technician: Technician | None = None,
                        reason: str) -> WorkOrder:
    """R4: hand the order to another technician; the assignment history is kept."""
    _precheck(order, "reassign", by)
    _require(reason, _("Say why the order is reassigned."), field="reason", rule="R4")
    exclude = [order.technician_id] if order.technician_id else []
    chosen, automatic = _choose(order, technician, exclude=exclude)
    if chosen.pk == order.technician_id:
        raise RuleViolation(_("The order is already with %(name)s; choose someone else.")
                            % {"name": chosen.display_name}, field="technician", rule="R4")

    def after(locked: WorkOrder, now: dt.datetime) -> None:
        _start_assignment(locked, chosen, by=by, now=now, automatic=automatic, reason=reason)

    return _transition(order, "reassign", by=by, reason=reason, after=after,
                       payload={"technician": chosen.pk, "previous": order.technician_id,
                                "automatic": automatic},
                       technician=chosen, at=None)


# --- The technician takes the order ------------------------------------------

def work_order_accept(*, order: WorkOrder, by: User) -> WorkOrder:
    """R5: the technician accepts at once."""
    return _transition(order, "accept", by=by)


def work_order_confirm_resources(*, order: WorkOrder, by: User) -> WorkOrder:
    """R5: line and port resources exist at the address."""
    return _transition(order, "confirm_resources", by=by, at=None)


def work_order_report_no_resources(*, order: WorkOrder, by: User, reason: str) -> WorkOrder:
    """R6: back to dispatch flagged "no resources"; the SLA clock pauses."""
    _require(reason, _("Say which resource is missing (line, port, cabinet...)."),
             field="reason", rule="R6")
    return _transition(order, "report_no_resources", by=by, reason=reason)


def work_order_resolve_remotely(*, order: WorkOrder, by: User, resolution: str) -> WorkOrder:
    """R2: the call-centre fixed it on the phone; its own outcome, no visit."""
    _require(resolution, _("Say how the fault was resolved remotely."),
             field="resolution", rule="R2")
    return _transition(order, "resolve_remotely", by=by, reason=resolution, at=None)


# --- Contact (R7, R8) ----------------------------------------------------------

#: States in which a contact attempt may be logged.
CONTACT_STATES = frozenset({State.TAKEN, State.CONTACTED, State.SCHEDULED, State.PREPARED,
                            State.EN_ROUTE, State.NOBODY_HOME, State.AWAITING_REVISIT,
                            State.REWORK})


def work_order_log_contact(*, order: WorkOrder, by: User, channel: str, outcome: str,
                           note: str = "") -> tuple[WorkOrder, ContactAttempt]:
    """R7: log every attempt to reach the customer. The first one that reaches the
    customer moves a taken order to contacted. R8: a call that does not get through sends
    the customer an SMS with the technician's name and number (at most one a day)."""
    reached = outcome == ContactAttempt.Outcome.REACHED

    def log(locked: WorkOrder, now: dt.datetime) -> None:
        attempt = ContactAttempt.objects.create(
            order=locked, technician=locked.technician, at=now, channel=channel,
            outcome=outcome, note=note)
        if channel == ContactAttempt.Channel.PHONE and outcome in UNANSWERED_OUTCOMES:
            attempt.sms_sent = _sms_missed_call(locked, now)
            if attempt.sms_sent:
                attempt.save(update_fields=["sms_sent"])
        attempts.append(attempt)

    attempts: list[ContactAttempt] = []
    payload = {"channel": channel, "outcome": outcome}
    if reached and order.state == State.TAKEN:
        order = _transition(order, "contact", by=by, reason=note, payload=payload, after=log)
        return order, attempts[0]

    with transaction.atomic():
        locked = _lock(order)
        if locked.state not in CONTACT_STATES:
            raise IllegalTransition(locked, "log_contact", _allowed_for(locked, by))
        if by is not None and not (by.is_superuser
                                   or (locked.technician and locked.technician.user_id == by.pk)):
            raise NotPermitted(_("Only the order's technician logs contact attempts (R41)."))
        now = clock.now()
        log(locked, now)
        record_event(order=locked, by=by, action="log_contact", from_state=locked.state,
                     to_state=locked.state, reason=note, payload=payload, at=now)
    return locked, attempts[0]


# --- Booking (R9-R12) ----------------------------------------------------------

def work_order_schedule(*, order: WorkOrder, by: User, start: dt.datetime, end: dt.datetime,
                        precision: str = Precision.EXACT, chosen_by_customer: bool = True,
                        reason: str = "", customer_asked: bool = False,
                        change_request: Any = None, allow_clash: bool = True) -> WorkOrder:
    """R9: book the visit at the time the customer chose (R10). A booked order is moved
    instead: the old appointment is marked moved (who, when, why), never overwritten.
    Half-day bookings are for rural areas only (R11).

    R10: a time that overlaps another of the technician's bookings is flagged in the
    event; with ``allow_clash=False`` (the technician's pages) it is refused, so the
    customer picks another time; nobody else's booking is ever moved. R15: a move we asked for
    (not ``customer_asked``, no ``change_request`` from the customer) with less notice
    than required is a broken promise: it counts as a missed appointment, flags the order
    and tells the supervisor (R16); a second one for the same order is refused. The
    customer gets an SMS with a signed link to confirm or ask for another time."""
    if end <= start:
        raise RuleViolation(_("The appointment must end after it starts."), field="end",
                            rule="R9")
    if start < clock.now():
        raise RuleViolation(_("The appointment starts in the past; choose a later time."),
                            field="start", rule="R9")
    if precision == Precision.HALF_DAY and order.area.area_type != AreaType.RURAL:
        raise RuleViolation(_("Half-day bookings are for rural areas only (R11); book an "
                              "exact time."), field="precision", rule="R11")
    if precision == Precision.DAY:
        raise RuleViolation(_("The technician books an exact time or, in rural areas, a "
                              "half day (R9, R11)."), field="precision", rule="R9")
    moving = order.state in (State.SCHEDULED, State.PREPARED)
    if moving:
        _require(reason, _("Say why the appointment is moved."), field="reason", rule="R15")
    customer_asked = customer_asked or change_request is not None
    clashing = _clashes(order, start, end, refuse=not allow_clash)

    def book(locked: WorkOrder, now: dt.datetime) -> None:
        old = locked.appointments.filter(status=AppointmentStatus.BOOKED).first()
        if old is not None:
            short = (moving and not customer_asked
                     and appointment_rules.is_short_notice(old_start=old.start,
                                                           new_start=start, now=now))
            if short and locked.our_missed_appointments >= 1:
                raise RuleViolation(
                    _("Moving this visit now gives the customer less notice than R15 "
                      "requires, and this customer's appointment was already missed once "
                      "(R16). Keep the appointment, or ask your supervisor."),
                    field="start", rule="R16")
            old.status = AppointmentStatus.MOVED if moving else AppointmentStatus.CANCELLED
            old.closed_at, old.closed_by, old.close_reason = now, by, reason
            old.moved_by_customer = customer_asked if moving else None
            old.short_notice = short
            old.save(update_fields=["status", "closed_at", "closed_by", "close_reason",
                                    "moved_by_customer", "short_notice"])
            if short:
                record_missed_by_us(locked, now, old, reason=reason)
        new = Appointment.objects.create(order=locked, start=start, end=end,
                                         precision=precision,
                                         chosen_by_customer=chosen_by_customer, booked_at=now,
                                         booked_by=by, reason=reason)
        if change_request is not None:
            from appointments.models import ChangeRequest, ChangeRequestStatus

            ChangeRequest.objects.filter(pk=change_request.pk, order=locked).update(
                status=ChangeRequestStatus.REBOOKED, resolved_at=now)
        _sms_booking(locked, new, moved=moving)

    return _transition(order, "reschedule" if moving else "schedule", by=by, reason=reason,
                       after=book,
                       payload={"start": start.isoformat(), "end": end.isoformat(),
                                "precision": precision,
                                "chosen_by_customer": chosen_by_customer,
                                "customer_asked": customer_asked,
                                **({"clashes": clashing} if clashing else {})})


def work_order_park(*, order: WorkOrder, by: User, until: dt.date, reason: str) -> WorkOrder:
    """R12: the customer asks to wait (not home, renovating...). The clock pauses and the
    customer-caused delay is recorded with its reason."""
    _require(reason, _("Record why the customer asks to wait (R12)."), field="reason",
             rule="R12")
    if until <= clock.today_local():
        raise RuleViolation(_("Park until a day after today (R12)."), field="until",
                            rule="R12")
    return _transition(order, "park", by=by, reason=reason,
                       payload={"until": until.isoformat()}, until=until)


def work_order_resume(*, order: WorkOrder, by: User, reason: str = "") -> WorkOrder:
    """R12: the wait is over; the clock resumes."""
    return _transition(order, "resume", by=by, reason=reason)


# --- Preparing and travelling (R13, R20, R21) -------------------------------------

def work_order_confirm_kit(*, order: WorkOrder, by: User, items: Iterable[str]) -> WorkOrder:
    """R20, R21: every item of the kit for this access type is confirmed before leaving."""
    ticked = set(items)
    missing = [label for code, label in required_kit(order.access_type).items()
               if code not in ticked]
    if missing:
        raise RuleViolation(_("Confirm the whole kit before leaving; missing: %(items)s.")
                            % {"items": ", ".join(str(m) for m in missing)},
                            field="items", rule="R20")
    return _transition(order, "confirm_kit", by=by, payload={"items": sorted(ticked)})


def work_order_depart(*, order: WorkOrder, by: User) -> WorkOrder:
    """R13: the technician is on the way; the customer is told by SMS, with the booked
    time and a link to the booking."""
    return _transition(order, "depart", by=by, after=_sms_on_the_way)


def work_order_check_in(*, order: WorkOrder, by: User, latitude: float | None = None,
                        longitude: float | None = None, accuracy: float | None = None,
                        photo: Any = None) -> WorkOrder:
    """R17: check-in with time, location and a photo (the technician's pages require the
    photo; the location is what the browser gave). R14: the booking is marked kept, with
    how far the arrival was from the booked time and whether that was late."""
    payload: dict[str, Any] = {}
    if latitude is not None and longitude is not None:
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise RuleViolation(_("The location is not a valid latitude/longitude."),
                                field="latitude", rule="R17")
        payload = {"latitude": latitude, "longitude": longitude}
        if accuracy is not None:
            payload["accuracy_m"] = round(accuracy)
    image = _prepare_image(photo, field="photo", rule="R17") if photo is not None else None

    def keep(locked: WorkOrder, now: dt.datetime) -> None:
        booked = locked.appointments.filter(status=AppointmentStatus.BOOKED).first()
        if booked is not None:
            result = appointment_rules.arrival(start=booked.start, end=booked.end,
                                               precision=booked.precision, at=now)
            booked.status = AppointmentStatus.KEPT
            booked.closed_at, booked.closed_by = now, by
            booked.arrived_at = now
            booked.arrival_offset_minutes = result.offset_minutes
            booked.late = result.late
            booked.save(update_fields=["status", "closed_at", "closed_by", "arrived_at",
                                       "arrival_offset_minutes", "late"])
        if image is not None:
            photo_row = _save_photo(locked, image, kind=Photo.Kind.CHECK_IN, by=by, now=now)
            payload["photo"] = photo_row.pk

    with _files_discarded_on_error():
        return _transition(order, "check_in", by=by, payload=payload, after=keep)


def work_order_nobody_home(*, order: WorkOrder, by: User, note: str) -> WorkOrder:
    """R18: nobody home and the customer can't be reached: leave a note, back to
    scheduling. R19: the second booking the customer did not keep makes the order
    abnormal and hands it to the call-centre."""
    _require(note, _("Leave a note: arrival time, leaving time, how to reach you (R18)."),
             field="note", rule="R18")

    def missed(locked: WorkOrder, now: dt.datetime) -> None:
        locked.appointments.filter(status__in=[AppointmentStatus.BOOKED,
                                               AppointmentStatus.KEPT]).update(
            status=AppointmentStatus.MISSED_BY_CUSTOMER)

    with transaction.atomic():
        order = _transition(order, "nobody_home", by=by, reason=note, after=missed)
        if order.customer_missed_bookings >= ABNORMAL_AFTER_CUSTOMER_MISSES:
            order = _transition(
                order, "make_abnormal", by=None,
                reason=_("%(n)s bookings not kept by the customer (R19)")
                % {"n": order.customer_missed_bookings})
    return order


def work_order_return_from_abnormal(*, order: WorkOrder, by: User, callback_note: str) -> WorkOrder:
    """R19: the call-centre's recorded callback agreed to try again."""
    _require(callback_note, _("Record what the customer said on the callback (R19)."),
             field="callback_note", rule="R19")
    return _transition(order, "return_from_abnormal", by=by, reason=callback_note)


def work_order_close_abnormal(*, order: WorkOrder, by: User, callback_note: str) -> WorkOrder:
    """R19: the recorded callback closes the order (the customer no longer wants it)."""
    _require(callback_note, _("Record what the customer said on the callback (R19)."),
             field="callback_note", rule="R19")
    return _transition(order, "close_abnormal", by=by, reason=callback_note, at=None)


# --- On site (R22-R27) -----------------------------------------------------------

def work_order_cant_finish(*, order: WorkOrder, by: User, reason: str,
                           promised_at: dt.datetime) -> WorkOrder:
    """R24: can't finish on site: dispatch is told, the customer gets a promised time and
    the order waits for a new visit."""
    _require(reason, _("Say why the work can't be finished (R24)."), field="reason",
             rule="R24")
    if promised_at <= clock.now():
        raise RuleViolation(_("Promise the customer a time in the future (R24)."),
                            field="promised_at", rule="R24")
    return _transition(order, "cant_finish", by=by, reason=reason,
                       payload={"promised_at": promised_at.isoformat()})


def _sign_off(*, order: WorkOrder, by: User, method: str,
              evidence: dict[str, Any]) -> WorkOrder:
    """R26: the sign-off transition. Private on purpose: the only way to it is
    ``work_order_customer_sign_off``, which captures the customer's own drawn signature
    (and the SMS code, the strong form) and binds it to the order, the time and the
    report's hash, so nobody can sign for the customer."""
    if method not in SignOffMethod.values:
        raise RuleViolation(_("Unknown sign-off method %(method)s.") % {"method": method},
                            field="method", rule="R26")
    return _transition(order, "sign_off", by=by,
                       payload={"method": method, "verified": True, **evidence})


def work_order_complete(*, order: WorkOrder, by: User, report: dict[str, Any]) -> WorkOrder:
    """R27: the completion report is filed (work done, cause, materials, speed, the
    visit's photos and times, any outstanding issue); the callback survey follows (R29).
    R26: when the customer signed a report, the filed one must be exactly that report."""
    report = {("download_mbps" if key == "speed_mbps" else key): value
              for key, value in report.items()}
    _require(report.get("work_done"), _("Describe the work done (R27)."), field="work_done",
             rule="R27")
    if order.kind == Kind.REPAIR:
        _require(report.get("fault_cause"), _("Record the fault cause of a repair (R25)."),
                 field="fault_cause", rule="R25")
    if report.get("fault_cause") and report["fault_cause"] not in FaultCause.values:
        raise RuleViolation(_("Choose a fault cause from the list (R25)."),
                            field="fault_cause", rule="R25")
    signed = order.signatures.order_by("-signed_at").first()
    if signed is not None and report_hash(order, report) != signed.report_hash:
        raise RuleViolation(_("The report differs from the one the customer signed (R26); "
                              "file the signed report."), field="work_done", rule="R26")

    def file(locked: WorkOrder, now: dt.datetime) -> None:
        fields = {name: report.get(name) for name in REPORT_FIELDS if name in report}
        fields["onu_activated"] = bool(fields.get("onu_activated"))
        for name in ("materials", "outstanding_issue", "fault_cause"):
            fields[name] = fields.get(name) or ""
        CompletionReport.objects.update_or_create(
            order=locked, defaults={**fields, "filed_at": now, "filed_by": by,
                                    "updated_at": now, "updated_by": by})

    order = _transition(order, "complete", by=by, payload={"report": report}, after=file,
                        at=None)
    from .tasks import start_survey

    order_id = order.pk
    transaction.on_commit(lambda: start_survey.delay(order_id))
    return order


# --- Survey and rework (R29-R33) ------------------------------------------------
# The transitions; the survey rows, links, callbacks and numbered rework rounds are kept
# by ``surveys.services``, whose ``survey_answer`` is the one way to answer a survey.

def work_order_start_survey(*, order: WorkOrder) -> WorkOrder:
    """R29: the automatic survey goes out after completion (its SMS held until the quiet
    hours end). Safe to call twice."""
    from surveys.services import survey_open

    current = WorkOrder.objects.get(pk=order.pk)
    if current.state != State.COMPLETED:
        return current

    payload: dict[str, Any] = {}  # filled with the survey's id and times

    def send(locked: WorkOrder, now: dt.datetime) -> None:
        survey_open(order=locked, now=now, payload=payload)

    return _transition(current, "start_survey", by=None, after=send, payload=payload)


def work_order_record_survey(*, order: WorkOrder, by: User, satisfied: bool,
                             comment: str = "", punctuality: int | None = None,
                             conduct: int | None = None,
                             result: int | None = None) -> WorkOrder:
    """R29/R30: the answer to the order's open survey, recorded by the call-centre
    (``by``; ``None``: the customer's own). Goes through ``surveys.services.survey_answer``:
    satisfied closes the order; not satisfied starts a rework round (R31-R33)."""
    from surveys.models import AnswerChannel
    from surveys.services import survey_answer_for_order

    survey = survey_answer_for_order(
        order=order, by=by, channel=AnswerChannel.SMS if by is None else AnswerChannel.CALLBACK,
        satisfied=satisfied, comment=comment, punctuality=punctuality, conduct=conduct,
        result=result)
    return WorkOrder.objects.get(pk=survey.order_id)


def work_order_close_satisfied(*, order: WorkOrder, by: User, comment: str = "",
                               payload: dict[str, Any] | None = None) -> WorkOrder:
    """R29: a satisfied answer closes the order. Called by ``surveys.services``."""
    return _transition(order, "close_satisfied", by=by, reason=comment,
                       payload={"satisfied": True, **(payload or {})}, at=None)


def work_order_start_rework(*, order: WorkOrder, by: User, comment: str = "",
                            payload: dict[str, Any] | None = None) -> WorkOrder:
    """R31: an unsatisfied answer sends the order back to its technician, with the SLA
    timer to contact the customer. Called by ``surveys.services``."""
    return _transition(order, "start_rework", by=by, reason=comment,
                       payload={"satisfied": False, **(payload or {})})


def work_order_resolve_rework(*, order: WorkOrder, by: User, note: str) -> WorkOrder:
    """R32: the technician resolved the complaint; the round keeps the note and the
    customer is surveyed again."""
    from surveys.services import rework_resolved

    _require(note, _("Describe how the complaint was resolved (R32)."), field="note",
             rule="R32")

    payload: dict[str, Any] = {}  # filled with the new survey's id and times

    def resurvey(locked: WorkOrder, now: dt.datetime) -> None:
        rework_resolved(order=locked, note=note.strip(), now=now, payload=payload)

    return _transition(order, "resolve_rework", by=by, reason=note, after=resurvey,
                       payload=payload)


def work_order_reassign_rework(*, order: WorkOrder, by: User,
                               technician: Technician | None = None,
                               reason: str = "") -> WorkOrder:
    """R33: still unsatisfied: another technician (none who held it before) takes over."""
    from surveys.services import rework_reassigned

    _precheck(order, "reassign_rework", by)
    previous = selectors.previous_technician_ids(order)
    if technician is not None and technician.pk in previous:
        raise RuleViolation(_("%(name)s already worked on this order; R33 asks for a "
                              "different technician.") % {"name": technician.display_name},
                            field="technician", rule="R33")
    chosen, automatic = _choose(order, technician, exclude=previous)
    previous_id = order.technician_id

    def after(locked: WorkOrder, now: dt.datetime) -> None:
        _start_assignment(locked, chosen, by=by, now=now, automatic=automatic, reason=reason)
        rework_reassigned(order=locked, previous_id=previous_id, now=now)

    return _transition(order, "reassign_rework", by=by, reason=reason, after=after,
                       payload={"technician": chosen.pk, "previous": previous_id,
                                "automatic": automatic},
                       technician=chosen, at=None)


# --- Cancel (step 14) ---------------------------------------------------------------

def work_order_cancel(*, order: WorkOrder, by: User, reason: str) -> WorkOrder:
    """Cancelled by the customer, with the reason, at any point before completion."""
    _require(reason, _("Record why the order is cancelled."), field="reason")

    def release(locked: WorkOrder, now: dt.datetime) -> None:
        # The open assignment ends in _transition, as for every finished order.
        locked.appointments.filter(status=AppointmentStatus.BOOKED).update(
            status=AppointmentStatus.CANCELLED)

    return _transition(order, "cancel", by=by, reason=reason, after=release, at=None,
                       cancel_reason=reason)


# --- The technician's visit: notices, photos, consent, report, sign-off ---------------
# (issue 5: R8, R10, R13-R19, R22-R27). Customer SMS go through the notification outbox,
# written in the transaction of the change that causes them, in the site's language.

#: R8: outcomes of a call that did not reach the customer.
UNANSWERED_OUTCOMES = frozenset({ContactAttempt.Outcome.NO_ANSWER, ContactAttempt.Outcome.BUSY,
                                 ContactAttempt.Outcome.UNREACHABLE})
#: Image formats accepted from phones (R17, R23); everything is stored as JPEG.
PHOTO_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})
#: Refuse images larger than this many pixels before decoding them (decompression bombs).
PHOTO_MAX_PIXELS = 50_000_000
#: R26: a drawn signature is a small PNG; it must have at least this many inked pixels.
SIGNATURE_MAX_BYTES = 300_000
SIGNATURE_MIN_INK = 150
#: R26: the SMS sign-off code.
SIGN_OFF_CODE_MINUTES = 10
SIGN_OFF_CODE_MAX_TRIES = 5
SIGN_OFF_CODES_PER_HOUR = 5


def _local_text(moment: dt.datetime, fmt: str = "%m-%d %H:%M") -> str:
    return timezone.localtime(moment).strftime(fmt)


def window_text(appointment: Appointment) -> str:
    """A booking as the customer reads it: "11-23 10:00-11:00", "11-23 morning"."""
    if appointment.precision == Precision.EXACT:
        return f"{_local_text(appointment.start)}-{_local_text(appointment.end, '%H:%M')}"
    day = _local_text(appointment.start, "%m-%d")
    if appointment.precision == Precision.HALF_DAY:
        afternoon = timezone.localtime(appointment.start).hour >= 12
        return f"{day} {_('afternoon') if afternoon else _('morning')}"
    return day


def _sms_customer(order: WorkOrder, *, kind: str, body: Callable[[], str],
                  dedupe_key: str, not_before: dt.datetime | None = None) -> bool:
    """Queue an SMS to the order's contact phone, written in the site's language (the
    customer's, not the technician's browser's). False when the key was used already.
    ``not_before``: held in the outbox until then (R29's quiet hours)."""
    from django.conf import settings
    from django.utils import translation

    from notifications.models import Channel
    from notifications.services import notify

    with translation.override(settings.LANGUAGE_CODE):
        text = body()
    return notify(channel=Channel.SMS, kind=kind, body=text, address=order.contact_phone,
                  order=order, dedupe_key=dedupe_key, not_before=not_before) is not None


def _tell_users(users: Iterable[Any], order: WorkOrder, *, kind: str, body: str,
                dedupe: str) -> None:
    """In-app notices to staff (shown where they work)."""
    from notifications.models import Channel
    from notifications.services import notify

    for user in users:
        notify(channel=Channel.IN_APP, kind=kind, body=body, recipient=user, order=order,
               dedupe_key=f"{dedupe}:{user.pk}")


def _group_users(name: str) -> list[Any]:
    from django.contrib.auth import get_user_model

    return list(get_user_model().objects.filter(groups__name=name, is_active=True))


def _technician_text(order: WorkOrder) -> dict[str, str]:
    technician = order.technician
    return {"name": technician.display_name if technician else "",
            "phone": technician.phone if technician else "", "number": order.number}


def _sms_missed_call(order: WorkOrder, now: dt.datetime) -> bool:
    """R8: the phone did not answer: the customer gets the technician's name and number
    (one SMS a day per order, however many calls fail)."""
    return _sms_customer(
        order, kind="contact_missed",
        body=lambda: _("Your technician %(name)s (%(phone)s) called about order %(number)s "
                       "and could not reach you. Please call back.")
        % _technician_text(order),
        dedupe_key=f"r8:{order.pk}:{timezone.localdate(now).isoformat()}")


def _sms_booking(order: WorkOrder, appointment: Appointment, *, moved: bool) -> None:
    """R9/R15: the customer is told of a booked or moved visit, with a signed link to
    confirm it or ask for another time (R10)."""
    from appointments import links

    _link, url = links.issue(appointment)
    values = {**_technician_text(order), "window": window_text(appointment), "url": url}
    if moved:
        def body() -> str:
            return _("Your visit for order %(number)s has been moved to %(window)s "
                     "(technician %(name)s, %(phone)s). Confirm or ask for another time: "
                     "%(url)s") % values
    else:
        def body() -> str:
            return _("Your visit for order %(number)s is booked for %(window)s (technician "
                     "%(name)s, %(phone)s). Confirm or ask for another time: %(url)s") % values
    _sms_customer(order, kind="appointment_moved" if moved else "appointment_booked",
                  body=body, dedupe_key=f"booking:{appointment.pk}")


def _sms_on_the_way(order: WorkOrder, now: dt.datetime) -> None:
    """R13: the technician is on the way."""
    booked = order.appointments.filter(status=AppointmentStatus.BOOKED).first()
    values = {**_technician_text(order),
              "window": window_text(booked) if booked else _local_text(now, "%H:%M")}
    _sms_customer(
        order, kind="on_the_way",
        body=lambda: _("Technician %(name)s (%(phone)s) is on the way for order %(number)s, "
                       "booked for %(window)s.") % values,
        dedupe_key=f"r13:{order.pk}:{booked.pk if booked else now.isoformat()}")


def _clashes(order: WorkOrder, start: dt.datetime, end: dt.datetime, *,
             refuse: bool) -> list[int]:
    """R10: the customer's time wins over ours, but never over another customer's: the
    ids of the orders whose booking by the same technician overlaps; with ``refuse`` an
    overlap is refused and the customer is asked to choose another time."""
    from appointments.selectors import clashes

    if order.technician is None:
        return []
    found = clashes(order.technician, start, end, exclude_order=order)
    if found and refuse:
        other = found[0]
        raise RuleViolation(
            _("%(window)s clashes with your booking for order %(number)s (%(other)s). Ask "
              "the customer to choose another time (R10).")
            % {"window": f"{_local_text(start)}-{_local_text(end, '%H:%M')}",
               "number": other.order.number, "other": window_text(other)},
            field="start", rule="R10", clashes=[a.order_id for a in found])
    return [a.order_id for a in found]


def record_missed_by_us(order: WorkOrder, now: dt.datetime, appointment: Appointment, *,
                        reason: str) -> None:
    """R16: an appointment we broke (missed, or moved at short notice, R15) counts against
    the order; the first one flags it and tells the supervisor. Call inside the
    transaction that holds the order's row lock."""
    from django.db.models import F

    from appointments.selectors import supervisors_for

    WorkOrder.objects.filter(pk=order.pk).update(
        our_missed_appointments=F("our_missed_appointments") + 1, supervisor_flag=True)
    order.our_missed_appointments += 1
    order.supervisor_flag = True
    _tell_users(supervisors_for(order), order, kind="appointment_missed",
                body=_("Order %(number)s: %(name)s broke the appointment of %(window)s "
                       "(%(reason)s). Missed by us so far: %(count)s (R16).")
                % {**_technician_text(order), "window": window_text(appointment),
                   "reason": reason, "count": order.our_missed_appointments},
                dedupe=f"r16:{order.pk}:{appointment.pk}")


# --- Photos (R17, R23) ----------------------------------------------------------------

class PreparedImage:
    """A photo checked and re-encoded, ready to store."""

    def __init__(self, content: bytes, width: int, height: int) -> None:
        import hashlib

        self.content, self.width, self.height = content, width, height
        self.sha256 = hashlib.sha256(content).hexdigest()


def _prepare_image(upload: Any, *, field: str, rule: str) -> PreparedImage:
    """Refuse what is too large or not a photo, then resize (longest side
    ``PHOTO_MAX_SIDE``), turn it upright, drop its metadata (GPS, camera) and store JPEG."""
    import io

    from django.conf import settings
    from PIL import Image, ImageOps, UnidentifiedImageError

    limit = settings.PHOTO_MAX_UPLOAD_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise RuleViolation(_("The photo is %(size).1f MB; the limit is %(limit).0f MB.")
                            % {"size": size / 1024 / 1024, "limit": limit / 1024 / 1024},
                            field=field, rule=rule)
    not_a_photo = _("This file is not a photo; take a JPEG, PNG or WebP picture.")
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            if probe.format not in PHOTO_FORMATS:
                raise RuleViolation(not_a_photo, field=field, rule=rule)
            if probe.width * probe.height > PHOTO_MAX_PIXELS:
                raise RuleViolation(_("The photo has too many pixels; take a smaller one."),
                                    field=field, rule=rule)
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as img:
            img.load()
            upright = ImageOps.exif_transpose(img) or img
            upright.thumbnail((settings.PHOTO_MAX_SIDE, settings.PHOTO_MAX_SIDE))
            rgb = upright.convert("RGB")
            out = io.BytesIO()
            rgb.save(out, "JPEG", quality=82, optimize=True)
    except RuleViolation:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise RuleViolation(not_a_photo, field=field, rule=rule) from exc
    return PreparedImage(out.getvalue(), rgb.width, rgb.height)


#: The files stored by the service running in this context (``_files_discarded_on_error``).
_stored_files: ContextVar[list[Any] | None] = ContextVar("stored_files", default=None)


@contextmanager
def _files_discarded_on_error() -> Iterator[None]:
    """Photos and signatures are stored outside the database. When the service's
    transaction fails after storing one (a refusal, a conflict, a lost connection), the
    file is deleted again, so a step that left no row leaves no file either."""
    stored: list[Any] = []
    token = _stored_files.set(stored)
    try:
        yield
    except BaseException:
        for field_file in stored:
            field_file.storage.delete(field_file.name)
        raise
    finally:
        _stored_files.reset(token)


def _stored(field_file: Any) -> None:
    """Remember a file just stored, for ``_files_discarded_on_error``."""
    stored = _stored_files.get()
    if stored is not None:
        stored.append(field_file)


def _save_photo(order: WorkOrder, image: PreparedImage, *, kind: str, by: User,
                now: dt.datetime, caption: str = "") -> Photo:
    from django.core.files.base import ContentFile

    photo = Photo(order=order, kind=kind, width=image.width, height=image.height,
                  size=len(image.content), sha256=image.sha256, caption=caption,
                  taken_by=by, uploaded_at=now)
    photo.image.save(f"{kind}-{now:%Y%m%d-%H%M%S}-{image.sha256[:10]}.jpg",
                     ContentFile(image.content), save=False)
    _stored(photo.image)
    photo.save()
    return photo


def _own_step(order: WorkOrder, by: User, action: str, states: Iterable[str]) -> WorkOrder:
    """Lock the order for a step that records something without changing its state: it
    must be in one of ``states`` and ``by`` must be its technician (R41)."""
    from .models import is_assigned_technician

    locked = _lock(order)
    if locked.state not in set(states):
        raise IllegalTransition(locked, action, _allowed_for(locked, by))
    if by is not None and not is_assigned_technician(locked, by):
        raise NotPermitted(_("Only the order's technician can do this (R41)."), action=action)
    return locked


def work_order_add_photo(*, order: WorkOrder, by: User, image: Any, kind: str,
                         caption: str = "") -> Photo:
    """R23: a photo of the installation or of the speed test, uploaded while on site
    (before the customer signs, so they see it)."""
    if kind not in Photo.Kind.values:
        raise RuleViolation(_("Choose what the photo shows."), field="kind", rule="R23")
    prepared = _prepare_image(image, field="image", rule="R23")
    with _files_discarded_on_error(), transaction.atomic():
        locked = _own_step(order, by, "add_photo", [State.ON_SITE])
        now = clock.now()
        photo = _save_photo(locked, prepared, kind=kind, by=by, now=now, caption=caption)
        record_event(order=locked, by=by, action="add_photo", from_state=locked.state,
                     to_state=locked.state, reason=caption, at=now,
                     payload={"photo": photo.pk, "kind": kind, "sha256": photo.sha256})
    return photo


# --- Consent (R22) and the report (R25, R27) -------------------------------------------

def work_order_record_consent(*, order: WorkOrder, by: User, risk: str, description: str,
                              customer_name: str, agreed: bool) -> Consent:
    """R22: before a risky step (drilling, possible data loss) the customer's answer is
    recorded, yes or no, with who gave it."""
    if risk not in Consent.Risk.values:
        raise RuleViolation(_("Choose the kind of risk."), field="risk", rule="R22")
    _require(description, _("Say what will be done (R22)."), field="description", rule="R22")
    _require(customer_name, _("Record who gave the answer (R22)."), field="customer_name",
             rule="R22")
    with transaction.atomic():
        locked = _own_step(order, by, "record_consent", [State.ON_SITE])
        now = clock.now()
        consent = Consent.objects.create(order=locked, risk=risk, description=description,
                                         customer_name=customer_name, agreed=agreed,
                                         recorded_at=now, recorded_by=by)
        record_event(order=locked, by=by, action="record_consent", from_state=locked.state,
                     to_state=locked.state, reason=description, at=now,
                     payload={"consent": consent.pk, "risk": risk, "agreed": agreed})
    return consent


def work_order_save_report(*, order: WorkOrder, by: User, work_done: str,
                           fault_cause: str = "", materials: str = "",
                           download_mbps: int | None = None, upload_mbps: int | None = None,
                           onu_activated: bool = False,
                           outstanding_issue: str = "") -> CompletionReport:
    """R27: write the report while on site (work done, materials, speed, outstanding
    issues; the fault cause of a repair, R25). It is a draft until the customer signs it
    (R26); after that it can't change."""
    _require(work_done, _("Describe the work done (R27)."), field="work_done", rule="R27")
    if fault_cause and fault_cause not in FaultCause.values:
        raise RuleViolation(_("Choose a fault cause from the list (R25)."),
                            field="fault_cause", rule="R25")
    if order.kind == Kind.REPAIR:
        _require(fault_cause or None, _("Record the fault cause of a repair (R25)."),
                 field="fault_cause", rule="R25")
    fields = {"work_done": work_done.strip(), "fault_cause": fault_cause,
              "materials": materials.strip(), "download_mbps": download_mbps,
              "upload_mbps": upload_mbps, "onu_activated": onu_activated,
              "outstanding_issue": outstanding_issue.strip()}
    with transaction.atomic():
        locked = _own_step(order, by, "save_report", [State.ON_SITE])
        now = clock.now()
        report, _created = CompletionReport.objects.update_or_create(
            order=locked, defaults={**fields, "updated_at": now, "updated_by": by})
        record_event(order=locked, by=by, action="save_report", from_state=locked.state,
                     to_state=locked.state, at=now,
                     payload={"report": dict(fields)})
    return report


# --- Sign-off (R26) ------------------------------------------------------------------------

def _code_hmac(order: WorkOrder, code: str) -> str:
    from django.utils.crypto import salted_hmac

    return salted_hmac("workorders.SignOffCode", f"{order.pk}:{code.strip()}",
                       algorithm="sha256").hexdigest()


def _signed_report(order: WorkOrder) -> CompletionReport:
    report = CompletionReport.objects.filter(order=order).first()
    if report is None or not report.work_done.strip():
        raise RuleViolation(_("Write the report first: the customer signs what was done "
                              "(R26, R27)."), field="report", rule="R26")
    if order.kind == Kind.REPAIR and not report.fault_cause:
        raise RuleViolation(_("Record the fault cause of a repair (R25)."),
                            field="fault_cause", rule="R25")
    return report


def work_order_send_sign_off_code(*, order: WorkOrder, by: User) -> SignOffCode:
    """R26 strong form: send a one-time code to the customer's phone. The SMS names the
    order and the work done, so the customer reads on their own phone what they sign.
    Only the code's HMAC is kept; a new code replaces the previous one."""
    import secrets

    with transaction.atomic():
        locked = _own_step(order, by, "send_sign_off_code", [State.ON_SITE])
        report = _signed_report(locked)
        now = clock.now()
        recent = SignOffCode.objects.filter(order=locked,
                                            created_at__gte=now - dt.timedelta(hours=1))
        if recent.count() >= SIGN_OFF_CODES_PER_HOUR:
            raise RuleViolation(_("Too many codes sent for this order; wait a while or let "
                                  "the customer sign by hand."), field="code", rule="R26")
        SignOffCode.objects.filter(order=locked, used_at__isnull=True).update(
            expires_at=now)
        code = f"{secrets.randbelow(1_000_000):06d}"
        row = SignOffCode.objects.create(
            order=locked, code_hash=_code_hmac(locked, code), sent_to=locked.contact_phone,
            created_at=now, expires_at=now + dt.timedelta(minutes=SIGN_OFF_CODE_MINUTES))
        summary = report.work_done[:60]
        _sms_customer(
            locked, kind="sign_off_code",
            body=lambda: _("Code %(code)s signs off order %(number)s (%(work)s). Give it "
                           "to the technician only if you agree. Valid %(minutes)s minutes.")
            % {"code": code, "number": locked.number, "work": summary,
               "minutes": SIGN_OFF_CODE_MINUTES},
            dedupe_key=f"r26-code:{row.pk}")
        from fieldops.privacy import mask_phone

        record_event(order=locked, by=by, action="send_sign_off_code",
                     from_state=locked.state, to_state=locked.state, at=now,
                     payload={"sent_to": mask_phone(locked.contact_phone)})
    return row


def _check_code(order: WorkOrder, code: str) -> SignOffCode:
    """The pending code matching ``code``; a wrong try is counted (and kept, even though
    the caller's sign-off fails) and a few of them burn the code."""
    from django.utils.crypto import constant_time_compare

    now = clock.now()
    row = (SignOffCode.objects.filter(order=order, used_at__isnull=True)
           .order_by("-created_at", "-id").first())
    if row is None or row.expires_at <= now:
        raise RuleViolation(_("The code has expired or was never sent; send a new one."),
                            field="code", rule="R26")
    if row.attempts >= SIGN_OFF_CODE_MAX_TRIES:
        raise RuleViolation(_("Too many wrong codes; send a new one."), field="code",
                            rule="R26")
    if not constant_time_compare(row.code_hash, _code_hmac(order, code)):
        from django.db.models import F

        SignOffCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        raise RuleViolation(_("The code is not the one sent to the customer's phone."),
                            field="code", rule="R26")
    return row


def _signature_png(data: str | bytes) -> bytes:
    """The drawn signature as PNG bytes (from the canvas's data URL), refused when it is
    not a PNG, too large, or (nearly) blank."""
    import base64
    import binascii
    import io

    from PIL import Image, UnidentifiedImageError

    if isinstance(data, str):
        prefix = "data:image/png;base64,"
        if not data.startswith(prefix):
            raise RuleViolation(_("The customer must draw their signature (R26)."),
                                field="signature", rule="R26")
        try:
            data = base64.b64decode(data[len(prefix):], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RuleViolation(_("The customer must draw their signature (R26)."),
                                field="signature", rule="R26") from exc
    if len(data) > SIGNATURE_MAX_BYTES:
        raise RuleViolation(_("The signature image is too large."), field="signature",
                            rule="R26")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "PNG" or img.width * img.height > 4_000_000:
                raise RuleViolation(_("The customer must draw their signature (R26)."),
                                    field="signature", rule="R26")
            img.load()
            rgba = img.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise RuleViolation(_("The customer must draw their signature (R26)."),
                            field="signature", rule="R26") from exc
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    gray = Image.alpha_composite(white, rgba).convert("L")
    histogram = gray.histogram()
    if sum(histogram[:128]) < SIGNATURE_MIN_INK:
        raise RuleViolation(_("The signature is empty; the customer must sign with a finger "
                              "(R26)."), field="signature", rule="R26")
    return data


def work_order_customer_sign_off(*, order: WorkOrder, by: User, signature: str | bytes,
                                 signer_name: str, rating: int, comment: str = "",
                                 code: str = "", user_agent: str = "") -> Signature:
    """R26: the customer signs the report they were shown, with their own hand (a drawing
    on the technician's screen) and, in the strong form, with the code sent to their own
    phone. The signature is bound to the order, the time and the report's hash (which
    covers the visit's photos) and sealed with an HMAC; completion later files only that
    report. Where ``SIGN_OFF_REQUIRE_SMS_CODE`` is set, the code is required."""
    import hashlib

    from django.conf import settings
    from django.core.files.base import ContentFile

    _require(signer_name, _("Write the name of the person signing (R26)."),
             field="signer_name", rule="R26")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise RuleViolation(_("The customer rates the visit from 1 to 5."), field="rating",
                            rule="R26")
    png = _signature_png(signature)
    code = (code or "").strip()
    if not code and getattr(settings, "SIGN_OFF_REQUIRE_SMS_CODE", False):
        raise RuleViolation(_("Type in the code sent to the customer's phone (R26)."),
                            field="code", rule="R26")
    _check_allowed(order, "sign_off", by)
    report = _signed_report(order)
    checked = _check_code(order, code) if code else None
    method = SignOffMethod.SMS_CODE if checked else SignOffMethod.DRAWN
    with _files_discarded_on_error(), transaction.atomic():
        if checked is not None:
            claimed = SignOffCode.objects.filter(pk=checked.pk, used_at__isnull=True).update(
                used_at=clock.now())
            if not claimed:
                raise RuleViolation(_("The code was used already; send a new one."),
                                    field="code", rule="R26")
        digest = report_hash(order, report.as_dict())
        signed = _sign_off(
            order=order, by=by, method=method,
            evidence={"report_hash": digest, "rating": rating, "signer_name": signer_name,
                      "code_verified": checked is not None})
        signature_row = Signature(
            order=signed, method=method, image_sha256=hashlib.sha256(png).hexdigest(),
            signer_name=signer_name.strip(), rating=rating, comment=comment.strip(),
            report_hash=digest, signed_at=signed.updated_at,
            code_verified_at=signed.updated_at if checked else None,
            code_sent_to=checked.sent_to if checked else "", captured_by=by,
            user_agent=user_agent[:255])
        signature_row.seal = signature_row.expected_seal()
        signature_row.image.save(f"signature-{signed.pk}-{signed.version}.png",
                                 ContentFile(png), save=False)
        _stored(signature_row.image)
        signature_row.save()
    return signature_row


# --- Visits that did not happen (R18, R19, R24) -------------------------------------------

def work_order_leave_note(*, order: WorkOrder, by: User, arrived_at: dt.datetime,
                          left_at: dt.datetime, note: str = "") -> WorkOrder:
    """R18: nobody home and the customer can't be reached: the note (arrival time, leaving
    time, how to reach the technician) is recorded, the customer gets an SMS, and the
    order goes back to booking; the second booking not kept makes it abnormal (R19)."""
    if left_at < arrived_at:
        raise RuleViolation(_("The leaving time is before the arrival time."),
                            field="left_at", rule="R18")
    values = {**_technician_text(order), "arrived": _local_text(arrived_at, "%H:%M"),
              "left": _local_text(left_at, "%H:%M")}
    text = (_("Arrived %(arrived)s, left %(left)s, contact %(name)s %(phone)s.") % values
            + (f" {note.strip()}" if note.strip() else ""))
    with transaction.atomic():
        result = work_order_nobody_home(order=order, by=by, note=text)
        _sms_customer(
            result, kind="nobody_home",
            body=lambda: _("Technician %(name)s came for order %(number)s at %(arrived)s and "
                           "waited until %(left)s, but nobody was home. Call %(phone)s to "
                           "book another visit.") % values,
            dedupe_key=f"r18:{result.pk}:{result.version}")
    return result


def work_order_customer_refused(*, order: WorkOrder, by: User, reason: str) -> WorkOrder:
    """R19: the customer refused the current booking. It counts as a booking the customer
    did not keep; the second one makes the order abnormal and hands it to the call-centre
    for a recorded callback. Otherwise the technician books again."""
    from django.db.models import F

    _require(reason, _("Record what the customer said (R19)."), field="reason", rule="R19")
    with transaction.atomic():
        locked = _own_step(order, by, "customer_refused", [State.CONTACTED, State.SCHEDULED])
        booked = locked.appointments.filter(status=AppointmentStatus.BOOKED).first()
        if booked is None:
            raise RuleViolation(_("There is no booking to refuse."), field="reason",
                                rule="R19")
        now = clock.now()
        booked.status = AppointmentStatus.MISSED_BY_CUSTOMER
        booked.closed_at, booked.closed_by, booked.close_reason = now, by, reason
        booked.save(update_fields=["status", "closed_at", "closed_by", "close_reason"])
        WorkOrder.objects.filter(pk=locked.pk).update(
            customer_missed_bookings=F("customer_missed_bookings") + 1,
            version=F("version") + 1, updated_at=now)
        locked.refresh_from_db()
        record_event(order=locked, by=by, action="customer_refused", from_state=locked.state,
                     to_state=locked.state, reason=reason, at=now,
                     payload={"appointment": booked.pk,
                              "customer_missed_bookings": locked.customer_missed_bookings})
        if locked.customer_missed_bookings >= ABNORMAL_AFTER_CUSTOMER_MISSES:
            locked = _transition(
                locked, "make_abnormal", by=None,
                reason=_("%(n)s bookings not kept by the customer (R19)")
                % {"n": locked.customer_missed_bookings})
    return locked


def work_order_report_cant_finish(*, order: WorkOrder, by: User, reason: str,
                                  promised_at: dt.datetime) -> WorkOrder:
    """R24: can't finish on site: the order waits for a new visit, dispatch is told (in
    the app) and the customer gets the promised time by SMS."""
    with transaction.atomic():
        result = work_order_cant_finish(order=order, by=by, reason=reason,
                                        promised_at=promised_at)
        values = {**_technician_text(result), "promised": _local_text(promised_at),
                  "reason": reason}
        _sms_customer(
            result, kind="cant_finish",
            body=lambda: _("Order %(number)s could not be finished today. We will come back "
                           "by %(promised)s; technician %(name)s (%(phone)s).") % values,
            dedupe_key=f"r24:{result.pk}:{result.version}")
        from fieldops import roles

        _tell_users(_group_users(roles.DISPATCHER), result, kind="cant_finish",
                    body=_("Order %(number)s can't be finished on site: %(reason)s. Promised "
                           "to the customer: %(promised)s (R24).") % values,
                    dedupe=f"r24:{result.pk}:{result.version}")
    return result
