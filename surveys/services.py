"""Survey and rework, owned here: follow-ups (R28), the callback survey and its callbacks
(R29, R30), and the rework loop (R31-R33) with its transitions of the order. Each write
also appends to the order's event log (R42)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from fieldops import clock
from notifications.models import Channel
from notifications.services import notify
from technicians.models import Technician
from technicians.selectors import supervisors_for
from workorders import selectors as wo_selectors
from workorders.access import is_order_technician
from workorders.errors import (
    DomainError,
    IllegalTransition,
    NoTechnicianAvailable,
    NotPermitted,
    RuleViolation,
)
from workorders.events import OrderAction
from workorders.lifecycle import User, precheck, record_event, require, transition
from workorders.messages import sms_customer, tell_users
from workorders.models import State, WorkOrder
from workorders.services.intake import choose_technician, start_assignment

from . import links
from .models import (
    AnswerChannel,
    Callback,
    CallbackStatus,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    ReworkOutcome,
    ReworkRound,
    Survey,
    SurveyStatus,
)

PERM_LOG = "surveys.add_followup"
PERM_ANSWER = "surveys.change_followup"
#: R30: recording a callback's result (the call-centre).
PERM_CALLBACK = "workorders.intake_workorder"


def default_answer_window() -> dt.timedelta:
    """How long the owner has to answer (R28); a policy setting, 24 h unless configured."""
    return dt.timedelta(hours=getattr(settings, "FOLLOW_UP_ANSWER_HOURS", 24))


class AlreadyAnswered(DomainError):
    status = 409
    code = "already_answered"


def follow_up_log(*, order: WorkOrder, by: Any, kind: str, text: str, owner: Any = None,
                  due_at: dt.datetime | None = None) -> FollowUp:
    """R28 (首问负责制): log a question the technician could not answer on site, or a
    complaint; it is owned by whoever was first asked (``by`` unless ``owner`` is named)
    and tracked until answered."""
    if by is not None and not (by.has_perm(PERM_LOG) or is_order_technician(order, by)):
        raise NotPermitted(_("You may not log follow-ups on order %(number)s.")
                           % {"number": order.number})
    if kind not in FollowUpKind.values:
        raise RuleViolation(_("A follow-up is a question or a complaint."), field="kind",
                            rule="R28")
    if not text or not text.strip():
        raise RuleViolation(_("Write down the customer's question or complaint (R28)."),
                            field="text", rule="R28")
    owner = owner or by
    if owner is None:
        raise RuleViolation(_("Name who owns the follow-up until it is answered (R28)."),
                            field="owner", rule="R28")
    now = clock.now()
    due_at = due_at or now + default_answer_window()
    if due_at <= now:
        raise RuleViolation(_("The answer must be due in the future (R28)."),
                            field="due_at", rule="R28")
    with transaction.atomic():
        locked = WorkOrder.objects.select_for_update(no_key=True, of=("self",)).get(
            pk=order.pk)
        follow_up = FollowUp.objects.create(order=locked, kind=kind, text=text.strip(),
                                            owner=owner, due_at=due_at, created_by=by,
                                            created_at=now)
        record_event(order=locked, by=by, action=OrderAction.FOLLOW_UP_LOGGED,
                     from_state=locked.state,
                     to_state=locked.state, reason=follow_up.text, at=now,
                     payload={"follow_up": follow_up.pk, "kind": kind, "owner": owner.pk,
                              "due_at": due_at.isoformat()})
    return follow_up


def follow_up_answer(*, follow_up: FollowUp, by: Any, answer: str) -> FollowUp:
    """R28: the owner (or anyone holding the permission) records the answer given to the
    customer; the follow-up is then closed. Answering twice is refused."""
    if by is not None and not (by.pk == follow_up.owner_id or by.has_perm(PERM_ANSWER)):
        raise NotPermitted(_("Only the owner or the call-centre answers this follow-up."))
    if not answer or not answer.strip():
        raise RuleViolation(_("Write down the answer given to the customer (R28)."),
                            field="answer", rule="R28")
    now = clock.now()
    with transaction.atomic():
        # Compare-and-swap: of two people answering at once, one wins.
        changed = FollowUp.objects.filter(pk=follow_up.pk, status=FollowUpStatus.OPEN).update(
            status=FollowUpStatus.ANSWERED, answer=answer.strip(), answered_by=by,
            answered_at=now)
        if not changed:
            raise AlreadyAnswered(_("This follow-up was answered already; reload it."),
                                  follow_up=follow_up.pk)
        answered = FollowUp.objects.select_related("order").get(pk=follow_up.pk)
        order = answered.order
        record_event(order=order, by=by, action=OrderAction.FOLLOW_UP_ANSWERED,
                     from_state=order.state,
                     to_state=order.state, reason=answered.answer, at=now,
                     payload={"follow_up": answered.pk})
    return answered


# --- Callback surveys and the rework loop (R29-R33) ------------------------------------
#
# One survey row per round. ``survey_open`` sends it (after completion, R29, and after
# each resolved rework, R32); ``survey_answer`` is the only way to answer it, whoever
# answers: the customer's link, the call-centre's callback in the admin, or the API. The
# order's transitions (``close_satisfied``, ``start_rework``, ``reassign_rework``,
# ``resolve_rework``) stay in ``workorders.services``; this module keeps the rows that
# number and remember the rounds.

class SurveyNotOpen(DomainError):
    status = 409
    code = "survey_not_open"


def quiet_hours() -> tuple[dt.time, dt.time] | None:
    """R29: the local hours in which no survey SMS goes out (``SURVEY_QUIET_HOURS``,
    "21:00-08:00"; the window may wrap midnight; empty or equal ends: none)."""
    text = (getattr(settings, "SURVEY_QUIET_HOURS", "") or "").strip()
    if not text:
        return None
    start_text, _sep, end_text = text.partition("-")
    start = dt.time.fromisoformat(start_text.strip())
    end = dt.time.fromisoformat(end_text.strip())
    return None if start == end else (start, end)


def sms_not_before(at: dt.datetime) -> dt.datetime:
    """The first moment from ``at`` on that lies outside the quiet hours (site time)."""
    window = quiet_hours()
    if window is None:
        return at
    start, end = window
    local = timezone.localtime(at)
    moment = local.time()
    if start < end:
        inside = start <= moment < end
        end_day = local.date()
    else:  # wraps midnight: 21:00-08:00
        inside = moment >= start or moment < end
        end_day = local.date() + dt.timedelta(days=1) if moment >= start else local.date()
    if not inside:
        return at
    return dt.datetime.combine(end_day, end, tzinfo=local.tzinfo)


def callback_after() -> dt.timedelta:
    """R30: how long the customer has to answer before the call-centre calls."""
    return dt.timedelta(hours=getattr(settings, "SURVEY_CALLBACK_AFTER_HOURS", 24))


def survey_open(*, order: WorkOrder, now: dt.datetime,
                payload: dict[str, Any] | None = None) -> Survey:
    """R29/R32: send the survey of the order's current round. Call inside the transaction
    that moves the order to survey-pending (it holds the order's row lock); ``payload`` (the
    transition's event details) gets the survey's id and times. The SMS waits in the outbox
    until the quiet hours end; the callback is due a set time after that."""
    survey = _survey_row(order, now, not_before=sms_not_before(now))
    url = links.absolute_url(survey)
    values = {"number": order.number, "url": url}
    if order.rework_round:
        def body() -> str:
            return _("Your complaint about order %(number)s has been handled. Are you "
                     "satisfied now? Tell us in one minute: %(url)s") % values
    else:
        def body() -> str:
            return _("Order %(number)s is complete. Are you satisfied with the visit? Tell us "
                     "in one minute: %(url)s") % values
    sms_customer(order, kind="survey", body=body, params=values,
                  dedupe_key=f"survey:{survey.pk}",
                  not_before=survey.sms_not_before)
    if payload is not None:
        payload.update({"survey": survey.pk, "round": survey.round,
                        "sms_not_before": survey.sms_not_before.isoformat(),
                        "callback_due_at": survey.callback_due_at.isoformat()})
    return survey


def _survey_row(order: WorkOrder, now: dt.datetime, *, not_before: dt.datetime) -> Survey:
    _supersede_pending(order, now, reason="new survey round")
    return Survey.objects.create(
        order=order, round=order.rework_round, technician=order.technician,
        created_at=now, sms_not_before=not_before,
        callback_due_at=not_before + callback_after(), nonce=links.new_nonce(),
        expires_at=not_before + links.max_age())


def _supersede_pending(order: WorkOrder, now: dt.datetime, *, reason: str) -> None:
    """Surveys still waiting when the order moves on no longer count; their callbacks are
    no longer needed."""
    pending = list(Survey.objects.filter(order=order, status=SurveyStatus.PENDING)
                   .values_list("pk", flat=True))
    if not pending:
        return
    Survey.objects.filter(pk__in=pending).update(status=SurveyStatus.SUPERSEDED)
    Callback.objects.filter(survey_id__in=pending, status=CallbackStatus.OPEN).update(
        status=CallbackStatus.CANCELLED, done_at=now, note=reason)


def survey_superseded(*, order: WorkOrder, now: dt.datetime, reason: str) -> None:
    """The order left the survey's path (reopened for rework, R52): its pending survey and
    callback no longer count. Call inside the transaction that moved the order."""
    _supersede_pending(order, now, reason=reason)


def _rating(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise RuleViolation(_("Ratings are from 1 to 5."), field=field, rule="R29")
    return value


def survey_answer(*, survey: Survey, by: Any, channel: str, satisfied: bool,
                  punctuality: int | None = None, conduct: int | None = None,
                  result: int | None = None, comment: str = "",
                  order: WorkOrder | None = None) -> Survey:
    """R29-R33: record an answer to a survey, from the customer's link (``by`` None,
    channel ``sms``), the call-centre's callback (R30) or the API. The answer is kept on
    the survey and in the order's event log (R42). Satisfied closes the order. Not
    satisfied opens a numbered rework round with the same technician and its contact timer
    (R31); from the second unsatisfied answer on, the supervisor is told and the round goes
    to another technician, none who had the order before (R33). A survey is answered once:
    a second answer is refused. ``order``: the caller's copy, to refuse a stale one."""
    if channel not in AnswerChannel.values:
        raise RuleViolation(_("Unknown survey channel."), field="channel", rule="R29")
    if not isinstance(satisfied, bool):
        raise RuleViolation(_("Say whether the customer is satisfied."), field="satisfied",
                            rule="R29")
    if channel == AnswerChannel.SMS and by is not None:
        raise NotPermitted(_("Only the customer answers through the survey link."))
    if channel != AnswerChannel.SMS and by is None:
        raise NotPermitted(_("A callback's answer is recorded by the call-centre agent who "
                             "called (R30)."))
    ratings = {"punctuality": _rating(punctuality, "punctuality"),
               "conduct": _rating(conduct, "conduct"), "result": _rating(result, "result")}
    comment = (comment or "").strip()
    if order is None or order.pk != survey.order_id:
        order = WorkOrder.objects.get(pk=survey.order_id)
    with transaction.atomic():
        now = clock.now()
        # Compare-and-swap: of two answers at once (the customer's link and a callback),
        # the first wins; the second is told it was answered already.
        changed = Survey.objects.filter(pk=survey.pk, status=SurveyStatus.PENDING).update(
            status=SurveyStatus.ANSWERED, answered_at=now, answered_by=by, channel=channel,
            satisfied=satisfied, comment=comment, **ratings)
        if not changed:
            current = Survey.objects.filter(pk=survey.pk).values_list("status",
                                                                       flat=True).first()
            if current == SurveyStatus.ANSWERED:
                raise AlreadyAnswered(_("This survey was answered already."), survey=survey.pk)
            raise SurveyNotOpen(_("This survey is no longer open."), survey=survey.pk)
        payload = {"survey": survey.pk, "round": survey.round, "channel": channel,
                   "satisfied": satisfied, **ratings}
        closed = Callback.objects.filter(survey=survey, status=CallbackStatus.OPEN)
        if channel == AnswerChannel.SMS:
            closed.update(status=CallbackStatus.CANCELLED, done_at=now,
                          note="answered through the link")
        else:
            closed.update(status=CallbackStatus.DONE, done_at=now, done_by=by, note=comment)
        previous = (ReworkRound.objects.filter(order_id=survey.order_id,
                                               outcome=ReworkOutcome.RESOLVED)
                    .order_by("-number").first())
        if previous is not None:
            previous.outcome = (ReworkOutcome.SATISFIED if satisfied
                                else ReworkOutcome.UNSATISFIED)
            previous.save(update_fields=["outcome"])
        if satisfied:
            work_order_close_satisfied(order=order, by=by, comment=comment, payload=payload)
        else:
            rework = work_order_start_rework(order=order, by=by, comment=comment,
                                             payload=payload)
            _open_round(rework, survey=survey, by=by)
    return Survey.objects.get(pk=survey.pk)


