"""The technician's mobile pages (``/tech/``): Today, the order, and one page per step.

Thin views: each step is a form plus one service call (``STEPS``); only the steps allowed
now are offered (``workorders.selectors.allowed_actions`` and the step's own state
check); a ``DomainError`` is shown on the page with its status, never as a 500. A
technician reaches only their own orders (R41): others are a 404.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import PrefixNode, static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from appointments import messages as booking_messages
from appointments import selectors as appointment_selectors
from appointments import services as booking_services
from appointments.models import AppointmentStatus
from assessment import selectors as ledger
from assessment import services as ledger_services
from assessment.models import EntryKind
from complaints import selectors as complaint_selectors
from fieldops import clock
from notifications import push_views
from reports import copy as report_copy
from sla import force_majeure
from surveys import services as survey_services
from technicians.models import AreaType
from workorders import pii, services
from workorders.access import is_order_technician, is_technician_user
from workorders.errors import DomainError
from workorders.errors import shown as shown_error
from workorders.kit import order_kit
from workorders.models import TERMINAL_STATES, Face, Photo, State, WorkOrder
from workorders.selectors import allowed_actions, orders_visible_to

from . import charges_steps, comeback, inventory_steps
from . import forms as f
from . import offline as offline_pages
from .checklist import CHECKLIST_STEPS, DeclineForm, checklist_context, sign_off_offered
from .steps import Step


def _own_in(*states: str) -> Callable[[WorkOrder, Any, set[str]], bool]:
    def check(order: WorkOrder, user: Any, allowed: set[str]) -> bool:
        return order.state in states and is_order_technician(order, user)

    return check


def _has_booking(*states: str) -> Callable[[WorkOrder, Any, set[str]], bool]:
    def check(order: WorkOrder, user: Any, allowed: set[str]) -> bool:
        return (_own_in(*states)(order, user, allowed)
                and order.appointments.filter(status=AppointmentStatus.BOOKED).exists())

    return check


def _schedule(order: WorkOrder, user: Any, data: dict[str, Any], request: HttpRequest) -> Any:
    change_request = None
    if data.get("change_request"):
        change_request = appointment_selectors.open_change_requests(order).filter(
            pk=data["change_request"]).first()
    return booking_services.work_order_schedule(
        order=order, by=user, start=data["start_at"], end=data["end_at"],
        precision=data["precision"], reason=data.get("reason", ""),
        customer_asked=data.get("customer_asked", False), change_request=change_request,
        allow_clash=False)


def _sign_off(order: WorkOrder, user: Any, data: dict[str, Any], request: HttpRequest) -> Any:
    return services.work_order_customer_sign_off(
        order=order, by=user, signature=data.get("signature") or "",
        strokes=data.get("strokes") or "",
        signer_name=data["signer_name"], rating=data["rating"], comment=data["comment"],
        code=data.get("code", ""), user_agent=request.headers.get("User-Agent", ""))


def _complete(order: WorkOrder, user: Any, data: dict[str, Any], request: HttpRequest) -> Any:
    report = getattr(order, "report", None)
    if report is None:
        raise DomainError(_("There is no report to file; it is written on site."))
    return services.work_order_complete(order=order, by=user, report=report.as_dict())


def _question(order: WorkOrder, user: Any, data: dict[str, Any], request: HttpRequest) -> Any:
    return survey_services.follow_up_log(order=order, by=user, kind="question",
                                         text=data["question"])


ALL_STEPS: list[Step] = [
    Step("accept", gettext_lazy("Accept"), "R5", f.ConfirmForm, one_tap=True,
         style="primary", when=("accept",),
         run=lambda o, u, d, r: services.work_order_accept(order=o, by=u)),
    Step("resources-ok", gettext_lazy("Line and port resources OK"), "R5", f.ConfirmForm,
         one_tap=True, style="primary", when=lambda o, u, a: (
             "confirm_resources" in a and o.resources_confirmed_at is None),
         run=lambda o, u, d, r: services.work_order_confirm_resources(order=o, by=u)),
    Step("no-resources", gettext_lazy("No line or port resources"), "R6", f.NoResourcesForm,
         when=("report_no_resources",),
         run=lambda o, u, d, r: services.work_order_report_no_resources(
             order=o, by=u, reason=d["reason"])),
    Step("contact", gettext_lazy("Log a call or contact"), "R7", f.ContactForm,
         template="tech/contact.html",
         style="primary", when=_own_in(*booking_services.CONTACT_STATES),
         run=lambda o, u, d, r: booking_services.work_order_log_contact(
             order=o, by=u, channel=d["channel"], outcome=d["outcome"], note=d["note"])),
    Step("schedule", gettext_lazy("Book or move the visit"), "R9", f.ScheduleForm,
         template="tech/schedule.html", style="primary", when=("schedule", "reschedule"),
         run=_schedule),
    Step("refused", gettext_lazy("Customer refused the booking"), "R19", f.ReasonForm,
         when=_has_booking(State.CONTACTED, State.SCHEDULED),
         run=lambda o, u, d, r: booking_services.work_order_customer_refused(
             order=o, by=u, reason=d["reason"])),
    Step("park", gettext_lazy("Customer asks to wait"), "R12", f.ParkForm, when=("park",),
         run=lambda o, u, d, r: booking_services.work_order_park(
             order=o, by=u, until=d["until"], reason=d["reason"])),
    Step("resume", gettext_lazy("Resume"), "R12", f.ConfirmForm, one_tap=True,
         when=("resume",), run=lambda o, u, d, r: booking_services.work_order_resume(order=o,
                                                                                     by=u)),
    Step("kit", gettext_lazy("Kit checklist"), "R20", f.KitForm, style="primary",
         when=("confirm_kit",),
         run=lambda o, u, d, r: services.work_order_confirm_kit(order=o, by=u,
                                                                items=d["items"])),
    Step("depart", gettext_lazy("On my way"), "R13", f.DepartForm, one_tap=True,
         style="primary", when=("depart",),
         run=lambda o, u, d, r: services.work_order_depart(
             order=o, by=u, latitude=d.get("latitude"), longitude=d.get("longitude"))),
    Step("check-in", gettext_lazy("Check in"), "R17", f.CheckInForm,
         template="tech/check_in.html", style="primary", when=("check_in",),
         run=lambda o, u, d, r: services.work_order_check_in(
             order=o, by=u, latitude=d.get("latitude"), longitude=d.get("longitude"),
             accuracy=d.get("accuracy"), photo=d["photo"])),
    Step("nobody-home", gettext_lazy("Nobody home"), "R18", f.NobodyHomeForm,
         when=("nobody_home",),
         run=lambda o, u, d, r: services.work_order_leave_note(
             order=o, by=u, arrived_at=d["arrived_at_dt"], left_at=d["left_at_dt"],
             note=d.get("note", ""))),
    Step("consent", gettext_lazy("Customer's consent for a risky step"), "R22",
         f.ConsentForm, when=_own_in(State.ON_SITE),
         run=lambda o, u, d, r: services.work_order_record_consent(
             order=o, by=u, risk=d["risk"], description=d["description"],
             customer_name=d["customer_name"], agreed=d["agreed"])),
    Step("photo", gettext_lazy("Add a photo (installation, speed test)"), "R23",
         f.PhotoForm, when=_own_in(State.ON_SITE), style="primary",
         run=lambda o, u, d, r: services.work_order_add_photo(
             order=o, by=u, image=d["image"], kind=d["kind"], caption=d.get("caption", ""))),
    Step("equipment", gettext_lazy("Equipment (serial numbers)"), "R45",
         inventory_steps.EquipmentForm, template="tech/equipment.html",
         when=_own_in(State.ON_SITE), after="equipment", run=inventory_steps.run_equipment),
    Step("materials", gettext_lazy("Materials used"), "R46", inventory_steps.MaterialsForm,
         template="tech/materials.html", when=_own_in(State.ON_SITE),
         run=inventory_steps.run_materials),
    Step("charges", gettext_lazy("Charges and payment"), "R47", charges_steps.ChargesForm,
         template="tech/charges.html", when=_own_in(State.ON_SITE, State.SIGNED_OFF),
         after="charges", run=charges_steps.run_charges),
    Step("pay", gettext_lazy("Show the payment QR code"), "R47", f.ConfirmForm,
         when=_own_in(State.ON_SITE, State.SIGNED_OFF), listed=False, after="charges",
         run=charges_steps.run_pay),
    Step("report", gettext_lazy("Write the report"), "R27", f.ReportForm,
         when=_own_in(State.ON_SITE), style="primary",
         run=lambda o, u, d, r: services.work_order_save_report(
             order=o, by=u, **{k: d[k] for k in ("work_done", "fault_cause", "materials",
                                                  "download_mbps", "upload_mbps",
                                                  "onu_activated", "outstanding_issue")})),
    Step("sign-off", gettext_lazy("Customer sign-off"), "R26", f.SignOffForm,
         template="tech/sign_off.html", style="primary", when=sign_off_offered, run=_sign_off),
    Step("send-code", gettext_lazy("Send a code to the customer's phone"), "R26",
         f.ConfirmForm, when=sign_off_offered, listed=False, after="sign-off",
         run=lambda o, u, d, r: services.work_order_send_sign_off_code(order=o, by=u)),
    Step("cant-finish", gettext_lazy("Can't finish"), "R24", f.CantFinishForm,
         when=("cant_finish",),
         run=lambda o, u, d, r: services.work_order_report_cant_finish(
             order=o, by=u, reason=d["reason"], promised_at=d["promised_at"])),
    Step("question", gettext_lazy("A question I couldn't answer"), "R28", f.QuestionForm,
         when=_own_in(State.ON_SITE, State.SIGNED_OFF), run=_question),
    Step("complete", gettext_lazy("File the completion report"), "R27", f.ConfirmForm,
         template="tech/complete.html", style="primary", when=("complete",), run=_complete),
    Step("force-majeure", gettext_lazy("Weather, road closure, power cut…"), "R50",
         f.ForceMajeureForm,
         when=lambda o, u, a: o.state not in TERMINAL_STATES and is_order_technician(o, u),
         run=lambda o, u, d, r: force_majeure.declare(
             by=u, kind=d["kind"], reason=d["reason"], order=o, starts_at=d.get("starts_at"),
             ends_at=d.get("ends_at"), evidence=d.get("evidence"))),
    Step("rework-done", gettext_lazy("Complaint resolved"), "R32", f.ReworkForm,
         when=("resolve_rework",),
         run=lambda o, u, d, r: survey_services.work_order_resolve_rework(order=o, by=u,
                                                                   note=d["note"])),
    *CHECKLIST_STEPS,  # the on-site checklist's pages (fieldapp/checklist.py)
]
STEPS = {step.name: step for step in ALL_STEPS}


# --- Access ----------------------------------------------------------------------------

def technician_required(
        view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Logged in (the pages' own login), and a technician (or a superuser): R41."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            # A session that expired says so on the login page; the phone's service worker
            # drops its kept pages on the redirect (tech/sw.js, R40).
            return redirect(offline_pages.login_url(request))
        if not (is_technician_user(request.user) or request.user.is_superuser):
            return render(request, "tech/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _order_for(request: HttpRequest, pk: int) -> WorkOrder:
    """R41: the order only if this user may see it; anyone else's is a 404."""
    qs = orders_visible_to(request.user).select_related("area", "technician__user",
                                                       "customer")
    return get_object_or_404(qs, pk=pk)


