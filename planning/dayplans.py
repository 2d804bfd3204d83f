"""Proposed day plans (R4, R10, R11, R14, R15): for an area and a day, each technician's
visits in order with planned starts that keep every booked window, least travel first.

``propose`` reads the day's booked visits of the area (orders still before the visit:
``appointments.services.PLANNABLE_STATES``, and orders booked at intake that wait for a
technician, R3/R4), turns them into a ``routing.Problem`` and asks
the solver (``routing.solve``, PyVRP, ``DAY_PLAN["seconds"]`` of search). What each visit may
do is the rules':

* a time the customer chose (R10) stays exactly where it is; so does a visit whose change
  would come at shorter notice than R15 allows (it is pinned to its current start);
* any other booking may start anywhere in its window (R11: a half day; R3: the working day
  for a whole-day booking), less its service time (``DAY_PLAN["service_minutes"]``);
* visits stay with their technician unless the dispatcher lets the proposal move them
  (``reassign``); then any technician that ``why_not`` allows (area, skills, duty, R4);
* a visit of an order with no technician yet is planned only when visits may move (it may
  go to any technician ``why_not`` allows); otherwise it is listed as having no technician
  yet. An area with nobody on duty gets no proposal but the reason (R4).

The proposal keeps every order's version. ``accept`` applies one technician's route or all
of them through the same services as the day board (``work_order_dispatch`` for an order
without a technician, ``work_order_reassign``, ``visit_plan_start``): a visit changed
since the proposal, or one a rule refuses now, is listed with the reason and the rest go
on. It never changes a customer's booked window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments import services as booking_services
from appointments.models import Appointment, AppointmentStatus, Precision
from fieldops import clock
from technicians.models import Area, Technician
from workorders.access import PERM_DISPATCH
from workorders.errors import DomainError, NotPermitted, RuleViolation
from workorders.models import TERMINAL_STATES, State, WorkOrder
from workorders.services import work_order_dispatch, work_order_reassign
from workorders.services.intake import why_not

from . import routing
from .geocoding import Point, geocoder
from .models import DayPlanAcceptance, DayPlanProposal, OrderLocation
from .ranking import latest_positions, ranking_settings, working_day

DEFAULTS: dict[str, Any] = {
    "seconds": 5.0,
    "service_minutes": {"install": 60, "move": 60, "repair": 45},
    "detour": 1.3,
}

#: Unplanned reason of a visit whose order waits for a technician (R4) when the proposal
#: may not give visits to technicians.
NO_TECHNICIAN_YET = "no_technician_yet"

#: Orders of the day that are not plannable now (none is left out unseen): the customer
#: asked to wait (R12; ``parked:<until>``), no line or port resources yet (R6), the visit
#: already under way, the order in another state (``state:<state>``); a visit held by a
#: technician who is off duty while visits may not move (R4); a fixed start already past.
PARKED = "parked"
NO_RESOURCES = "no_resources"
UNDER_WAY = "under_way"
OTHER_STATE = "state"
OFF_DUTY = "technician_off_duty"
START_PASSED = "start_passed"

UNPLANNED = {
    routing.NO_TECHNICIAN: gettext_lazy("no technician of the area may do it (skills, duty)"),
    routing.NO_ROOM: gettext_lazy("no technician's day has room for it inside its window"),
    "no_place": gettext_lazy("its address has no map position yet"),
    NO_TECHNICIAN_YET: gettext_lazy("no technician yet; let visits move between technicians "
                                    "to have the plan give it to one"),
    PARKED: gettext_lazy("the customer asked to wait; resume the order first"),
    NO_RESOURCES: gettext_lazy("waiting for line or port resources at the address; it is "
                               "planned once they are confirmed"),
    UNDER_WAY: gettext_lazy("its visit is already under way"),
    OFF_DUTY: gettext_lazy("its technician is off duty; let visits move between technicians "
                           "to give it to another"),
    START_PASSED: gettext_lazy("its fixed start time has already passed"),
}


def unplanned_text(reason: str) -> str:
    """A proposal's reason code for a visit it could not plan, in words."""
    code, _sep, arg = reason.partition(":")
    if code == PARKED and arg:
        return _("the customer asked to wait until %(day)s; resume the order first") % {
            "day": arg}
    if code == OTHER_STATE and arg in State.values:
        return _("it is %(state)s: its visit cannot be planned in that state") % {
            "state": State(arg).label}
    return str(UNPLANNED.get(reason, UNPLANNED.get(code, reason)))