def _open_round(order: WorkOrder, *, survey: Survey, by: Any) -> ReworkRound:
    """R31: the round the unsatisfied answer opened (numbered by the order's rework round),
    with the same technician. R33: from round 2 on the supervisor is told and the round is
    handed to another technician automatically; if nobody fits, the order stays in rework
    and the dispatcher is asked to choose by hand."""
    round_ = ReworkRound.objects.create(order=order, number=order.rework_round,
                                        opened_at=order.updated_at, survey=survey,
                                        technician=order.technician)
    if round_.number < 2:
        return round_
    now = clock.now()
    values = {"number": order.number, "round": round_.number,
              "name": order.technician.display_name if order.technician else "-",
              "comment": survey.comment or "-"}
    _tell_supervisors(order, kind="rework_repeat", dedupe=f"r33:{round_.pk}",
                      body=_("Order %(number)s: the customer is still not satisfied after "
                             "rework (round %(round)s, %(name)s): %(comment)s. Another "
                             "technician is being sent (R33).") % values)
    round_.supervisor_notified_at = now
    round_.save(update_fields=["supervisor_notified_at"])
    try:
        with transaction.atomic():
            work_order_reassign_rework(
                order=order, by=None,
                reason=_("Still not satisfied after rework round %(round)s (R33)") % values)
    except NoTechnicianAvailable:
        text = _("Order %(number)s: rework round %(round)s needs another technician, but "
                 "none who has not had the order is free. Reassign it by hand (R33).") % values
        _tell_role(order, "dispatcher", kind="rework_unassigned", body=text,
                   dedupe=f"r33-none:{round_.pk}")
        _tell_supervisors(order, kind="rework_unassigned", body=text,
                          dedupe=f"r33-none:{round_.pk}")
    round_.refresh_from_db()
    return round_


