"""Contact and booking: the technician reaches the customer (R7, R8) and books the visit
at the customer's time (R9-R11); the customer confirms or asks for another time from the
SMS link (R10), asks to wait (R12) or refuses (R19); a booking we break counts against
us (R15, R16)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from fieldops import clock
from notifications.models import Channel
from notifications.services import notify
from technicians.models import AreaType
from technicians.selectors import supervisors_for
from workorders.access import PERM_DISPATCH, is_order_technician
from workorders.errors import IllegalTransition, NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.lifecycle import (
    User,
    allowed_for,
    lock_order,
    own_step,
    record_event,
    require,
    require_fits,
    transition,
)
from workorders.messages import local_text, technician_text, tell_users
from workorders.models import ContactAttempt, State, WorkOrder
from workorders.services.visit import abnormal_if_missed_too_often

from . import links, rules, selectors
from .messages import sms_booking, sms_missed_call, tell_resumed, window_text
from .models import (
    Appointment,
    AppointmentStatus,
    ChangeRequest,
    ChangeRequestStatus,
    CustomerLink,
    Precision,
    VisitPlan,
)

#: While the visit can still be moved.
CHANGEABLE_STATES = frozenset({State.ACCEPTED, State.DISPATCHED, State.TAKEN, State.CONTACTED,
                               State.SCHEDULED, State.PREPARED, State.NOBODY_HOME,
                               State.AWAITING_REVISIT})


def appointment_request_change(*, order: WorkOrder, by: Any, preferred_start: dt.datetime,
                               preferred_end: dt.datetime, source: str,
                               note: str = "") -> ChangeRequest:
    """R10: record the customer's wish for another time and hand it to the technician,
    who re-books it (``work_order_schedule``). The current booking stays until then."""
    if preferred_end <= preferred_start:
        raise RuleViolation(_("The preferred window must end after it starts."),
                            field="preferred_end", rule="R10")
    if preferred_start < clock.now():
        raise RuleViolation(_("The preferred time is in the past; choose a later time."),
                            field="preferred_start", rule="R10")
    with transaction.atomic():
        # The order first, as every order change does (NO KEY UPDATE: inserts that
        # reference it, e.g. the dashboards' facts, need not wait).
        locked = WorkOrder.objects.select_for_update(no_key=True, of=("self",)).get(
            pk=order.pk)
        if locked.state not in CHANGEABLE_STATES:
            raise IllegalTransition(locked, OrderAction.REQUEST_CHANGE, [])
        current = Appointment.objects.filter(order=locked,
                                             status=AppointmentStatus.BOOKED).first()
        request = ChangeRequest.objects.create(
            order=locked, appointment=current, preferred_start=preferred_start,
            preferred_end=preferred_end, note=note, source=source, requested_by=by)
        record_event(order=locked, by=by, action=OrderAction.REQUEST_CHANGE,
                     from_state=locked.state,
                     to_state=locked.state, reason=note,
                     payload={"preferred_start": preferred_start.isoformat(),
                              "preferred_end": preferred_end.isoformat(), "source": source})
        if locked.technician is not None:
            notify(channel=Channel.IN_APP, kind="change_request", recipient=locked.technician.user,
                   order=locked, dedupe_key=f"change-request:{request.pk}",
                   body=_("Order %(number)s: the customer asks for another time. Book it "
                          "again.") % {"number": locked.number})
    return request


# --- Contact (R7, R8) and booking (R9-R12, R15, R19) ---------------------------------------

#: States in which a contact attempt may be logged.
CONTACT_STATES = frozenset({State.TAKEN, State.CONTACTED, State.SCHEDULED, State.PREPARED,
                            State.EN_ROUTE, State.NOBODY_HOME, State.AWAITING_REVISIT,
                            State.REWORK})


#: R8: outcomes of a call that did not reach the customer.
UNANSWERED_OUTCOMES = frozenset({ContactAttempt.Outcome.NO_ANSWER, ContactAttempt.Outcome.BUSY,
                                 ContactAttempt.Outcome.UNREACHABLE})


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
            attempt.sms_sent = sms_missed_call(locked, now)
            if attempt.sms_sent:
                attempt.save(update_fields=["sms_sent"])
        attempts.append(attempt)

    attempts: list[ContactAttempt] = []
    payload = {"channel": channel, "outcome": outcome}
    if reached and order.state == State.TAKEN:
        order = transition(order, OrderAction.CONTACT, by=by, reason=note, payload=payload,
                           after=log)
        return order, attempts[0]

    with transaction.atomic():
        locked = lock_order(order)
        if locked.state not in CONTACT_STATES:
            raise IllegalTransition(locked, OrderAction.LOG_CONTACT, allowed_for(locked, by))
        if by is not None and not is_order_technician(locked, by):
            raise NotPermitted(_("Only the order's technician logs contact attempts (R41)."))
        now = clock.now()
        log(locked, now)
        record_event(order=locked, by=by, action=OrderAction.LOG_CONTACT, from_state=locked.state,
                     to_state=locked.state, reason=note, payload=payload, at=now)
    return locked, attempts[0]


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
        require(reason, _("Say why the appointment is moved."), field="reason", rule="R15")
    customer_asked = customer_asked or change_request is not None
    clashing = clashes_for(order, start, end, refuse=not allow_clash)

    def book(locked: WorkOrder, now: dt.datetime) -> None:
        old = locked.appointments.filter(status=AppointmentStatus.BOOKED).first()
        if old is not None:
            short = (moving and not customer_asked
                     and rules.is_short_notice(old_start=old.start,
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
            ChangeRequest.objects.filter(pk=change_request.pk, order=locked).update(
                status=ChangeRequestStatus.REBOOKED, resolved_at=now)
        sms_booking(locked, new, moved=moving)

    return transition(order, OrderAction.RESCHEDULE if moving else OrderAction.SCHEDULE, by=by,
                      reason=reason,
                       after=book,
                       payload={"start": start.isoformat(), "end": end.isoformat(),
                                "precision": precision,
                                "chosen_by_customer": chosen_by_customer,
                                "customer_asked": customer_asked,
                                **({"clashes": clashing} if clashing else {})})


def work_order_park(*, order: WorkOrder, by: User, until: dt.date, reason: str) -> WorkOrder:
    """R12: the customer asks to wait (not home, renovating...). The clock pauses and the
    customer-caused delay is recorded with its reason."""
    require(reason, _("Record why the customer asks to wait (R12)."), field="reason",
             rule="R12")
    if until <= clock.today_local():
        raise RuleViolation(_("Park until a day after today (R12)."), field="until",
                            rule="R12")
    return transition(order, OrderAction.PARK, by=by, reason=reason,
                       payload={"until": until.isoformat()}, until=until)


def work_order_resume(*, order: WorkOrder, by: User, reason: str = "") -> WorkOrder:
    """R12: the wait is over; the clock resumes."""
    return transition(order, OrderAction.RESUME, by=by, reason=reason)


def work_order_customer_refused(*, order: WorkOrder, by: User, reason: str) -> WorkOrder:
    """R19: the customer refused the current booking. It counts as a booking the customer
    did not keep; the second one makes the order abnormal and hands it to the call-centre
    for a recorded callback. Otherwise the technician books again."""
    require(reason, _("Record what the customer said (R19)."), field="reason", rule="R19")
    require_fits(reason, Appointment, "close_reason", field="reason", rule="R19")
    with transaction.atomic():
        locked = own_step(order, by, OrderAction.CUSTOMER_REFUSED, [State.CONTACTED,
                                                                    State.SCHEDULED])
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
        record_event(order=locked, by=by, action=OrderAction.CUSTOMER_REFUSED,
                     from_state=locked.state,
                     to_state=locked.state, reason=reason, at=now,
                     payload={"appointment": booked.pk,
                              "customer_missed_bookings": locked.customer_missed_bookings})
        return abnormal_if_missed_too_often(locked)


def clashes_for(order: WorkOrder, start: dt.datetime, end: dt.datetime, *,
             refuse: bool) -> list[int]:
    """R10: the customer's time wins over ours, but never over another customer's: the
    ids of the orders whose booking by the same technician overlaps; with ``refuse`` an
    overlap is refused and the customer is asked to choose another time."""
    if order.technician is None:
        return []
    found = selectors.clashes(order.technician, start, end, exclude_order=order)
    if found and refuse:
        other = found[0]
        raise RuleViolation(
            _("%(window)s clashes with your booking for order %(number)s (%(other)s). Ask "
              "the customer to choose another time (R10).")
            % {"window": f"{local_text(start)}-{local_text(end, '%H:%M')}",
               "number": other.order.number, "other": window_text(other)},
            field="start", rule="R10", clashes=[a.order_id for a in found])
    return [a.order_id for a in found]


def record_missed_by_us(order: WorkOrder, now: dt.datetime, appointment: Appointment, *,
                        reason: str) -> None:
    """R16: an appointment we broke (missed, or moved at short notice, R15) counts against
    the order; the first one flags it and tells the supervisor. Call inside the
    transaction that holds the order's row lock."""
    WorkOrder.objects.filter(pk=order.pk).update(
        our_missed_appointments=F("our_missed_appointments") + 1, supervisor_flag=True)
    order.our_missed_appointments += 1
    order.supervisor_flag = True
    tell_users(supervisors_for(order.technician), order, kind="appointment_missed",
                body=_("Order %(number)s: %(name)s broke the appointment of %(window)s "
                       "(%(reason)s). Missed by us so far: %(count)s (R16).")
                % {**technician_text(order), "window": window_text(appointment),
                   "reason": reason, "count": order.our_missed_appointments},
                dedupe=f"r16:{order.pk}:{appointment.pk}")