def _not_plannable_reason(order: WorkOrder) -> str:
    if order.state == State.PARKED:  # R12
        return f"{PARKED}:{order.parked_until.isoformat()}" if order.parked_until else PARKED
    if order.state == State.NO_RESOURCES:  # R6
        return NO_RESOURCES
    if order.state in (State.EN_ROUTE, State.ON_SITE):
        return UNDER_WAY
    return f"{OTHER_STATE}:{order.state}"


def plan_settings() -> dict[str, Any]:
    given = getattr(settings, "DAY_PLAN", {}) or {}
    merged = {**DEFAULTS, **given}
    merged["service_minutes"] = {**DEFAULTS["service_minutes"],
                                 **given.get("service_minutes", {})}
    return merged


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _seconds(moment: dt.datetime, midnight: dt.datetime) -> int:
    return int((moment - midnight).total_seconds())


def _moment(seconds: int, midnight: dt.datetime) -> dt.datetime:
    # Whole minutes: a plan says 09:40, not 09:40:17.
    return midnight + dt.timedelta(minutes=round(seconds / 60))


class DayInput:
    """The day's problem and what is needed to read the answer back."""

    def __init__(self, area: Area, day: dt.date, *, reassign: bool,
                 now: dt.datetime) -> None:
        cfg, ranking = plan_settings(), ranking_settings()
        self.area, self.day, self.now = area, day, now
        self.midnight = _midnight(day)
        opens, closes = working_day(day, ranking)
        day_open, day_close = _seconds(opens, self.midnight), _seconds(closes, self.midnight)
        start_of_work = max(day_open, _seconds(now, self.midnight))
        # Orders before the visit with their technician, and orders booked at intake (R3)
        # that wait for one (R4): none of the day's booked visits is left out unseen.
        plannable = (Q(order__state__in=booking_services.PLANNABLE_STATES)
                     | Q(order__state=State.ACCEPTED, order__technician__isnull=True))
        of_the_day = (Appointment.objects
                      .filter(status=AppointmentStatus.BOOKED, order__area=area,
                              start__lt=self.midnight + dt.timedelta(days=1),
                              end__gt=self.midnight)
                      .exclude(order__state__in=TERMINAL_STATES)
                      .select_related("order").order_by("start", "pk"))
        bookings = list(of_the_day.filter(plannable))
        # Every other open order booked for the day, and every order the customer asked
        # to hold until this day (R12), is listed with why it is not planned: none is
        # skipped silently.
        held_back = [b.order for b in of_the_day.exclude(plannable)]
        held_back += list(WorkOrder.objects.filter(area=area, state=State.PARKED,
                                                   parked_until=day)
                          .exclude(pk__in=[o.pk for o in held_back]))
        #: order id -> reason code (``UNPLANNED``, ``unplanned_text``)
        self.not_plannable: dict[int, str] = {o.pk: _not_plannable_reason(o)
                                              for o in held_back}
        self.orders: dict[int, WorkOrder] = {b.order_id: b.order for b in bookings}
        self.bookings: dict[int, Appointment] = {b.order_id: b for b in bookings}
        by_booking = booking_services.current_plans(bookings)
        plans = {b.order_id: by_booking.get(b.pk) for b in bookings}
        #: the start the technician works to now: a planned start, or an exact booking;
        #: a half day or a whole day without a plan has none yet
        self.current_start: dict[int, dt.datetime | None] = {
            oid: (plan.planned_start if plan is not None
                  else self.bookings[oid].start
                  if self.bookings[oid].precision == Precision.EXACT else None)
            for oid, plan in plans.items()}
        technicians = list(
            Technician.objects.filter(areas=area).select_related("user")
            .prefetch_related("areas", "skills", "access_types").order_by("pk"))
        held = ({o.technician_id for o in self.orders.values() if o.technician_id is not None}
                - {t.pk for t in technicians})
        if held:
            technicians += list(Technician.objects.filter(pk__in=held).select_related("user")
                                .prefetch_related("areas", "skills", "access_types"))
        self.technicians = {t.pk: t for t in technicians}
        places = {row.order_id: Point(row.latitude, row.longitude)
                  for row in OrderLocation.objects.filter(order_id__in=self.orders)}
        latest = latest_positions(
            list(self.technicians),
            now - dt.timedelta(hours=float(ranking["position_max_age_hours"])))
        centre = geocoder().area_centre(area)
        fallback = centre or next(iter(places.values()), Point(0.0, 0.0))
        workers = [routing.Worker(t.pk, latest.get(t.pk, fallback), start_of_work, day_close)
                   for t in technicians if t.is_active and t.user.is_active]  # on duty (R4)
        on_duty = {w.key for w in workers}
        #: visits the solver may leave out for a reason more exact than its own (read back
        #: in ``propose``): held by an off-duty technician, or fixed at a time now past
        self.off_duty: set[int] = set()
        self.start_passed: set[int] = set()
        #: visits of orders without a technician that the proposal may not give one
        self.no_technician_yet = [] if reassign else [
            oid for oid, order in self.orders.items() if order.technician_id is None]
        self.no_place = [oid for oid in self.orders
                         if oid not in places and oid not in self.no_technician_yet]
        notice = dt.timedelta(minutes=settings.APPOINTMENT_MOVE_NOTICE_MINUTES)
        stops = []
        for oid, order in self.orders.items():
            if oid not in places or oid in self.no_technician_yet:
                continue
            booking = self.bookings[oid]
            service = int(cfg["service_minutes"].get(order.kind, settings.BOARD_VISIT_MINUTES)
                          ) * 60
            working_to = self.current_start[oid]
            current = _seconds(working_to, self.midnight) if working_to else None
            pinned = ((booking.precision == Precision.EXACT and booking.chosen_by_customer)
                      or (working_to is not None and working_to - now < notice))
            # A visit moves to another technician only with the dispatcher's leave; one
            # pinned in time stays with its technician, but an order without one (only
            # here with leave) may go to anyone R4 allows at that time.
            unassigned = order.technician_id is None
            if pinned and current is not None:
                early = late = current
                may_move = unassigned
            else:
                if booking.precision == Precision.DAY:
                    early, end = day_open, day_close
                else:
                    early = _seconds(booking.start, self.midnight)
                    end = _seconds(booking.end, self.midnight)
                early = max(early, _seconds(now + notice, self.midnight))
                late = max(early, end - service)
                may_move = reassign
            eligible = (frozenset(t.pk for t in technicians if why_not(order, t) is None)
                        if may_move else frozenset({order.technician_id or 0}))
            if not reassign and order.technician_id not in on_duty:
                self.off_duty.add(oid)  # R4: nobody else may take it in this proposal
            if early == late and current is not None and current < start_of_work:
                self.start_passed.add(oid)
            stops.append(routing.Stop(oid, places[oid], service, early, late, eligible,
                                      current_worker=order.technician_id,
                                      current_start=current))
        self.problem = routing.Problem(tuple(stops), tuple(workers),
                                       speed_kmh=float(ranking["speed_kmh"]),
                                       detour=float(cfg["detour"]))


