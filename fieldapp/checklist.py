"""The on-site checklist on the technician's phone: the order page's guided list of the
visit's steps (done / to do, in any sensible order) and the pages for the try-out and
explanation (R43), the measured tests (R48), the clean-up (R44), safety at height (R49)
and declining a step with a reason. Sign-off is offered only when the report exists and
every sign-off check passes (``sign_off_ready``).

The steps are ``Step``s like the others (``views.ALL_STEPS`` lists them); the rules are
in ``visits.services``; the equipment, materials and charges pages belong to other apps
and are linked only when their step is registered (``visit_steps_done``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fieldops.text import FreeTextField, LineField
from technicians.models import Technician
from visits import selectors as visit_selectors
from visits import services as visit_services
from visits.models import Measure, Source, StepKey
from visits.services import NOT_DECLINABLE
from workorders.access import is_order_technician
from workorders.errors import RuleViolation
from workorders.models import CompletionReport, State, WorkOrder
from workorders.visit_parts import check_sign_off, check_work_may_start

from . import forms as f
from .steps import Step

#: The page of each checklist step (equipment, materials, charges: other apps' pages).
STEP_PAGES: dict[str, str] = {
    StepKey.SAFETY: "safety", StepKey.CONSENT: "consent", StepKey.WORK: "report",
    StepKey.TESTS: "tests", StepKey.EQUIPMENT: "equipment", StepKey.MATERIALS: "materials",
    StepKey.TRYOUT: "tryout", StepKey.CHARGES: "charges", StepKey.CLEANUP: "cleanup"}

TRIED_LABELS = {"call": gettext_lazy("Made a call"), "internet": gettext_lazy("Went online"),
                "tv": gettext_lazy("Watched TV")}
EXPLAINED_LABELS = {"use": gettext_lazy("How to use it"),
                    "upkeep": gettext_lazy("Simple upkeep (restart, cables)"),
                    "cause": gettext_lazy("The cause of the fault")}


def _on_site(order: WorkOrder, user: Any, allowed: set[str]) -> bool:
    return order.state == State.ON_SITE and is_order_technician(order, user)


def sign_off_ready(order: WorkOrder) -> bool:
    """The report exists (the customer signs what was done) and no sign-off check holds
    the signature back (the checklist, the readings, other phases' checks)."""
    return blocker(order) is None


def blocker(order: WorkOrder) -> str | None:
    """What holds the signature back, in the order the technician fixes it: safety at
    height before any work (R49), the report, then the sign-off checks."""
    try:
        check_work_may_start(order)
    except RuleViolation as error:
        return error.message
    report = CompletionReport.objects.filter(order=order).first()
    if report is None or not report.work_done.strip():
        return _("Write the report first: the customer signs what was done.")
    try:
        check_sign_off(order)
    except RuleViolation as error:
        return error.message
    return None


def checklist_context(order: WorkOrder, known_pages: set[str]) -> dict[str, Any]:
    """The order page's checklist: each step, its state and its page."""
    state = visit_selectors.checklist(order)
    items = []
    for step in state.steps:
        page = STEP_PAGES.get(step.key, "")
        items.append({
            "key": step.key, "label": step.label, "status": step.status, "page": page,
            "required": step.required,
            "url": reverse("tech:step", args=[order.pk, page]) if page in known_pages else "",
            "decline_url": (f"{reverse('tech:step', args=[order.pk, 'decline'])}"
                            f"?step={step.key}"
                            if step.key not in NOT_DECLINABLE and step.status == "todo"
                            else ""),
        })
    done = sum(1 for item in items if item["status"] != "todo")
    return {"items": items, "done": done, "total": len(items), "blocker": blocker(order)}


# --- Forms ------------------------------------------------------------------------------

class TryoutForm(f.StepForm):
    """R43: what the customer tried and whether it worked; what was explained."""

    customer_declined = forms.BooleanField(label=gettext_lazy("The customer declined to try"),
                                           required=False)
    tried = forms.MultipleChoiceField(label=gettext_lazy("The customer tried"),
                                      required=False, widget=forms.CheckboxSelectMultiple,
                                      choices=list(TRIED_LABELS.items()))
    worked = forms.TypedChoiceField(label=gettext_lazy("Did it work?"), required=False,
                                    widget=forms.RadioSelect, empty_value=None,
                                    coerce=lambda v: v == "yes",
                                    choices=[("yes", gettext_lazy("Yes, it works")),
                                             ("no", gettext_lazy("No"))])
    explained = forms.MultipleChoiceField(label=gettext_lazy("Explained to the customer"),
                                          required=False, widget=forms.CheckboxSelectMultiple,
                                          choices=list(EXPLAINED_LABELS.items()))
    note = FreeTextField(label=gettext_lazy("Note"), required=False, max_length=500,
                         widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        record = visit_selectors.checklist(self.order).step(StepKey.TRYOUT)
        if not self.is_bound and record is not None and record.record is not None:
            data = record.record.data or {}
            self.initial.update({"customer_declined": data.get("customer_declined", False),
                                 "tried": data.get("tried", []),
                                 "worked": ("" if data.get("worked") is None
                                            else "yes" if data["worked"] else "no"),
                                 "explained": data.get("explained", []),
                                 "note": data.get("note", "")})


class TestsForm(f.StepForm):
    """R48: the readings this order's service and access need; a network-verified one is
    shown, not editable."""

    __test__ = False  # not a pytest test class

    reason = FreeTextField(label=gettext_lazy("If a result is out of range: why"),
                           required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        state = visit_selectors.checklist(self.order)
        self.results = {r.measure: r for r in state.results}
        self.measures = state.measures
        units: dict[str, str] = {Measure.RX_POWER: "dBm", Measure.SPEED_DOWN: "Mbit/s",
                 Measure.SPEED_UP: "Mbit/s"}
        fields: dict[str, forms.Field] = {}
        for measure in self.measures:
            label = Measure(measure).label
            expected = visit_selectors.expected_text(measure, state.ranges)
            result = self.results.get(measure)
            if measure in units:
                field: forms.Field = forms.CharField(
                    label=f"{label} ({units[measure]})", required=False, max_length=12,
                    help_text=_("Expected: %(expected)s") % {"expected": expected},
                    widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                  "autocomplete": "off"}))
                if result is not None and result.value is not None:
                    self.initial.setdefault(measure, str(result.value))
            else:
                field = forms.TypedChoiceField(
                    label=label, required=False, widget=forms.RadioSelect, empty_value=None,
                    coerce=lambda v: v == "ok",
                    choices=[("ok", _("Works")), ("failed", _("Failed"))])
                if result is not None and result.passed is not None:
                    self.initial.setdefault(measure, "ok" if result.passed else "failed")
            if result is not None and result.source == Source.NETWORK:
                field.disabled = True
                field.help_text = _("Network-verified")
            fields[measure] = field
        reason = self.fields.pop("reason")
        self.fields.update(fields)
        self.fields["reason"] = reason
        if not self.is_bound:
            found = next((r.reason for r in self.results.values() if r.reason), "")
            self.initial.setdefault("reason", found)


class CleanupForm(f.StepForm):
    """R44: the site is left as it was found; a photo is optional."""

    done = forms.BooleanField(
        label=gettext_lazy("The customer's things are back in place and the waste and "
                           "leftover material are in the bag"), required=False)
    photo = forms.FileField(label=gettext_lazy("Photo (optional)"), required=False,
                            widget=f.PhotoInput())


class SafetyForm(f.StepForm):
    """R49: work at height or on a pole: the second person and the warning sign."""

    at_height = forms.BooleanField(label=gettext_lazy("Work at height or on a pole"),
                                   required=False)
    second_technician = forms.ModelChoiceField(
        label=gettext_lazy("Second person: a technician"), required=False,
        queryset=Technician.objects.none())
    second_person = LineField(label=gettext_lazy("or a helper's name"), required=False,
                              max_length=100)
    warning_sign = forms.BooleanField(label=gettext_lazy("Warning sign put up"),
                                      required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["second_technician"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (Technician.objects.filter(is_active=True)
                          .exclude(pk=self.order.technician_id or 0).select_related("user")
                          .order_by("user__username"))
        if not self.is_bound and visit_selectors.checklist(self.order).at_height:
            self.initial.setdefault("at_height", True)


class DeclineForm(f.StepForm):
    step = forms.ChoiceField(label=gettext_lazy("Step"), widget=forms.RadioSelect)
    reason = FreeTextField(label=gettext_lazy("Why is it not done?"), max_length=500,
                           widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        open_steps = [(s.key, s.label) for s in visit_selectors.checklist(self.order).steps
                      if s.key not in NOT_DECLINABLE and s.status == "todo"]
        field = self.fields["step"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = open_steps


# --- Running them -----------------------------------------------------------------------

def _tryout(order: WorkOrder, user: Any, data: dict[str, Any], request: HttpRequest) -> Any:
    return visit_services.work_order_record_tryout(
        order=order, by=user, tried=data.get("tried") or [], worked=data.get("worked"),
        customer_declined=data.get("customer_declined", False),
        explained=data.get("explained") or [], note=data.get("note", ""))


def _tests(order: WorkOrder, user: Any, data: dict[str, Any], request: HttpRequest) -> Any:
    """All the readings of the page, or none of them (one transaction)."""
    current = {r.measure: r for r in visit_selectors.checklist(order).results}
    with transaction.atomic():
        for measure in visit_selectors.measures_for(order):
            value = data.get(measure)
            if value in (None, ""):
                continue
            existing = current.get(measure)
            if existing is not None and existing.source == Source.NETWORK:
                continue
            if measure in (Measure.TEST_CALL, Measure.IPTV):
                visit_services.work_order_record_reading(order=order, by=user,
                                                         measure=measure, passed=value)
            else:
                visit_services.work_order_record_reading(order=order, by=user,
                                                         measure=measure, value=value)
        reason = (data.get("reason") or "").strip()
        for result in visit_selectors.checklist(order).results:
            if not result.in_range and reason and result.reason != reason:
                visit_services.work_order_justify_reading(order=order, by=user,
                                                          measure=result.measure,
                                                          reason=reason)


def _cleanup(order: WorkOrder, user: Any, data: dict[str, Any], request: HttpRequest) -> Any:
    return visit_services.work_order_record_cleanup(order=order, by=user,
                                                    done=data.get("done", False),
                                                    photo=data.get("photo"))


def _safety(order: WorkOrder, user: Any, data: dict[str, Any], request: HttpRequest) -> Any:
    return visit_services.work_order_record_safety(
        order=order, by=user, at_height=data.get("at_height", False),
        second_technician=data.get("second_technician"),
        second_person=data.get("second_person", ""),
        warning_sign=data.get("warning_sign", False))


def _decline(order: WorkOrder, user: Any, data: dict[str, Any], request: HttpRequest) -> Any:
    return visit_services.work_order_decline_step(order=order, by=user, step=data["step"],
                                                  reason=data["reason"])


def sign_off_offered(order: WorkOrder, user: Any, allowed: set[str]) -> bool:
    """The sign-off page (and the code) only after the report and the checks (R26, R43)."""
    return "sign_off" in allowed and sign_off_ready(order)


CHECKLIST_STEPS: list[Step] = [
    Step("safety", gettext_lazy("Safety: work at height"), "R49", SafetyForm,
         template="tech/visit_step.html", when=_on_site, run=_safety, listed=False),
    Step("tests", gettext_lazy("Measured tests"), "R48", TestsForm,
         template="tech/tests.html", when=_on_site, run=_tests, listed=False),
    Step("read-line", gettext_lazy("Read the line from the network"), "R48", f.ConfirmForm,
         when=_on_site, listed=False, after="tests",
         run=lambda o, u, d, r: visit_services.work_order_read_line(order=o, by=u)),
    Step("tryout", gettext_lazy("Try-out and explanation"), "R43", TryoutForm,
         template="tech/visit_step.html", when=_on_site, run=_tryout, listed=False),
    Step("cleanup", gettext_lazy("Clean-up"), "R44", CleanupForm,
         template="tech/visit_step.html", when=_on_site, run=_cleanup, listed=False),
    Step("decline", gettext_lazy("Decline a step"), "", DeclineForm,
         template="tech/visit_step.html", when=_on_site, run=_decline, listed=False),
]