class TechLoginView(LoginView):
    template_name = "tech/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["session_ended"] = self.request.GET.get(offline_pages.SESSION_ENDED) == "1"
        return context

    def get_default_redirect_url(self) -> str:
        return reverse("tech:today")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("tech:login")


# --- Pages ---------------------------------------------------------------------------------

@never_cache
@technician_required
def today(request: HttpRequest) -> HttpResponse:
    """My orders to work on, in appointment order, each with its running promise."""
    now = clock.now()
    orders = appointment_selectors.today_orders(request.user)
    # R31 (after R29, R51, R52): why an order in rework is back, as a badge.
    back = comeback.reasons_for(orders)
    rows = [{"order": o, "clock": appointment_selectors.order_clock(o, now=now),
             "changes": appointment_selectors.open_change_requests(o).count(),
             "back": back.get(o.pk)}
            for o in orders]
    # Web Push: a new assignment reaches the phone with the page closed (R4; the outbox's
    # push channel). The button shows only when the server has VAPID keys.
    # Issue 16: the pages the phone keeps for a day without signal (the service worker
    # fetches them when this page asks; fieldapp/offline.py).
    keep = offline_pages.urls_to_keep(offline_pages.kept_days(orders, clock.today_local()))
    return render(request, "tech/today.html", {"rows": rows, "now": now, "keep": keep,
                                               "push_key": push_views.public_key()})