def _figures(problem: routing.Problem, plan: routing.Plan) -> dict[str, dict[str, Any]]:
    stops = {s.key: s for s in problem.stops}
    out: dict[str, dict[str, Any]] = {}
    for tech, visits in plan.routes.items():
        late = sum(max(0, v.start - stops[v.stop].late) for v in visits)
        out[str(tech)] = {"km": round(sum(v.travel_m for v in visits) / 1000, 1),
                          "late_min": round(late / 60), "visits": len(visits)}
    return out


def propose(*, area: Area, day: dt.date, by: Any, reassign: bool = False,
            seconds: float | None = None) -> DayPlanProposal:
    """Solve the area's day and keep the proposal (nothing is changed yet)."""
    if by is not None and not by.has_perm(PERM_DISPATCH):
        raise NotPermitted(_("Only a dispatcher plans the visits of the day."))
    now = clock.now()
    if day < timezone.localdate(now):
        raise RuleViolation(_("%(day)s is over; plan today or a later day.")
                            % {"day": day.isoformat()}, field="day", rule="R4")
    given = DayInput(area, day, reassign=reassign, now=now)
    if not given.problem.workers:
        # R4: with nobody to plan for, a proposal would only list every visit as left out.
        raise RuleViolation(_("No technician of area %(area)s is on duty, so there is nobody "
                              "to plan %(day)s for. Put a technician of the area on duty, "
                              "then propose again.")
                            % {"area": area, "day": day.isoformat()}, field="area", rule="R4")
    before = routing.current(given.problem)
    plan = routing.solve(given.problem,
                         seconds=float(seconds if seconds is not None
                                       else plan_settings()["seconds"]))
    unplanned = {str(k): (OFF_DUTY if k in given.off_duty
                          else START_PASSED if k in given.start_passed else reason)
                 for k, reason in plan.unplanned.items()}
    unplanned.update({str(k): reason for k, reason in given.not_plannable.items()})
    unplanned.update({str(k): "no_place" for k in given.no_place})
    unplanned.update({str(k): NO_TECHNICIAN_YET for k in given.no_technician_yet})
    data = {
        "routes": {str(tech): [{"order": v.stop,
                                "start": _moment(v.start, given.midnight).isoformat(),
                                "km": round(v.travel_m / 1000, 1)} for v in visits]
                   for tech, visits in plan.routes.items()},
        "unplanned": unplanned,
        "before": _figures(given.problem, before),
        "after": _figures(given.problem, plan),
        "versions": {str(oid): order.version for oid, order in given.orders.items()},
    }
    return DayPlanProposal.objects.create(
        area=area, day=day, created_at=now, created_by=by, reassign=reassign,
        solver=plan.solver, solve_seconds=round(plan.solve_s, 2), data=data)