def _tell_role(order: WorkOrder, role: str, *, kind: str, body: str, dedupe: str) -> None:
    """An in-app notice on a role's desk (as the SLA engine addresses them)."""
    notify(channel=Channel.IN_APP, kind=kind, body=body, address=f"role:{role}", order=order,
           dedupe_key=f"{dedupe}:{role}")


def _tell_supervisors(order: WorkOrder, *, kind: str, body: str, dedupe: str) -> None:
    """R33: the team's supervisor (every supervisor when the team has none), in the app,
    and the supervisors' desk."""
    tell_users(supervisors_for(order.technician), order, kind=kind, body=body, dedupe=dedupe)
    _tell_role(order, "supervisor", kind=kind, body=body, dedupe=dedupe)


def rework_resolved(*, order: WorkOrder, note: str, now: dt.datetime,
                    payload: dict[str, Any] | None = None) -> None:
    """R32: the technician reported the complaint resolved: the round keeps the note and
    the customer is surveyed again. Call inside the ``resolve_rework`` transaction."""
    ReworkRound.objects.filter(order=order, number=order.rework_round,
                               outcome=ReworkOutcome.OPEN).update(
        resolution_note=note, resolved_at=now, outcome=ReworkOutcome.RESOLVED)
    survey_open(order=order, now=now, payload=payload)


