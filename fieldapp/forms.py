"""Forms of the technician's pages: input only. Each step's rules live in its service;
the forms turn what a phone sends into the service's typed arguments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments import rules
from appointments.models import Precision
from fieldops import clock
from fieldops.text import FreeTextField, LineField
from fieldops.widgets import DateInput, TimeInput
from sla.exemptions import ExemptionKind
from workorders.kit import order_kit
from workorders.models import Consent, ContactAttempt, FaultCause, Photo, WorkOrder

#: R11: the two half-day windows of a rural booking.
HALF_DAYS = rules.HALF_DAYS
VISIT_LENGTHS = [(30, _("30 min")), (60, _("1 hour")), (90, _("1½ hours")),
                 (120, _("2 hours"))]


def aware(day: dt.date, time: dt.time) -> dt.datetime:
    """A local wall-clock time in the site's time zone."""
    return dt.datetime.combine(day, time, tzinfo=timezone.get_current_timezone())


class StepForm(forms.Form):
    """Every step form carries the order's version (compare-and-swap in the service: a
    page left open while the order changed gets a "reload" message, not a wrong action)."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, order: WorkOrder, **kwargs: Any) -> None:
        self.order = order
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("version", order.version)
        super().__init__(*args, **kwargs)


class ConfirmForm(StepForm):
    """A one-tap step (accept, on my way...): nothing to fill in."""


class DepartForm(StepForm):
    """R13: one tap; the phone's location, if it gives one, says where the technician set
    off from (the customer's arrival estimate)."""

    latitude = forms.FloatField(required=False, widget=forms.HiddenInput)
    longitude = forms.FloatField(required=False, widget=forms.HiddenInput)


class ReasonForm(StepForm):
    reason = FreeTextField(label=_("Reason"), max_length=500,
                           widget=forms.Textarea(attrs={"rows": 3}))


class NoResourcesForm(StepForm):
    reason = FreeTextField(label=_("Which resource is missing (line, port, cabinet…)?"),
                           max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class ContactForm(StepForm):
    channel = forms.ChoiceField(label=_("How"), choices=ContactAttempt.Channel.choices,
                                initial=ContactAttempt.Channel.PHONE,
                                widget=forms.RadioSelect)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ContactAttempt.Outcome.choices,
                                widget=forms.RadioSelect)
    note = FreeTextField(label=_("Note (address, service and equipment confirmed…)"),
                         max_length=255, required=False,
                         widget=forms.Textarea(attrs={"rows": 2}))


class ScheduleForm(StepForm):
    """R9 exact time, R11 half day (rural only), R10 the customer's choice, R15 why."""

    day = forms.DateField(label=_("Date"), widget=DateInput, required=False)
    precision = forms.ChoiceField(label=_("Booking"), widget=forms.RadioSelect,
                                  choices=[(Precision.EXACT, _("Exact time")),
                                           (Precision.HALF_DAY, _("Half day (rural)"))],
                                  initial=Precision.EXACT)
    start = forms.TimeField(label=_("Time"), required=False, widget=TimeInput)
    length = forms.TypedChoiceField(label=_("Visit length"), choices=VISIT_LENGTHS,
                                    coerce=int, initial=60)
    half = forms.ChoiceField(label=_("Half day"), required=False, widget=forms.RadioSelect,
                             choices=[("am", _("Morning (08:00–12:00)")),
                                      ("pm", _("Afternoon (13:00–18:00)"))])
    customer_asked = forms.BooleanField(
        label=_("The customer asked for this change"), required=False,
        help_text=_("Leave unticked when we move the visit: the customer must be told in "
                    "time."))
    reason = FreeTextField(label=_("Why (when moving a booked visit)"), max_length=255,
                           required=False)
    change_request = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, rural: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not rural:
            precision = self.fields["precision"]
            assert isinstance(precision, forms.ChoiceField)
            precision.choices = [(Precision.EXACT, _("Exact time"))]
            precision.widget = forms.HiddenInput()
            del self.fields["half"]

    def chosen_slot(self) -> dt.datetime | None:
        """R9: a free slot tapped on the page (``slot=2026-12-07T09:00``, local time); a
        time typed into the form wins over it."""
        value = self.data.get("slot") if self.is_bound else None
        if not value:
            return None
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            self.add_error("start", _("Choose one of the free times or type a time."))
            return None
        return timezone.make_aware(moment) if timezone.is_naive(moment) else moment

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        slot = self.chosen_slot()
        if slot is not None and data.get("precision") != Precision.HALF_DAY and (
                data.get("start") is None):
            local = timezone.localtime(slot)
            data["day"], data["start"] = local.date(), local.time().replace(second=0)
        day = data.get("day")
        if day is None:
            if "day" not in self.errors:
                self.add_error("day", _("Choose a day, or tap one of the free times."))
            return data
        if data.get("precision") == Precision.HALF_DAY:
            if not data.get("half"):
                self.add_error("half", _("Choose morning or afternoon."))
                return data
            begin, finish = HALF_DAYS[data["half"]]
            data["start_at"], data["end_at"] = aware(day, begin), aware(day, finish)
        else:
            if data.get("start") is None:
                self.add_error("start", _("Give the time the customer chose."))
                return data
            data["start_at"] = aware(day, data["start"])
            data["end_at"] = data["start_at"] + dt.timedelta(minutes=data.get("length") or 60)
        return data


class ParkForm(StepForm):
    until = forms.DateField(label=_("Wait until"), widget=DateInput)
    reason = FreeTextField(label=_("Why the customer asks to wait"), max_length=255)


class KitForm(StepForm):
    """R20 七个一 plus the access type's tools (R21), and the safety gear at height (R49)."""

    items = forms.MultipleChoiceField(label=_("Kit"), widget=forms.CheckboxSelectMultiple,
                                      required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = self.fields["items"]
        assert isinstance(items, forms.MultipleChoiceField)
        items.choices = list(order_kit(self.order).items())


class PhotoInput(forms.ClearableFileInput):
    def __init__(self) -> None:
        super().__init__(attrs={"accept": "image/*", "capture": "environment"})


class CheckInForm(StepForm):
    """R17: time (the server's), location (the browser's) and a photo."""

    latitude = forms.FloatField(required=False, widget=forms.HiddenInput)
    longitude = forms.FloatField(required=False, widget=forms.HiddenInput)
    accuracy = forms.FloatField(required=False, widget=forms.HiddenInput)
    photo = forms.FileField(label=_("Photo at the door"), widget=PhotoInput())


class NobodyHomeForm(StepForm):
    """R18: arrival time, leaving time, how to reach the technician."""

    arrived_at = forms.TimeField(label=_("Arrived at"), widget=TimeInput)
    left_at = forms.TimeField(label=_("Left at"), widget=TimeInput)
    note = FreeTextField(label=_("Note left for the customer"), max_length=255,
                         required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        now = timezone.localtime(clock.now())
        self.fields["arrived_at"].initial = (now - dt.timedelta(minutes=15)).strftime("%H:%M")
        self.fields["left_at"].initial = now.strftime("%H:%M")

    def clean(self) -> dict[str, Any]:
        """Times of the last 24 hours: a time later than now was yesterday (a visit around
        midnight)."""
        data: dict[str, Any] = super().clean() or {}
        now = clock.now()
        for name in ("arrived_at", "left_at"):
            if data.get(name) is not None:
                moment = aware(clock.today_local(), data[name])
                if moment > now + dt.timedelta(minutes=5):
                    moment -= dt.timedelta(days=1)
                data[name + "_dt"] = moment
        return data


class ConsentForm(StepForm):
    risk = forms.ChoiceField(label=_("Risky step"), choices=Consent.Risk.choices,
                             widget=forms.RadioSelect)
    description = FreeTextField(label=_("What will be done"), max_length=255)
    customer_name = LineField(label=_("Who answered"), max_length=100)
    agreed = forms.TypedChoiceField(label=_("Answer"), widget=forms.RadioSelect,
                                    coerce=lambda v: v == "yes",
                                    choices=[("yes", _("Agreed")), ("no", _("Refused"))])


class PhotoForm(StepForm):
    kind = forms.ChoiceField(label=_("What it shows"), widget=forms.RadioSelect,
                             choices=[(Photo.Kind.INSTALLATION, Photo.Kind.INSTALLATION.label),
                                      (Photo.Kind.SPEED_TEST, Photo.Kind.SPEED_TEST.label),
                                      (Photo.Kind.OTHER, Photo.Kind.OTHER.label)])
    image = forms.FileField(label=_("Photo"), widget=PhotoInput())
    caption = FreeTextField(label=_("Caption"), max_length=200, required=False)


class ReportForm(StepForm):
    """R27 (and R25 for repairs): the report the customer will sign."""

    work_done = FreeTextField(label=_("Work done"), widget=forms.Textarea(attrs={"rows": 3}))
    fault_cause = forms.ChoiceField(label=_("Fault cause (repairs)"), required=False,
                                    choices=[("", "—"), *FaultCause.choices])
    materials = FreeTextField(label=_("Materials used"), required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))
    download_mbps = forms.IntegerField(label=_("Download (Mbit/s)"), required=False,
                                       min_value=0, max_value=100000)
    upload_mbps = forms.IntegerField(label=_("Upload (Mbit/s)"), required=False, min_value=0,
                                     max_value=100000)
    onu_activated = forms.BooleanField(label=_("ONU activated"), required=False)
    outstanding_issue = FreeTextField(label=_("Outstanding issue (遗留问题), if any"),
                                      required=False,
                                      widget=forms.Textarea(attrs={"rows": 2}))


class CantFinishForm(StepForm):
    reason = FreeTextField(label=_("Why it can't be finished"), max_length=500,
                           widget=forms.Textarea(attrs={"rows": 3}))
    promised_day = forms.DateField(label=_("Promised day"), widget=DateInput)
    promised_time = forms.TimeField(label=_("Promised time"), widget=TimeInput)

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("promised_day") and data.get("promised_time"):
            data["promised_at"] = aware(data["promised_day"], data["promised_time"])
        return data


class QuestionForm(StepForm):
    question = FreeTextField(label=_("The customer's question"), max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 3}))