class StaleProposal(DomainError):
    """Another dispatcher accepted routes of the proposal since the caller read it."""

    status = 412
    code = "precondition_failed"


def proposal_version(proposal: DayPlanProposal) -> int:
    """The proposal's version (the API's ETag): 1, and one more per route accepted."""
    return 1 + proposal.acceptances.count()


def accept(*, proposal: DayPlanProposal, by: Any, technicians: Iterable[int] | None = None,
           version: int | None = None) -> list[DayPlanAcceptance]:
    """Apply the proposal's routes (all, or those of ``technicians``): each visit goes to
    its technician and gets its planned start, through the services every other way of
    planning uses. A visit that changed since the proposal, or that a rule refuses now, is
    kept as it was and listed with the reason.

    Acceptances of one proposal take turns (its row is locked); with ``version`` (what the
    caller saw, ``proposal_version``) a proposal accepted further meanwhile is refused
    whole, so a dispatcher never acts on routes another already took."""
    if by is not None and not by.has_perm(PERM_DISPATCH):
        raise NotPermitted(_("Only a dispatcher plans the visits of the day."))
    chosen = None if technicians is None else list(technicians)
    if chosen is not None and not chosen:
        raise RuleViolation(_("Choose at least one technician whose route to accept, or "
                              "accept the whole plan."), field="technicians", rule="R4")
    if proposal.day < clock.today_local():
        raise RuleViolation(_("%(day)s is over; its plan can no longer be accepted.")
                            % {"day": proposal.day.isoformat()}, field="day", rule="R4")
    routes: dict[str, list[dict[str, Any]]] = proposal.data.get("routes", {})
    wanted = set(routes) if chosen is None else {str(t) for t in chosen}
    unknown = wanted - set(routes)
    if unknown:
        raise RuleViolation(_("This proposal has no route for the technician chosen; "
                              "propose the day again."), field="technician", rule="R4")
    with transaction.atomic():
        DayPlanProposal.objects.select_for_update().filter(pk=proposal.pk).first()
        if version is not None and proposal_version(proposal) != version:
            raise StaleProposal(
                _("Another dispatcher accepted routes of this plan meanwhile (version %(seen)s "
                  "is now %(current)s); read it again.")
                % {"seen": version, "current": proposal_version(proposal)},
                current_version=proposal_version(proposal))
        return _accept_routes(proposal, by, routes, wanted)