# --- My assessment (R53) ---------------------------------------------------------------

def _own_technician(request: HttpRequest) -> Any:
    technician = getattr(request.user, "technician", None)
    if technician is None:
        raise Http404
    return technician


def _month(text: str | None) -> dt.date:
    try:
        return dt.datetime.strptime(text or "", "%Y-%m").date()  # noqa: DTZ007 (a month)
    except ValueError:
        return clock.today_local().replace(day=1)


@never_cache
@technician_required
def assessment_month(request: HttpRequest) -> HttpResponse:
    """My own month's assessment entries with their reasons and appeals (R53); only mine
    (R41): the technician comes from the login, never from the address."""
    technician = _own_technician(request)
    period = _month(request.GET.get("month"))
    now = clock.now()
    entries = list(ledger.entries_of(technician, period))
    rows = [{"entry": e, "label": EntryKind(e.kind).label,
             "appeal": getattr(e, "appeal", None),
             "can_appeal": e.appealable_at(now) and not hasattr(e, "appeal")}
            for e in entries]
    previous = (period - dt.timedelta(days=1)).replace(day=1)
    following = (period + dt.timedelta(days=32)).replace(day=1)
    return render(request, "tech/assessment.html", {
        "rows": rows, "period": period, "points": sum(e.points for e in entries),
        "amount": sum((e.amount for e in entries), 0),
        "previous": previous.strftime("%Y-%m"),
        "following": following.strftime("%Y-%m") if following <= clock.today_local() else "",
    })