def rework_reassigned(*, order: WorkOrder, previous_id: int | None,
                      now: dt.datetime) -> None:
    """R33: the current round changed hands. Call inside the ``reassign_rework``
    transaction."""
    ReworkRound.objects.filter(order=order, number=order.rework_round).update(
        technician=order.technician, previous_technician_id=previous_id, reassigned_at=now)


def survey_answer_for_order(*, order: WorkOrder, by: Any, channel: str, satisfied: bool,
                            punctuality: int | None = None, conduct: int | None = None,
                            result: int | None = None, comment: str = "") -> Survey:
    """R30: the call-centre records an answer on the order itself (API action, the desk):
    the survey waiting for an answer, or, if the automatic survey has not been sent yet
    (the order was completed moments ago), the survey sent now."""
    with transaction.atomic():
        survey = Survey.objects.filter(order=order, status=SurveyStatus.PENDING).first()
        if survey is None and order.state == State.COMPLETED:
            # Answered before the automatic survey went out: the answer is its own round
            # (no SMS); the survey task then finds the order moved on and does nothing.
            survey = _survey_row(order, clock.now(), not_before=clock.now())
        if survey is None:
            allowed = wo_selectors.allowed_actions(order, by) if by is not None else []
            raise IllegalTransition(order, "record_survey", allowed)
        return survey_answer(survey=survey, by=by, channel=channel, satisfied=satisfied,
                             punctuality=punctuality, conduct=conduct, result=result,
                             comment=comment, order=order)