def _accept_routes(proposal: DayPlanProposal, by: Any, routes: dict[str, list[dict[str, Any]]],
                   wanted: set[str]) -> list[DayPlanAcceptance]:
    done_before = set(proposal.acceptances.values_list("technician_id", flat=True))
    versions = proposal.data.get("versions", {})
    results = []
    for tech_key in sorted(wanted, key=int):
        if int(tech_key) in done_before:
            continue
        technician = Technician.objects.get(pk=int(tech_key))
        applied: list[int] = []
        refused: dict[str, str] = {}
        for visit in routes[tech_key]:
            order_id = int(visit["order"])
            try:
                _apply(order_id, technician, dt.datetime.fromisoformat(visit["start"]),
                       versions.get(str(order_id)), by, proposal)
            except DomainError as err:
                refused[str(order_id)] = str(err.message)
            else:
                applied.append(order_id)
        with transaction.atomic():
            row, _created = DayPlanAcceptance.objects.get_or_create(
                proposal=proposal, technician=technician,
                defaults={"accepted_by": by, "accepted_at": clock.now(), "applied": applied,
                          "refused": refused})
        results.append(row)
    return results


def _apply(order_id: int, technician: Technician, start: dt.datetime, version: int | None,
           by: Any, proposal: DayPlanProposal) -> None:
    order = WorkOrder.objects.select_related("technician").get(pk=order_id)
    if version is None or order.version != version:
        raise RuleViolation(
            _("Order %(number)s changed after the proposal was made; propose the day "
              "again.") % {"number": order.number}, field="version", rule="R4")
    reason = _("Day plan of %(day)s") % {"day": proposal.day.isoformat()}
    if order.technician_id is None:  # R4: dispatched as from the desk or the board
        order = work_order_dispatch(order=order, by=by, technician=technician, reason=reason)
    elif order.technician_id != technician.pk:
        order = work_order_reassign(order=order, by=by, technician=technician, reason=reason)
    booking = order.appointments.filter(status=AppointmentStatus.BOOKED).first()
    if booking is None:
        raise RuleViolation(_("Order %(number)s has no booked visit to plan.")
                            % {"number": order.number}, field="start", rule="R9")
    if booking.precision == Precision.EXACT and booking.chosen_by_customer:
        return  # R10: the customer's own time is the plan; nothing to move
    plan = booking_services.current_plan(booking)
    current = plan.planned_start if plan is not None else booking.start
    if current == start:
        return
    # R42: the order's history records the change (PLAN_VISIT, why: the day plan)
    booking_services.visit_plan_start(order=order, by=by, start=start,
                                      why=booking_services.PLANNED_BY_DAY_PLAN)