def parked_orders_resume_due(*, today: dt.date | None = None, limit: int = 500) -> int:
    """R12: an order parked until a day goes back to scheduling on that day by itself: it
    resumes (its SLA clock runs again), its technician is told in the app and the customer
    by SMS. Run by beat; safe to run twice (a resumed order is no longer parked). Returns
    how many resumed."""
    today = today or clock.today_local()
    due = list(WorkOrder.objects.filter(state=State.PARKED, parked_until__lte=today)
               .order_by("parked_until", "pk").values_list("pk", flat=True)[:limit])
    resumed = 0
    for pk in due:
        with transaction.atomic():
            order = (WorkOrder.objects.select_for_update(skip_locked=True, no_key=True,
                                                         of=("self",))
                     .filter(pk=pk, state=State.PARKED, parked_until__lte=today)
                     .select_related("technician__user", "area").first())
            if order is None:  # resumed meanwhile, or being changed right now
                continue
            until = order.parked_until
            order = transition(order, OrderAction.RESUME, by=None,
                               reason=_("The customer's wait ended on %(day)s (R12)")
                               % {"day": until.isoformat()},
                               payload={"until": until.isoformat(), "automatic": True})
            tell_resumed(order, until)
            resumed += 1
    return resumed


# --- The customer's signed link (R10) --------------------------------------------------