def callback_record(*, callback: Callback, by: Any, satisfied: bool,
                    punctuality: int | None = None, conduct: int | None = None,
                    result: int | None = None, comment: str = "",
                    channel: str = AnswerChannel.CALLBACK) -> Callback:
    """R30: the agent called the customer and records the answer, exactly as the
    customer's own (``survey_answer``); the callback is then done."""
    if by is None or not (by.is_superuser or by.has_perm(PERM_CALLBACK)):
        raise NotPermitted(_("Only the call-centre records callbacks (R30)."))
    if callback.status != CallbackStatus.OPEN:
        raise AlreadyAnswered(_("This callback is no longer open; reload the queue."),
                              callback=callback.pk)
    survey_answer(survey=callback.survey, by=by, channel=channel, satisfied=satisfied,
                  punctuality=punctuality, conduct=conduct, result=result, comment=comment)
    return Callback.objects.select_related("survey", "order").get(pk=callback.pk)


def callback_not_reached(*, callback: Callback, by: Any, note: str = "") -> Callback:
    """R30: the agent called and did not reach the customer. The try is counted and logged
    on the order (R42); the callback stays in the queue for another call."""
    if by is None or not (by.is_superuser or by.has_perm(PERM_CALLBACK)):
        raise NotPermitted(_("Only the call-centre records callbacks (R30)."))
    note = (note or "").strip()
    with transaction.atomic():
        now = clock.now()
        changed = Callback.objects.filter(pk=callback.pk, status=CallbackStatus.OPEN).update(
            attempts=F("attempts") + 1, last_attempt_at=now, note=note)
        if not changed:
            raise AlreadyAnswered(_("This callback is no longer open; reload the queue."),
                                  callback=callback.pk)
        tried = Callback.objects.select_related("survey", "order").get(pk=callback.pk)
        order = tried.order
        record_event(order=order, by=by, action=OrderAction.CALLBACK_NOT_REACHED,
                     from_state=order.state, to_state=order.state, reason=note, at=now,
                     payload={"callback": tried.pk, "survey": tried.survey_id,
                              "attempts": tried.attempts})
    return tried


def callbacks_open_due(*, limit: int = 500) -> int:
    """R30: every survey still unanswered at its callback time gets a callback task for
    the call-centre (once: the callback is one-to-one with its survey). Returns how many
    were opened; running it again opens none."""
    now = clock.now()
    opened = 0
    waiting = {"status": SurveyStatus.PENDING, "callback_due_at__lte": now,
               "callback__isnull": True}
    with transaction.atomic():
        # The lock order of every order change: the orders first (skipping any a
        # transition holds; the next run takes it), in id order, then their surveys.
        candidates = list(Survey.objects.filter(**waiting).order_by("callback_due_at")
                          .values_list("order_id", flat=True)[:limit])
        orders = list(WorkOrder.objects.select_for_update(no_key=True, skip_locked=True,
                                                          of=("self",))
                      .filter(pk__in=candidates).order_by("pk").values_list("pk", flat=True))
        due = list(Survey.objects.select_for_update(of=("self",))
                   .filter(order_id__in=orders, **waiting)
                   .select_related("order").order_by("order_id", "pk"))
        for survey in due:
            Callback.objects.create(survey=survey, order=survey.order, created_at=now)
            order = survey.order
            record_event(order=order, by=None, action=OrderAction.CALLBACK_OPENED,
                         from_state=order.state, to_state=order.state, at=now,
                         payload={"survey": survey.pk, "round": survey.round,
                                  "due_at": survey.callback_due_at.isoformat()})
            opened += 1
    return opened