@never_cache
@technician_required
def assessment_appeal(request: HttpRequest, pk: int) -> HttpResponse:
    """Appeal one of my entries with text and photos (R53). Someone else's entry is a 404
    (R41); a refusal (window over, appealed already) comes back with its message."""
    technician = _own_technician(request)
    entry = get_object_or_404(technician.assessment_entries.select_related("order"), pk=pk)
    status = 200
    if request.method == "POST":
        form = f.AppealForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                ledger_services.appeal_file(entry_id=entry.pk, by=request.user,
                                            text=form.cleaned_data["text"],
                                            photos=form.cleaned_data["photos"])
            except DomainError as error:
                field_name = getattr(error, "field", "")
                form.add_error(field_name if field_name in form.fields else None,
                               error.message)
                status = error.status
            else:
                messages.success(request, _("Your appeal is sent to your supervisor."))
                return redirect(f"{reverse('tech:assessment')}?month={entry.period:%Y-%m}")
        else:
            status = 400
    else:
        form = f.AppealForm()
    return render(request, "tech/appeal.html",
                  {"entry": entry, "label": EntryKind(entry.kind).label, "form": form},
                  status=status)


def _offered(order: WorkOrder, user: Any, allowed: set[str] | None = None) -> list[Step]:
    if allowed is None:
        allowed = set(allowed_actions(order, user))
    return [step for step in ALL_STEPS if step.listed and step.offered(order, user, allowed)]