def _use_link(link: CustomerLink, use: str) -> None:
    """Single use, compare-and-swap: of two submissions of one link, one wins."""
    claimed = CustomerLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
        used_at=clock.now(), used_for=use)
    if not claimed:
        raise links.LinkUsed(_("This link was already used. Your answer has been recorded."))


def appointment_confirm_by_link(*, token: str) -> Appointment:
    """R10: the customer confirms the booked time from the SMS link (no login)."""
    with transaction.atomic():
        link = links.resolve(token, for_use=True)
        _use_link(link, CustomerLink.Use.CONFIRMED)
        now = clock.now()
        # The order first, then its booking (the global lock order), as an order event.
        order = WorkOrder.objects.select_for_update(no_key=True, of=("self",)).get(
            pk=link.appointment.order_id)
        appointment = Appointment.objects.select_for_update().get(pk=link.appointment_id)
        appointment.confirmed_at = now
        appointment.save(update_fields=["confirmed_at"])
        record_event(order=order, by=None, action=OrderAction.CUSTOMER_CONFIRMED,
                     from_state=order.state, to_state=order.state, at=now,
                     payload={"appointment": appointment.pk, "via": "sms_link"})
    return appointment


def appointment_request_change_by_link(*, token: str, preferred_start: dt.datetime,
                                       preferred_end: dt.datetime,
                                       note: str = "") -> ChangeRequest:
    """R10: the customer asks for another time from the SMS link; the request goes to the
    technician, who books it (the current booking stays until then)."""
    with transaction.atomic():
        link = links.resolve(token, for_use=True)
        _use_link(link, CustomerLink.Use.CHANGE_REQUESTED)
        return appointment_request_change(
            order=link.appointment.order, by=None, preferred_start=preferred_start,
            preferred_end=preferred_end, source=ChangeRequest.Source.CUSTOMER_LINK, note=note)