class SignOffForm(StepForm):
    """R26: drawn by the customer; the SMS code (optional unless required by settings)."""

    signer_name = LineField(label=_("Name of the person signing"), max_length=100)
    rating = forms.TypedChoiceField(label=_("How was the visit?"), coerce=int,
                                    widget=forms.RadioSelect,
                                    choices=[(5, "5 ★"), (4, "4"), (3, "3"), (2, "2"), (1, "1")])
    comment = FreeTextField(label=_("Comment"), max_length=500, required=False)
    signature = forms.CharField(widget=forms.HiddenInput, required=False)
    #: R26: how the signature was drawn (JSON strokes of [x, y, ms]), filled by the pad.
    strokes = forms.CharField(widget=forms.HiddenInput, required=False)
    code = forms.CharField(label=_("Code from the customer's SMS"), max_length=6,
                           required=False,
                           widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                         "autocomplete": "one-time-code",
                                                         "pattern": "[0-9]*"}))


class ReworkForm(StepForm):
    note = FreeTextField(label=_("How the complaint was resolved"),
                         widget=forms.Textarea(attrs={"rows": 3}))


class ForceMajeureForm(StepForm):
    """R50: an event outside anyone's control keeps me from the promised time: what, why,
    since when and for how long (the office approves; the customer is texted at once)."""

    kind = forms.ChoiceField(label=_("What happened"), widget=forms.RadioSelect,
                             choices=ExemptionKind.choices)
    reason = FreeTextField(label=_("Tell the office more"), max_length=500,
                           widget=forms.Textarea(attrs={"rows": 3}))
    since = forms.TypedChoiceField(label=_("It started"), coerce=int, initial=60, choices=[
        (0, _("just now")), (30, _("30 minutes ago")), (60, _("1 hour ago")),
        (120, _("2 hours ago")), (240, _("4 hours ago")), (480, _("8 hours ago"))])
    lasts = forms.TypedChoiceField(label=_("Expected to last (from now)"), coerce=int,
                                   initial=120, choices=[
                                       (60, _("1 hour")), (120, _("2 hours")),
                                       (240, _("4 hours")), (480, _("8 hours")),
                                       (1440, _("all day"))])
    # Checked and re-encoded by the service (workorders.images), like every photo.
    evidence = forms.FileField(label=_("Photo (optional)"), required=False,
                               widget=PhotoInput())

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        now = clock.now()
        if data.get("since") is not None and data.get("lasts") is not None:
            # The range starts a little before now even for "just now" (never in the future).
            data["starts_at"] = now - dt.timedelta(minutes=max(data["since"], 1))
            data["ends_at"] = now + dt.timedelta(minutes=data["lasts"])
        return data
class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True

    def __init__(self) -> None:
        super().__init__(attrs={"accept": "image/*", "multiple": True})


class MultiplePhotoField(forms.FileField):
    """Up to a few photos in one input (checked and re-encoded by the service)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultiplePhotoInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return [super(MultiplePhotoField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


class AppealForm(forms.Form):
    """R53: why an assessment entry is wrong, with photos as evidence."""

    text = FreeTextField(label=_("Why is this entry wrong?"), max_length=2000,
                         widget=forms.Textarea(attrs={"rows": 4}))
    photos = MultiplePhotoField(label=_("Photos (optional)"), required=False)