def survey_link_opened(*, survey: Survey) -> None:
    """The customer opened the link (first time only; for the figures)."""
    Survey.objects.filter(pk=survey.pk, opened_at__isnull=True).update(opened_at=clock.now())


# --- The order's survey and rework transitions (R29-R33) -----------------------------------

def work_order_start_survey(*, order: WorkOrder) -> WorkOrder:
    """R29: the automatic survey goes out after completion (its SMS held until the quiet
    hours end). Safe to call twice."""
    current = WorkOrder.objects.get(pk=order.pk)
    if current.state != State.COMPLETED:
        return current

    payload: dict[str, Any] = {}  # filled with the survey's id and times

    def send(locked: WorkOrder, now: dt.datetime) -> None:
        survey_open(order=locked, now=now, payload=payload)

    return transition(current, OrderAction.START_SURVEY, by=None, after=send, payload=payload)


def work_order_record_survey(*, order: WorkOrder, by: User, satisfied: bool,
                             comment: str = "", punctuality: int | None = None,
                             conduct: int | None = None,
                             result: int | None = None) -> WorkOrder:
    """R29/R30: the answer to the order's open survey, recorded by the call-centre
    (``by``; ``None``: the customer's own). Goes through ``surveys.services.survey_answer``:
    satisfied closes the order; not satisfied starts a rework round (R31-R33)."""
    survey = survey_answer_for_order(
        order=order, by=by, channel=AnswerChannel.SMS if by is None else AnswerChannel.CALLBACK,
        satisfied=satisfied, comment=comment, punctuality=punctuality, conduct=conduct,
        result=result)
    return WorkOrder.objects.get(pk=survey.order_id)


def work_order_close_satisfied(*, order: WorkOrder, by: User, comment: str = "",
                               payload: dict[str, Any] | None = None) -> WorkOrder:
    """R29: a satisfied answer closes the order. Called by ``surveys.services``."""
    return transition(order, OrderAction.CLOSE_SATISFIED, by=by, reason=comment,
                       payload={"satisfied": True, **(payload or {})}, at=None)


def work_order_start_rework(*, order: WorkOrder, by: User, comment: str = "",
                            payload: dict[str, Any] | None = None) -> WorkOrder:
    """R31: an unsatisfied answer sends the order back to its technician, with the SLA
    timer to contact the customer. Called by ``surveys.services``."""
    return transition(order, OrderAction.START_REWORK, by=by, reason=comment,
                       payload={"satisfied": False, **(payload or {})})


def work_order_resolve_rework(*, order: WorkOrder, by: User, note: str) -> WorkOrder:
    """R32: the technician resolved the complaint; the round keeps the note and the
    customer is surveyed again."""
    require(note, _("Describe how the complaint was resolved (R32)."), field="note",
             rule="R32")

    payload: dict[str, Any] = {}  # filled with the new survey's id and times

    def resurvey(locked: WorkOrder, now: dt.datetime) -> None:
        rework_resolved(order=locked, note=note.strip(), now=now, payload=payload)

    return transition(order, OrderAction.RESOLVE_REWORK, by=by, reason=note, after=resurvey,
                       payload=payload)


def work_order_reassign_rework(*, order: WorkOrder, by: User,
                               technician: Technician | None = None,
                               reason: str = "") -> WorkOrder:
    """R33: still unsatisfied: another technician (none who held it before) takes over."""
    precheck(order, OrderAction.REASSIGN_REWORK, by)
    previous = wo_selectors.previous_technician_ids(order)
    if technician is not None and technician.pk in previous:
        raise RuleViolation(_("%(name)s already worked on this order; R33 asks for a "
                              "different technician.") % {"name": technician.display_name},
                            field="technician", rule="R33")
    chosen, automatic = choose_technician(order, technician, exclude=previous)
    previous_id = order.technician_id

    def after(locked: WorkOrder, now: dt.datetime) -> None:
        start_assignment(locked, chosen, by=by, now=now, automatic=automatic, reason=reason)
        rework_reassigned(order=locked, previous_id=previous_id, now=now)

    return transition(order, OrderAction.REASSIGN_REWORK, by=by, reason=reason, after=after,
                       payload={"technician": chosen.pk, "previous": previous_id,
                                "automatic": automatic},
                       technician=chosen, at=None)