# --- Missed appointments (R16) -------------------------------------------------------------

#: States in which a booked visit is still expected to happen.
AWAITING_VISIT = (State.SCHEDULED, State.PREPARED, State.EN_ROUTE)


def missed_deadline(appointment: Appointment) -> dt.datetime:
    return appointment.end + dt.timedelta(minutes=settings.APPOINTMENT_MISSED_AFTER_MINUTES)


def appointments_sweep_missed(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """R16: a timed booking nobody checked in to by the end of its window (plus a grace
    period) was missed by us: recorded, counted, the order flagged and the supervisor told
    (on every miss: the second one of a customer is the one R16 forbids). Safe to run
    twice: a booking is marked once. Returns how many were marked."""
    now = now or clock.now()
    grace = dt.timedelta(minutes=settings.APPOINTMENT_MISSED_AFTER_MINUTES)
    due = list(Appointment.objects.filter(
        status=AppointmentStatus.BOOKED, end__lt=now - grace,
        precision__in=[Precision.EXACT, Precision.HALF_DAY],
        order__state__in=AWAITING_VISIT).order_by("order_id", "pk")
        .values_list("pk", "order_id")[:limit])
    marked = 0
    for pk, order_id in due:
        with transaction.atomic():
            # The order first, then its booking: the global lock order (an order event
            # holds its order and then writes the booking). An order being changed right
            # now is left for the next run.
            order = (WorkOrder.objects.select_for_update(skip_locked=True, no_key=True,
                                                         of=("self",))
                     .select_related("technician__user", "technician__team")
                     .filter(pk=order_id).first())
            if order is None:
                continue
            appointment = (Appointment.objects.select_for_update()
                           .filter(pk=pk, order_id=order_id,
                                   status=AppointmentStatus.BOOKED).first())
            if appointment is None:
                continue
            if order.state not in AWAITING_VISIT:
                continue
            reason = _("Nobody checked in by %(deadline)s") % {
                "deadline": window_text(appointment)}
            appointment.status = AppointmentStatus.MISSED_BY_US
            appointment.closed_at, appointment.close_reason = now, reason
            appointment.save(update_fields=["status", "closed_at", "close_reason"])
            WorkOrder.objects.filter(pk=order.pk).update(version=F("version") + 1,
                                                         updated_at=now)
            record_missed_by_us(order, now, appointment, reason=reason)
            record_event(order=order, by=None, action=OrderAction.APPOINTMENT_MISSED,
                         from_state=order.state, to_state=order.state, reason=reason, at=now,
                         payload={"appointment": appointment.pk,
                                  "our_missed_appointments": order.our_missed_appointments})
            marked += 1
    return marked


def missed_in_error(order: WorkOrder, arrived_at: dt.datetime) -> Appointment | None:
    """The booking R16's sweep recorded as missed by us although the technician checked in
    at ``arrived_at``, before the sweep's deadline: the check-in was done offline and
    reached the server after the sweep ran (issue 16)."""
    latest = (Appointment.objects.filter(order=order, status=AppointmentStatus.MISSED_BY_US,
                                         closed_by__isnull=True, closed_at__gt=arrived_at)
              .order_by("-closed_at", "-pk").first())
    if latest is None or arrived_at > missed_deadline(latest):
        return None
    return latest


def withdraw_missed_by_us(order: WorkOrder, appointment: Appointment, *,
                          arrived_at: dt.datetime) -> None:
    """R16 corrected: a miss the sweep recorded before the technician's check-in (done in
    time, sent late from the phone) reached the server is withdrawn: the count goes back,
    the order's history keeps both the miss and its withdrawal (R42), and the supervisors
    who were told of the miss are told it is withdrawn. The booking itself is kept by the
    caller (the check-in's handler). Call inside the check-in's transaction."""
    missed_at = appointment.closed_at
    WorkOrder.objects.filter(pk=order.pk, our_missed_appointments__gt=0).update(
        our_missed_appointments=F("our_missed_appointments") - 1)
    order.our_missed_appointments = max(0, order.our_missed_appointments - 1)
    tell_users(supervisors_for(order.technician), order, kind="appointment_missed",
               body=_("Order %(number)s: the appointment of %(window)s was kept after all: "
                      "%(name)s checked in at %(arrived)s without signal, and the check-in "
                      "reached us later. The miss recorded at %(missed)s is withdrawn.")
               % {**technician_text(order), "window": window_text(appointment),
                  "arrived": local_text(arrived_at, "%H:%M"),
                  "missed": local_text(missed_at, "%H:%M") if missed_at else ""},
               dedupe=f"r16-withdrawn:{order.pk}:{appointment.pk}")
    record_event(order=order, by=None, action=OrderAction.APPOINTMENT_MISS_WITHDRAWN,
                 from_state=order.state, to_state=order.state, at=clock.received(),
                 reason=_("Checked in at %(arrived)s, before the miss was recorded") % {
                     "arrived": local_text(arrived_at, "%H:%M")},
                 payload={"appointment": appointment.pk,
                          "missed_at": missed_at.isoformat() if missed_at else None,
                          "arrived_at": arrived_at.isoformat(),
                          "our_missed_appointments": order.our_missed_appointments})


# --- The dispatcher's planned start within the booking (the day board) ---------------------

#: While the dispatcher may still plan when the visit starts (the technician has not left).
PLANNABLE_STATES = frozenset({State.DISPATCHED, State.TAKEN, State.CONTACTED, State.SCHEDULED,
                              State.PREPARED})


def current_plan(appointment: Appointment) -> VisitPlan | None:
    return appointment.plans.order_by("-set_at", "-id").first()


def current_plans(bookings: Iterable[Appointment]) -> dict[int, VisitPlan]:
    """``current_plan`` of many bookings in one query, by appointment id."""
    plans: dict[int, VisitPlan] = {}
    for plan in (VisitPlan.objects.filter(appointment__in=list(bookings))
                 .order_by("appointment_id", "set_at", "id")):
        plans[plan.appointment_id] = plan  # the newest wins
    return plans


#: Why a visit's start was planned (the ``why`` of its ``PLAN_VISIT`` event, R42).
PLANNED_ON_BOARD = "board"
PLANNED_BY_DAY_PLAN = "day_plan"
PLAN_REASONS: dict[str, Any] = {
    PLANNED_ON_BOARD: gettext_lazy("Moved on the day board"),
    PLANNED_BY_DAY_PLAN: gettext_lazy("Day plan accepted"),
}


def visit_plan_start(*, order: WorkOrder, by: User, start: dt.datetime,
                     why: str = PLANNED_ON_BOARD) -> VisitPlan:
    """Plan when the visit starts inside the customer's booked window. ``order.version``
    is the version the dispatcher saw: it is compared under the order's row lock
    (``lock_order``), and a plan bumps it, so two dispatchers never overwrite each other.

    R10: an exact time the customer chose is the customer's; the dispatcher does not move
    it (a change request to the customer does). R11, R3: the start stays inside the booked
    window (a half day, a day). R15: a change reaches the technician's visit at least the
    notice ahead (2 h, or 30 min later in the same half-day); with one appointment already
    missed by us, a short-notice change is refused as a second broken promise (R16)."""
    if by is not None and not by.has_perm(PERM_DISPATCH):
        raise NotPermitted(_("Only a dispatcher plans the visits of the day."))
    with transaction.atomic():
        locked = lock_order(order)
        if locked.technician is None:
            raise RuleViolation(
                _("Order %(number)s has no technician yet; dispatch it before planning its "
                  "visit.") % {"number": locked.number}, field="start", rule="R4")
        if locked.state not in PLANNABLE_STATES:
            raise RuleViolation(
                _("Order %(number)s is %(state)s: its visit can no longer be planned.")
                % {"number": locked.number, "state": State(locked.state).label},
                field="start", rule="R9")
        booking = locked.appointments.filter(status=AppointmentStatus.BOOKED).first()
        if booking is None:
            raise RuleViolation(_("Order %(number)s has no booked visit to plan.")
                                % {"number": locked.number}, field="start", rule="R9")
        if booking.precision == Precision.EXACT and booking.chosen_by_customer:
            raise RuleViolation(
                _("The customer chose %(window)s; only the customer can move that time. "
                  "Ask the customer for another time instead.")
                % {"window": window_text(booking)}, field="start", rule="R10")
        if not booking.start <= start < booking.end:
            raise RuleViolation(
                _("%(time)s is outside the customer's booked window (%(window)s); plan the "
                  "visit inside it.")
                % {"time": local_text(start, "%H:%M"), "window": window_text(booking)},
                field="start", rule="R11")
        now = clock.now()
        previous = current_plan(booking)
        old_start = previous.planned_start if previous is not None else None
        notice = (rules.required_notice(old_start, start) if old_start is not None
                  else dt.timedelta(minutes=settings.APPOINTMENT_MOVE_NOTICE_MINUTES))
        earliest = min(start, old_start) if old_start is not None else start
        if earliest - now < notice:
            minutes = int(notice.total_seconds() // 60)
            if locked.our_missed_appointments >= 1:
                raise RuleViolation(
                    _("This customer's appointment was already missed once; changing the "
                      "visit at such short notice would break a second promise. Keep the "
                      "planned time, or ask your supervisor."), field="start", rule="R16")
            raise RuleViolation(
                _("A change must be planned at least %(notice)s before the visit; "
                  "choose a later time.")
                % {"notice": (_("%(hours)d h") % {"hours": minutes // 60}) if minutes % 60 == 0
                   else ngettext("%(minutes)d min", "%(minutes)d min", minutes)
                   % {"minutes": minutes}},
                field="start", rule="R15")
        plan = VisitPlan.objects.create(order=locked, appointment=booking,
                                        technician=locked.technician, planned_start=start,
                                        previous_start=old_start, set_at=now, set_by=by)
        # R42: the order's history shows who planned it, when, from which start to which
        # and why; the reason in the site's language, ``why`` for the desk's words.
        with translation.override(settings.LANGUAGE_CODE):
            reason = str(PLAN_REASONS.get(why, why))
        record_event(order=locked, by=by, action=OrderAction.PLAN_VISIT,
                     from_state=locked.state, to_state=locked.state, at=now, reason=reason,
                     payload={"technician": locked.technician_id,
                              "previous_start": old_start.isoformat() if old_start else None,
                              "planned_start": start.isoformat(), "why": why})
        WorkOrder.objects.filter(pk=locked.pk).update(version=F("version") + 1,
                                                      updated_at=now)
    return plan
