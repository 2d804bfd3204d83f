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
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from appointments.models import Appointment, AppointmentStatus, Precision
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
    Assignment,
    ContactAttempt,
    Customer,
    CustomerClass,
    Kind,
    ServiceAccount,
    State,
    WorkOrder,
    WorkOrderEvent,
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
    """Append one row to the order's event log (R42), and let the SLA timers follow the
    event (R38) in the same transaction. Call inside the change's transaction."""
    at = at or clock.now()
    on_order_event(order=order, action=action, at=at)
    return WorkOrderEvent.objects.create(
        order=order, at=at, actor=by, actor_label=actor_label(by),
        action=action, from_state=from_state, to_state=to_state, reason=reason,
        payload=payload or {},
    )


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

    with transaction.atomic():
        now = clock.now()
        account = None
        if account_number:
            account = ServiceAccount.objects.select_related("customer").filter(
                number=account_number).first()
        if account is not None:
            customer = account.customer
        else:
            customer, _created = Customer.objects.get_or_create(
                phone=contact_phone, name=customer_name,
                defaults={"alt_phone": alt_phone, "customer_class": customer_class},
            )
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
        Appointment.objects.create(order=order, start=start, end=end, precision=Precision.DAY,
                                   booked_at=now, booked_by=by,
                                   reason=_("First booking at intake (R3)"))
        record_event(order=order, by=by, action="create", from_state="",
                     to_state=order.state, at=now,
                     payload={"channel": channel, "kind": kind,
                              "preferred_day": preferred_day.isoformat()})
    return order


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
    customer moves a taken order to contacted."""
    reached = outcome == ContactAttempt.Outcome.REACHED

    def log(locked: WorkOrder, now: dt.datetime) -> None:
        attempts.append(ContactAttempt.objects.create(
            order=locked, technician=locked.technician, at=now, channel=channel,
            outcome=outcome, note=note))

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
                        reason: str = "") -> WorkOrder:
    """R9: book the visit at the time the customer chose (R10). A booked order is moved
    instead: the old appointment is marked moved, never overwritten. Half-day bookings
    are for rural areas only (R11)."""
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

    def book(locked: WorkOrder, now: dt.datetime) -> None:
        old = locked.appointments.filter(status=AppointmentStatus.BOOKED)
        old.update(status=AppointmentStatus.MOVED if moving else AppointmentStatus.CANCELLED)
        Appointment.objects.create(order=locked, start=start, end=end, precision=precision,
                                   chosen_by_customer=chosen_by_customer, booked_at=now,
                                   booked_by=by, reason=reason)

    return _transition(order, "reschedule" if moving else "schedule", by=by, reason=reason,
                       after=book,
                       payload={"start": start.isoformat(), "end": end.isoformat(),
                                "precision": precision,
                                "chosen_by_customer": chosen_by_customer})


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
    """R13: the technician is on the way (the customer is told)."""
    return _transition(order, "depart", by=by)


def work_order_check_in(*, order: WorkOrder, by: User, latitude: float | None = None,
                        longitude: float | None = None) -> WorkOrder:
    """R17: check-in with time and location."""
    payload: dict[str, Any] = {}
    if latitude is not None and longitude is not None:
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise RuleViolation(_("The location is not a valid latitude/longitude."),
                                field="latitude", rule="R17")
        payload = {"latitude": latitude, "longitude": longitude}

    def keep(locked: WorkOrder, now: dt.datetime) -> None:
        locked.appointments.filter(status=AppointmentStatus.BOOKED).update(
            status=AppointmentStatus.KEPT)

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


def work_order_sign_off(*, order: WorkOrder, by: User, method: str,
                        evidence: dict[str, Any] | None = None) -> WorkOrder:
    """R26: the customer signs the order; ``method`` says how (drawn, SMS code)."""
    _require(method, _("Say how the customer signed."), field="method", rule="R26")
    return _transition(order, "sign_off", by=by,
                       payload={"method": method, **(evidence or {})})


def work_order_complete(*, order: WorkOrder, by: User, report: dict[str, Any]) -> WorkOrder:
    """R27: the completion report is filed; the callback survey follows (R29)."""
    _require(report.get("work_done"), _("Describe the work done (R27)."), field="work_done",
             rule="R27")
    if order.kind == Kind.REPAIR:
        _require(report.get("fault_cause"), _("Record the fault cause of a repair (R25)."),
                 field="fault_cause", rule="R25")
    order = _transition(order, "complete", by=by, payload={"report": report}, at=None)
    from .tasks import start_survey

    order_id = order.pk
    transaction.on_commit(lambda: start_survey.delay(order_id))
    return order


# --- Survey and rework (R29-R33) ------------------------------------------------

def work_order_start_survey(*, order: WorkOrder) -> WorkOrder:
    """R29: the automatic survey goes out after completion. Safe to call twice."""
    current = WorkOrder.objects.get(pk=order.pk)
    if current.state != State.COMPLETED:
        return current
    return _transition(current, "start_survey", by=None)


def work_order_record_survey(*, order: WorkOrder, by: User, satisfied: bool,
                             comment: str = "") -> WorkOrder:
    """R29/R30: the customer's answer (or the manual callback's). Satisfied closes the
    order; not satisfied starts a rework round with the same technician (R31)."""
    if satisfied:
        return _transition(order, "close_satisfied", by=by, reason=comment,
                           payload={"satisfied": True}, at=None)
    return _transition(order, "start_rework", by=by, reason=comment,
                       payload={"satisfied": False})


def work_order_resolve_rework(*, order: WorkOrder, by: User, note: str) -> WorkOrder:
    """R32: the technician resolved the complaint; the customer is surveyed again."""
    _require(note, _("Describe how the complaint was resolved (R32)."), field="note",
             rule="R32")
    return _transition(order, "resolve_rework", by=by, reason=note)


def work_order_reassign_rework(*, order: WorkOrder, by: User,
                               technician: Technician | None = None,
                               reason: str = "") -> WorkOrder:
    """R33: still unsatisfied: another technician (none who held it before) takes over."""
    _precheck(order, "reassign_rework", by)
    previous = selectors.previous_technician_ids(order)
    if technician is not None and technician.pk in previous:
        raise RuleViolation(_("%(name)s already worked on this order; R33 asks for a "
                              "different technician.") % {"name": technician.display_name},
                            field="technician", rule="R33")
    chosen, automatic = _choose(order, technician, exclude=previous)

    def after(locked: WorkOrder, now: dt.datetime) -> None:
        _start_assignment(locked, chosen, by=by, now=now, automatic=automatic, reason=reason)

    return _transition(order, "reassign_rework", by=by, reason=reason, after=after,
                       payload={"technician": chosen.pk, "automatic": automatic},
                       technician=chosen, at=None)


# --- Cancel (step 14) ---------------------------------------------------------------

def work_order_cancel(*, order: WorkOrder, by: User, reason: str) -> WorkOrder:
    """Cancelled by the customer, with the reason, at any point before completion."""
    _require(reason, _("Record why the order is cancelled."), field="reason")

    def release(locked: WorkOrder, now: dt.datetime) -> None:
        Assignment.objects.filter(order=locked, ended_at__isnull=True).update(ended_at=now)
        locked.appointments.filter(status=AppointmentStatus.BOOKED).update(
            status=AppointmentStatus.CANCELLED)

    return _transition(order, "cancel", by=by, reason=reason, after=release, at=None,
                       cancel_reason=reason)