@never_cache
@technician_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_for(request, pk)
    allowed = set(allowed_actions(order, request.user))
    steps = _offered(order, request.user, allowed)
    booked = appointment_selectors.current_appointment(order)
    # On site: the visit's checklist (R43-R49) leads; its steps' pages are linked from it.
    checklist = (checklist_context(order, set(STEPS))
                 if order.state == State.ON_SITE and is_order_technician(order, request.user)
                 else None)
    if checklist is not None:
        steps = [s for s in steps if s.name not in ("consent", "report")]
    context = {
        "order": order,
        # R40: the technician calls the customer (R7); the read is recorded.
        "contact_phone": pii.phone_for(user=request.user, order=order, face=Face.FIELD,
                                       where="tech:order"),
        "steps": steps,
        # R26, R27: sign-off waits for the report; a pointer to it instead.
        "report_first": "sign_off" in allowed and getattr(order, "report", None) is None,
        "one_tap": [s for s in steps if s.one_tap],
        # The step the visit is waiting for first, then the side paths.
        "pages": sorted((s for s in steps if not s.one_tap), key=lambda s: s.style != "primary"),
        "booked": booked,
        "kept": order.appointments.filter(status=AppointmentStatus.KEPT).order_by(
            "-arrived_at").first(),
        "window": booking_messages.window_text(booked) if booked else "",
        "clock": appointment_selectors.order_clock(order),
        "changes": appointment_selectors.open_change_requests(order),
        "photos": order.photos.all(),
        "report": getattr(order, "report", None),
        "consents": order.consents.all(),
        "contacts": order.contacts.order_by("-at")[:5],
        "version": order.version,
        "checklist": checklist,
        "signed": order.signatures.exists(),
        # R51: that a complaint exists and its outcome, never who complained or what
        # they said beyond the note a supervisor released (no retaliation).
        "complaints": complaint_selectors.for_technician(order),
        # R31 (after R29, R51, R52): why the order is back, in plain words.
        "back": comeback.reason_for(order),
    }
    return render(request, "tech/order.html", context)


def _signature_for(request: HttpRequest, pk: int) -> Any:
    """The newest signature of one of my orders (R41), or 404."""
    signature = report_copy.latest_signature(_order_for(request, pk))
    if signature is None:
        raise Http404
    return signature


@never_cache
@technician_required
def signed_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's copy of the signed report, as the customer sees it (R26)."""
    signature = _signature_for(request, pk)
    response = render(request, "report/copy.html", report_copy.context(
        signature, pdf_url=reverse("tech:signed_report_pdf", args=[pk]),
        back_url=reverse("tech:order", args=[pk]),
        viewer=request.user, face=Face.FIELD, where="tech:report"))
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@technician_required
def signed_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    from reports import pdf as report_pdf  # reportlab only where a PDF is made

    return report_pdf.pdf_response(report_copy.copy_of(_signature_for(request, pk)),
                                   user=request.user, where="export:tech-report-pdf")


