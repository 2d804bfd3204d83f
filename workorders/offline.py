"""Steps a technician did offline, sent later by the phone's queue, applied once (issue 16).

``replay`` is the one way in; the field API's endpoint only reads the request, finds the
step's service call and answers with what ``replay`` returned. For each step:

- **Once.** The phone names every step with its own ``client_id``; the same id again
  (a retry after a lost answer, two sends at once) gets the first outcome back and
  changes nothing (a unique column, and the order's row lock, decide a race).
- **Its own order only (R41).** A step for an order that is not the technician's is
  refused and logged; one the technician held but that was given to someone else while
  the phone was offline is a conflict with words saying so.
- **On the state it was made for.** The phone sends the order version its page showed
  (or, for the next steps of the same order, the step before it): if the order changed
  since (reassigned, cancelled, the visit moved, anything else), the step is refused
  with what changed and what to do, never applied on top of it.
- **At the time it was done.** ``phone_at`` corrected by the phone's clock offset
  measured at this sync (``received - phone_sent_at``) is used when it is plausible: not
  after the arrival, not before the order's previous event, not older than
  ``FIELD_OFFLINE_MAX_AGE`` hours. Otherwise the arrival time is used and the step is
  flagged. The step runs inside ``clock.happened(at)``: the services, the event log
  (R42, with ``received_at``) and the SLA timers (R38) see the time it was done.
- **Refusals are kept** (``PhoneStep``) for the dispatcher, with the message the
  technician was shown; a refused step's own writes are rolled back.
- **A sign-off drawn offline where the SMS code is required (R26) is held**, not refused:
  the code is sent to the customer's phone when the step arrives, the phone asks the
  technician for it, and the same step sent again with the code is applied at the time
  the signature was drawn. Until then the order is unchanged (still on site).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from fieldops import clock

from .access import is_order_technician
from .errors import CodeNeeded, ConcurrentModification, DomainError, shown
from .events import OrderAction
from .lifecycle import events_recorded, holding
from .models import (
    Assignment,
    PhoneStep,
    PhoneStepStatus,
    PhoneTimeFlag,
    State,
    WorkOrder,
    WorkOrderEvent,
)
from .services.signoff import work_order_send_sign_off_code

User = Any  # an AUTH_USER_MODEL instance: the technician whose phone sent the step

security_log = logging.getLogger("fieldops.security")

APPLIED, DUPLICATE, REFUSED, HELD = "applied", "duplicate", "refused", "held"
#: ``PhoneStep.step``'s length.
STEP_NAME_MAX = 64
CONFLICT, RULE, FORBIDDEN, INVALID = "conflict", "rule", "forbidden", "invalid"


@dataclasses.dataclass(frozen=True)
class QueuedStep:
    """One step as the phone queued it."""

    client_id: uuid.UUID
    order_id: int
    step: str                 # the technician page's step name, e.g. "check-in"
    phone_at: dt.datetime     # aware; the phone's clock when the technician did the step
    phone_sent_at: dt.datetime  # aware; the phone's clock when it sent this step
    version: int | None       # the order version the page showed (first step of a chain)
    after: uuid.UUID | None   # client id of the previous queued step of this order, if any


@dataclasses.dataclass(frozen=True)
class Replayed:
    """What became of a step; the endpoint sends it back to the phone."""

    status: str               # "applied" | "duplicate" | "refused" | "held"
    at: dt.datetime | None    # the time recorded for the step
    received_at: dt.datetime
    flag: str                 # "" or, translated, why the phone's time was not used
    message: str              # refused or held: the reason in plain words, with what to do
    code: str                 # refused: "conflict" | "rule" | "forbidden" | "invalid"
    version: int | None       # the order's version after the step


#: Events the server records on its own, which a step done offline may precede: the code
#: sent for a held sign-off (R26) changes nothing on the order; the sweep's "missed by us"
#: (R16) and its withdrawal are what a check-in done in time but sent late corrects.
UNORDERED = [OrderAction.SEND_SIGN_OFF_CODE, OrderAction.APPOINTMENT_MISSED,
             OrderAction.APPOINTMENT_MISS_WITHDRAWN]

#: What the product does by itself to an order that a step done earlier offline makes
#: wrong, so the step is still applied on top of it (and corrects it): R16's sweep, which
#: records a booking nobody checked in to as missed while the technician's check-in waited
#: on the phone.
CORRECTABLE = frozenset({OrderAction.APPOINTMENT_MISSED})


def max_age() -> dt.timedelta:
    return dt.timedelta(hours=settings.FIELD_OFFLINE_MAX_AGE)


def future_tolerance() -> dt.timedelta:
    return dt.timedelta(seconds=settings.FIELD_OFFLINE_FUTURE_TOLERANCE)


def replay(step: QueuedStep, *, by: User, run: Callable[[WorkOrder], object]) -> Replayed:
    """Apply one step sent from ``by``'s phone, once: ``run(order)`` calls the step's
    service on the order as the phone saw it, inside ``clock.happened(at)`` and a
    savepoint. Never raises a ``DomainError``: a refusal is the answer (and is kept)."""
    received = clock.received()
    problem = _malformed(step)
    if problem:
        return _refused(INVALID, problem, received)
    try:
        with transaction.atomic():
            return _apply(step, by=by, run=run, received=received)
    except IntegrityError:
        # The same client id inserted meanwhile by a request for another order (a request
        # for this order waits on its row lock and finds it in ``_apply``).
        prior = PhoneStep.objects.filter(client_id=step.client_id).first()
        if prior is None:
            raise
        return _again(prior, step)


def _malformed(step: QueuedStep) -> str:
    if not isinstance(step.client_id, uuid.UUID):
        return _("The step has no valid id; it was not applied. Do it again on the order page.")
    for moment in (step.phone_at, step.phone_sent_at):
        if not isinstance(moment, dt.datetime) or timezone.is_naive(moment):
            return _("The step's time is missing or has no time zone; it was not applied. "
                     "Do it again on the order page.")
    if not step.step or len(step.step) > STEP_NAME_MAX:
        return _("The step has no valid name; it was not applied.")
    if step.after is None and step.version is None:
        return _("The step does not say which state of the order it was made on; it was not "
                 "applied. Open the order and do it again.")
    return ""


def _refused(code: str, message: str, received: dt.datetime,
             version: int | None = None) -> Replayed:
    return Replayed(status=REFUSED, at=None, received_at=received, flag="", message=message,
                    code=code, version=version)


def _again(prior: PhoneStep, step: QueuedStep) -> Replayed:
    """The same client id once more: the first outcome, unless the id is reused for
    another order or step (refused, nothing recorded)."""
    if prior.order_id != step.order_id or prior.step != step.step:
        return _refused(INVALID, _("This step's id was already used for another step; it was "
                                   "not applied. Do the step again on the order page."),
                        clock.received())
    return _answer(prior, duplicate=True)


def _resumes(prior: PhoneStep, step: QueuedStep) -> bool:
    """``step`` is a held step sent again (with the customer's code, R26)."""
    return (prior.status == PhoneStepStatus.HELD and prior.order_id == step.order_id
            and prior.step == step.step)


def _answer(record: PhoneStep, *, duplicate: bool = False, message: str = "") -> Replayed:
    """What the phone is told about ``record``; the first outcome again for a duplicate
    (a step refused the first time stays refused, with the same reason, so a phone that
    lost the first answer still shows it)."""
    if record.status == PhoneStepStatus.REFUSED:
        return _refused(record.code, record.message, record.received_at, record.version)
    if record.status == PhoneStepStatus.HELD:
        return Replayed(status=HELD, at=record.recorded_at, received_at=record.received_at,
                        flag=str(PhoneTimeFlag(record.flag).label) if record.flag else "",
                        message=message or record.message, code="", version=record.version)
    return Replayed(status=DUPLICATE if duplicate else APPLIED, at=record.recorded_at,
                    received_at=record.received_at,
                    flag=str(PhoneTimeFlag(record.flag).label) if record.flag else "",
                    message="", code="", version=record.version)


def _apply(step: QueuedStep, *, by: User, run: Callable[[WorkOrder], object],
           received: dt.datetime) -> Replayed:
    # Locked as ``lifecycle.lock_order`` locks it (the step's service takes this read), with
    # the time of its last event (``time_of``) in the same read.
    order = (WorkOrder.objects.select_for_update(no_key=True, of=("self",))
             .select_related("technician", "area")
             .annotate(last_event_at=Subquery(
                 WorkOrderEvent.objects.filter(order=OuterRef("pk"))
                 .exclude(action__in=UNORDERED).order_by("-at").values("at")[:1]))
             .filter(pk=step.order_id).first())
    if order is None:
        return _refused(INVALID, _("This order does not exist; the step was not applied."),
                        received)
    # This step sent before (a lost answer, two sends at once, a held sign-off with its
    # code) and the step it was queued after, in one read under the order's lock.
    known = {row.client_id: row for row in PhoneStep.objects.filter(
        client_id__in=[step.client_id] + ([step.after] if step.after else []))}
    prior = known.get(step.client_id)
    if prior is not None and _resumes(prior, step):
        return _resume(prior, order, by=by, run=run)
    if prior is not None:
        return _again(prior, step)
    at, flag = time_of(step, order.last_event_at, received)
    record = PhoneStep(client_id=step.client_id, order=order, user=by, step=step.step,
                       phone_at=step.phone_at, phone_sent_at=step.phone_sent_at,
                       received_at=received, flag=flag, after=step.after)
    # Inserted with its outcome (``settle``); the same client id sent meanwhile for another
    # order fails on the unique index then, undoing the step (``replay``).

    def refuse(code: str, message: str, based_on: int | None = None) -> Replayed:
        record.settle(status=PhoneStepStatus.REFUSED, code=code, message=message,
                      version=_version(order), based_on=based_on)
        return _answer(record)

    if not is_order_technician(order, by):
        if _held_by(order, by):
            return refuse(CONFLICT, _reassigned(order, by))
        security_log.warning("phone step refused (R41): user=%s order=%s step=%s client_id=%s",
                             getattr(by, "pk", None), order.pk, step.step, step.client_id)
        return refuse(FORBIDDEN, _("This order is not yours; the step was not applied. Ask "
                                   "the dispatcher if you think it should be."))
    expected = step.version
    if step.after is not None:
        before = known.get(step.after)
        if before is not None and before.order_id != order.pk:
            return refuse(INVALID, _("The step names an earlier step of another order; it was "
                                     "not applied."))
        if before is None or before.status != PhoneStepStatus.APPLIED:
            return refuse(CONFLICT, _("An earlier step of this order was not applied, so this "
                                      "one was not applied either. Open the order, check "
                                      "it, and do the steps again that are still needed."))
        expected = before.version
    if order.version != expected and not _only_corrected_since(order, expected, at):
        return refuse(CONFLICT, what_changed(order, by), based_on=expected)

    return _run(record, order, at=at, expected=expected, run=run, by=by)


def _run(record: PhoneStep, order: WorkOrder, *, at: dt.datetime, expected: int | None,
         run: Callable[[WorkOrder], object], by: User) -> Replayed:
    """Run the step's service on ``order`` as of ``at`` in a savepoint and settle
    ``record`` with the outcome: applied, refused, or held for the customer's code."""
    try:
        with (transaction.atomic(), clock.happened(at), events_recorded() as produced,
              holding(order)):
            run(order)
    except CodeNeeded:
        return _hold(record, order, at=at, expected=expected, by=by)
    except DomainError as error:
        for write in error.durable:  # the savepoint undid them (a wrong code's try)
            write()
        if record.status == PhoneStepStatus.HELD and getattr(error, "field", "") == "code":
            # A wrong or expired code: still held, the signature kept; try again.
            return _answer(record, message=_held_again(error))
        code = CONFLICT if isinstance(error, ConcurrentModification) else RULE
        record.settle(status=PhoneStepStatus.REFUSED, code=code, message=shown(error),
                      based_on=expected, version=_version(order))
        return _answer(record)
    record.settle(status=PhoneStepStatus.APPLIED, recorded_at=at, based_on=expected,
                  version=_version(order), event=produced[0] if produced else None)
    return _answer(record)


def _only_corrected_since(order: WorkOrder, expected: int | None, at: dt.datetime) -> bool:
    """Every change since the version the phone saw is one the product made by itself
    after the step was done (``CORRECTABLE``): each such change is one version and one
    event, so the order's last events are those changes, made by nobody, later than
    ``at``. Anything else (a person's change, a change without an event) is a conflict."""
    if expected is None or order.version < expected:
        return False
    changes = order.version - expected
    latest = list(WorkOrderEvent.objects.filter(order=order).order_by("-id")
                  .values_list("action", "actor_id", "at")[:changes])
    return len(latest) == changes and all(
        action in CORRECTABLE and actor is None and when > at
        for action, actor, when in latest)


def _version(order: WorkOrder) -> int:
    return WorkOrder.objects.values_list("version", flat=True).get(pk=order.pk)


# --- A sign-off drawn offline that waits for the customer's code (R26) ------------------

def _hold(record: PhoneStep, order: WorkOrder, *, at: dt.datetime, expected: int | None,
          by: User) -> Replayed:
    """Keep the sign-off drawn offline with its time, send the code to the customer's
    phone now (not at the time the signature was drawn) and ask the technician for it."""
    if record.status == PhoneStepStatus.HELD:  # sent again without the code
        return _answer(record, message=_("Type in the code sent to the customer's phone to "
                                         "finish the sign-off."))
    message = _("The customer's phone has been sent a code. Ask them for it and type it in "
                "to finish the sign-off; the signature keeps the time it was drawn.")
    try:
        with transaction.atomic():
            work_order_send_sign_off_code(order=order, by=by)
    except DomainError as error:  # too many codes this hour: the page can send one later
        message = _("%(problem)s Send a new code from the sign-off page, then type it in "
                    "here.") % {"problem": shown(error)}
    record.settle(status=PhoneStepStatus.HELD, recorded_at=at, based_on=expected,
                  version=_version(order), message=message)
    return _answer(record)


def _held_again(error: DomainError) -> str:
    return _("%(problem)s The signature is kept; type in the right code.") % {
        "problem": shown(error)}


def _resume(record: PhoneStep, order: WorkOrder, *, by: User,
            run: Callable[[WorkOrder], object]) -> Replayed:
    """A held sign-off sent again (with the code): applied on the state it was held on,
    at the time the signature was drawn; refused if the order changed meanwhile."""
    if not is_order_technician(order, by) or order.version != record.version:
        message = what_changed(order, by)
        record.settle(status=PhoneStepStatus.REFUSED, code=CONFLICT, message=message,
                      version=order.version)
        return _answer(record)
    assert record.recorded_at is not None  # set when it was held
    return _run(record, order, at=record.recorded_at, expected=record.based_on, run=run, by=by)


def time_of(step: QueuedStep, previous: dt.datetime | None,
            received: dt.datetime) -> tuple[dt.datetime, str]:
    """The time to record for ``step`` and, when it is the arrival instead of the phone's,
    the ``PhoneTimeFlag`` saying why. The phone's clock may be wrong by any amount; what
    it measured between doing and sending the step is trusted (``phone_at`` corrected by
    the offset seen at this sync), unless it falls before ``previous``, the order's last
    event in the order of time (``UNORDERED`` ones aside)."""
    corrected = step.phone_at + (received - step.phone_sent_at)
    if corrected > received + future_tolerance():
        return received, PhoneTimeFlag.FUTURE
    corrected = min(corrected, received)  # a few seconds ahead: the phone sent it at once
    if received - corrected > max_age():
        return received, PhoneTimeFlag.TOO_OLD
    if previous is not None and corrected < previous:
        return received, PhoneTimeFlag.BEFORE_PREVIOUS
    return corrected, ""


# --- Conflicts in plain words -------------------------------------------------------------

def _when(moment: dt.datetime) -> str:
    local = timezone.localtime(moment)
    if local.date() == timezone.localdate(clock.received()):
        return f"{local:%H:%M}"
    return f"{local:%m-%d %H:%M}"


def _held_by(order: WorkOrder, by: User) -> bool:
    """``by`` held this order at some point (it was given to someone else since)."""
    return bool(by is not None and getattr(by, "pk", None) is not None
                and Assignment.objects.filter(order=order, technician__user=by).exists())


def _reassigned(order: WorkOrder, by: User) -> str:
    change = (WorkOrderEvent.objects.filter(order=order, action__in=[
        OrderAction.REASSIGN, OrderAction.UNASSIGN, OrderAction.DISPATCH,
        OrderAction.REASSIGN_REWORK]).order_by("-at", "-id").first())
    if change is None:
        return _("This order was given to another technician while your phone was offline; "
                 "your step was not applied. Ask the dispatcher what to do.")
    return _("This order was given to another technician at %(time)s (by %(who)s) while your "
             "phone was offline; your step was not applied. Ask the dispatcher what to do.") % {
        "time": _when(change.at), "who": change.actor_label}


def what_changed(order: WorkOrder, by: User) -> str:
    """Why a step made on an older state of ``order`` is refused, in plain words with what
    to do: given to someone else, cancelled, the visit moved, or who changed what when."""
    if order.technician is None or order.technician.user_id != getattr(by, "pk", None):
        return _reassigned(order, by)
    if order.state == State.CANCELLED:
        cancel = (WorkOrderEvent.objects.filter(order=order, action=OrderAction.CANCEL)
                  .order_by("-at", "-id").first())
        if cancel is not None and cancel.reason:
            return _("The order was cancelled at %(time)s (%(reason)s); your step was not "
                     "applied and there is nothing more to do on it.") % {
                "time": _when(cancel.at), "reason": cancel.reason}
        return _("The order was cancelled; your step was not applied and there is nothing "
                 "more to do on it.")
    latest = (WorkOrderEvent.objects.filter(order=order).exclude(actor=by)
              .order_by("-at", "-id").first())
    if latest is None:
        return _("The order changed since your phone showed it (it is now %(state)s); your "
                 "step was not applied. Open the order and do the step again if it is still "
                 "needed.") % {"state": State(order.state).label}
    if latest.action in (OrderAction.RESCHEDULE, OrderAction.SCHEDULE):
        start = latest.payload.get("start")
        if start:
            return _("The visit was moved to %(start)s by %(who)s at %(time)s; your step was "
                     "not applied. See the new time on the order page.") % {
                "start": _when(dt.datetime.fromisoformat(start)), "who": latest.actor_label,
                "time": _when(latest.at)}
        return _("The visit was moved by %(who)s at %(time)s; your step was not applied. See "
                 "the new time on the order page.") % {"who": latest.actor_label,
                                                        "time": _when(latest.at)}
    return _("%(who)s changed the order at %(time)s (%(what)s); your step was not applied. "
             "Open the order to see it as it is now, and do the step again if it is still "
             "needed.") % {"who": latest.actor_label, "time": _when(latest.at),
                           "what": OrderAction(latest.action).label}