def _form_for(step: Step, order: WorkOrder, request: HttpRequest,
              data: Any = None, files: Any = None) -> f.StepForm:
    kwargs: dict[str, Any] = {"order": order}
    if step.form is f.ScheduleForm:
        kwargs["rural"] = order.area.area_type == AreaType.RURAL
        wish = appointment_selectors.open_change_requests(order).filter(
            pk=request.GET.get("change_request") or 0).first()
        if wish is not None and data is None:
            start = timezone.localtime(wish.preferred_start)
            length = int((wish.preferred_end - wish.preferred_start).total_seconds() // 60)
            kwargs["initial"] = {"day": start.date(), "start": start.strftime("%H:%M"),
                                 "customer_asked": True, "change_request": wish.pk,
                                 "length": length if length in (30, 60, 90, 120) else 60,
                                 "reason": _("The customer asked for another time")}
    if step.form is f.ReportForm and data is None:
        report = getattr(order, "report", None)
        if report is not None:
            kwargs["initial"] = report.as_dict()
    if step.form is f.KitForm and data is None:
        kwargs["initial"] = {}
    if step.form is DeclineForm and data is None:
        kwargs["initial"] = {"step": request.GET.get("step", "")}
    return step.form(data, files, **kwargs)


def _step_context(step: Step, order: WorkOrder, form: f.StepForm,
                  request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"order": order, "step": step, "form": form}
    if step.name == "schedule":
        # R10: my other bookings on the day asked about, or the next three days.
        day = (form.data.get("day") if form.is_bound else None) or request.GET.get("day")
        try:
            days = [dt.date.fromisoformat(day)] if day else None
        except ValueError:
            days = None
        today_ = clock.today_local()
        days = days or [today_ + dt.timedelta(days=n) for n in range(3)]
        context["days"] = [
            (shown, list(appointment_selectors.technician_day(order.technician, shown,
                                                              exclude_order=order)))
            for shown in days] if order.technician is not None else []
        context["changes"] = appointment_selectors.open_change_requests(order)
        context["rural"] = order.area.area_type == AreaType.RURAL
        context.update(_slots(order, form, days))
    if step.name in ("sign-off", "complete"):
        context["report"] = getattr(order, "report", None)
        context["photos"] = order.photos.all()
        context["checked_in"] = order.appointments.filter(
            status=AppointmentStatus.KEPT).order_by("-arrived_at").first()
        context["signature"] = signature = order.signatures.order_by("-signed_at").first()
        if signature is not None and step.name == "complete":
            # R40: "Signed by ..." through the policy: the order's own technician (and whom
            # it shows full data) in full with an access record, anyone else masked.
            context["signer"] = pii.name_for(user=request.user, order=order, face=Face.FIELD,
                                             where="tech:complete", name=signature.signer_name)
        context["require_code"] = getattr(settings, "SIGN_OFF_REQUIRE_SMS_CODE", False)
    if step.name == "kit":
        context["kit"] = order_kit(order)
    context.update(inventory_steps.context(step.name, order))  # R45, R46
    context.update(charges_steps.context(step.name, order))  # R47
    if step.name == "contact":
        context["contact_phone"] = pii.phone_for(user=request.user, order=order,
                                                 face=Face.FIELD, where="tech:contact")
    return context


def _slots(order: WorkOrder, form: f.StepForm, days: list[dt.date]) -> dict[str, Any]:
    """R9, R10: one day's free times as buttons (the day asked about, else the first of
    ``days`` with a free time), and the next days to pick from; a typed time still works."""
    if order.technician is None:
        return {}
    try:
        length = dt.timedelta(minutes=int(form["length"].value() or 60))
    except (TypeError, ValueError):
        length = dt.timedelta(minutes=60)
    free = []
    for shown in days:
        free = appointment_selectors.bookable_slots(order.technician, shown, length=length,
                                                    exclude_order=order)
        if free:
            break
    today_ = clock.today_local()
    return {"slots": [(shown, free)],
            "slot_days": [today_ + dt.timedelta(days=n) for n in range(7)],
            "chosen_slot": form.data.get("slot", "") if form.is_bound else ""}


@never_cache
@technician_required
def order_step(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """GET: the step's page. POST: run the step's service; on a domain error the page
    comes back with the message and the error's status (409, 422, 403)."""
    order = _order_for(request, pk)
    step = STEPS.get(name)
    if step is None:
        raise Http404
    allowed = set(allowed_actions(order, request.user))
    # Issue 16: a copy kept for offline use is rendered whatever the state now (GET only).
    ahead = offline_pages.is_offline_copy(request) and name in offline_pages.VISIT_SEQUENCE
    if not ahead and not step.offered(order, request.user, allowed):
        if step.name == "sign-off" and "sign_off" in allowed:
            messages.error(request, _("Write the report first: the customer signs what was "
                                      "done."))
            return redirect("tech:order", pk=order.pk)
        messages.error(request, _("“%(step)s” is not possible now (the order is %(state)s).")
                       % {"step": step.label, "state": order.get_state_display()})
        return redirect("tech:order", pk=order.pk)
    status = 200
    if request.method == "POST":
        form = _form_for(step, order, request, request.POST, request.FILES)
        if form.is_valid():
            # Act on the version the page showed: a stale page gets "reload", not a
            # change to an order it never saw (compare-and-swap in the service).
            order.version = form.cleaned_data["version"]
            try:
                step.run(order, request.user, form.cleaned_data, request)
            except DomainError as error:
                field_name = getattr(error, "field", "")
                if field_name in form.fields and field_name != "version":
                    form.add_error(field_name, shown_error(error))
                else:
                    form.add_error(None, shown_error(error))
                status = error.status
                order = _order_for(request, pk)
            else:
                messages.success(request, _("Done: %(step)s.") % {"step": step.label})
                if step.name == "complete":
                    return redirect("tech:today")
                if step.after:
                    return redirect("tech:step", pk=order.pk, name=step.after)
                return redirect("tech:order", pk=order.pk)
        else:
            status = 400
    else:
        form = _form_for(step, order, request)
    return render(request, step.template, _step_context(step, order, form, request),
                  status=status)


@technician_required
def photo_file(request: HttpRequest, pk: int, photo_pk: int) -> HttpResponseBase:
    """A photo of one of my orders (R41), streamed from the storage; never public, and
    never kept by the browser: a phone shared by a team must not show it after logout."""
    order = _order_for(request, pk)
    photo = get_object_or_404(Photo, pk=photo_pk, order=order)
    response = FileResponse(photo.image.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


# --- The installable app (PWA) -----------------------------------------------------------

APP_SHELL = ["tech/app.css", "tech/app.js", "tech/icon-192.png", "tech/icon-512.png",
             "vendor/signature_pad/signature_pad.umd.min.js", *offline_pages.OFFLINE_ASSETS]

#: The Workbox modules the worker loads (npm, pinned in npm.toml, served as vendor/NAME/).
WORKBOX_MODULES = ("workbox-core", "workbox-routing", "workbox-strategies",
                   "workbox-expiration", "workbox-precaching", "workbox-cacheable-response")


def manifest(request: HttpRequest) -> HttpResponse:
    return render(request, "tech/manifest.webmanifest",
                  {"icon192": static("tech/icon-192.png"), "icon512": static("tech/icon-512.png")},
                  content_type="application/manifest+json")


def service_worker(request: HttpRequest) -> HttpResponse:
    """Served from /tech/ so that its scope covers the pages. Workbox (workbox-sw and the
    module builds it loads from our static files): the app shell precached, static files
    cache-first, the technician's pages network-first with the kept copy as the fallback
    (issue 16; fieldapp/offline.py)."""
    # The scanner's script and WebAssembly file too (never part of a page's first load).
    shell = ([static(path) for path in APP_SHELL] + inventory_steps.scanner_files()
             + [reverse("tech:offline")])
    modules = {name: static(f"vendor/{name}/{name}.prod.js") for name in WORKBOX_MODULES}
    response = render(request, "tech/sw.js", {
        "shell": shell, "version": _shell_version([*shell, _wasm_revision()]),
        "workbox": static("vendor/workbox-sw/workbox-sw.js"), "modules": modules,
        "static_prefix": PrefixNode.handle_simple("STATIC_URL"), "scope": reverse("tech:today"),
        "offline_header": offline_pages.OFFLINE_COPY_HEADER,
        "queue": [static("vendor/idb-keyval/umd.js"), static("tech/queue.js")],
        "queued_steps": offline_pages.VISIT_SEQUENCE,
        "customer_fields": offline_pages.CUSTOMER_FIELDS,
        "login": reverse("tech:login"), "ended": offline_pages.SESSION_ENDED,
        # Cache-first needs versioned names (hashed by the manifest storage); with DEBUG the
        # names stay plain, so static files come from the network first there.
        "static_first": "CacheFirst" if not settings.DEBUG else "NetworkFirst",
    }, content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = reverse("tech:today")
    return response


def _wasm_revision() -> str:
    """The WebAssembly file's hashed name (its content's hash in production): its URL in
    the shell is the unhashed one the scanner asks for, so a new reader must still change
    the worker's version for the precache to fetch it again."""
    return static(inventory_steps.ZXING_WASM_DIR + inventory_steps.ZXING_WASM_FILE)


def _shell_version(shell: list[str]) -> str:
    return hashlib.sha256("|".join(shell).encode()).hexdigest()[:12]


def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "tech/offline.html")

