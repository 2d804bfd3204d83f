"""Request and response shapes of the API (validation only; no writes here).

Requests are strict: unknown fields, wrong JSON types (a number where text is expected,
"yes" for a boolean) and text that can't be stored (NUL, lone surrogates) are 400s with
the field's path, before any service runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from appointments.models import Appointment, ChangeRequest
from charges.models import LineKind
from fieldops import phones
from fieldops.privacy import mask_name, mask_phone
from fieldops.text import refuse_hidden_characters, strip_hidden_characters
from inventory.models import Condition, DeviceKind, MovementAction, Owner, Unit
from outages.models import OutageState
from surveys.models import FollowUp, FollowUpKind
from technicians.models import Area, Technician
from visits.models import Measure, Requirement, Source, StepKey
from workorders.access import can_see_pii
from workorders.models import (
    AccessType,
    Channel,
    CustomerClass,
    Kind,
    Service,
    SignOffMethod,
    State,
    WorkOrderEvent,
)

from .models import ApiClient, WebhookEndpoint, WebhookEventType
from .selectors import area_by_code

#: R40: the one policy (``workorders.access``), re-exported for the API's views.
__all__ = ["can_see_pii", "phone_shown"]


def phone_shown(phone: str, user: Any) -> str:
    """R40: a phone number in full for roles whose work needs it, else masked."""
    return phone if can_see_pii(user) else mask_phone(phone)


def _same(phone: str) -> str:
    return phone


class ShownPhoneField(serializers.CharField):
    """A phone number in a response, as the caller may see it (R40: ``phone_shown``);
    ``masked=True``: masked for every caller (lists)."""

    def __init__(self, *, masked: bool = False, **kwargs: Any) -> None:
        self.masked = masked
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        if self.masked:
            return mask_phone(value)
        request = self.context.get("request")
        return phone_shown(value, getattr(request, "user", None))

    def shown_for(self, *, pii: bool) -> Callable[[str], str]:
        """How the phone is shown to a caller who may (``pii``) or may not see it in full."""
        return _same if pii and not self.masked else mask_phone


# --- Strict fields ------------------------------------------------------------------

class StrictCharField(serializers.CharField):
    """Only JSON strings, storable as UTF-8 (no lone surrogates). One-line values (names,
    phone numbers, addresses, references) with a control or invisible character are
    refused, naming it; ``free_text=True`` fields (symptoms, notes, reasons) have those
    characters removed instead, line breaks kept (``fieldops.text``)."""

    default_error_messages = {
        "invalid": _("Expected a string."),
        "encoding": _("The text contains characters that are not valid Unicode."),
    }

    def __init__(self, *, free_text: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.free_text = free_text
        if not free_text:
            self.validators.insert(0, refuse_hidden_characters)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            self.fail("encoding")
        if self.free_text:
            data = strip_hidden_characters(data)
        return super().to_internal_value(data)


class FreeTextField(StrictCharField):
    """``StrictCharField(free_text=True)``: symptoms, notes, reasons, comments."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(free_text=True, **kwargs)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": _("Expected true or false.")}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=str(data)[:50])
        return super().to_internal_value(data)


#: Dates a work order can sensibly carry; outside them a value is a typo (and years before
#: 1901 would come back with a local-mean-time offset that is not valid RFC 3339).
YEARS = (2000, 2100)


class StrictDateField(serializers.DateField):
    default_error_messages = {"range": _("Give a date between the years 2000 and 2100.")}

    def to_internal_value(self, value: Any) -> dt.date:
        if not isinstance(value, str):
            self.fail("invalid", format="YYYY-MM-DD")
        day = super().to_internal_value(value)
        if not YEARS[0] <= day.year <= YEARS[1]:
            self.fail("range")
        return day


class StrictDateTimeField(serializers.DateTimeField):
    default_error_messages = {"range": _("Give a time between the years 2000 and 2100.")}

    def to_internal_value(self, value: Any) -> dt.datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        moment = super().to_internal_value(value)
        if not YEARS[0] <= moment.year <= YEARS[1]:
            self.fail("range")
        return moment


#: What the schema says of a phone: digits (at least one: spaces alone are a blank field),
#: written with a leading + and spaces, dashes, dots or parentheses if you like. Whether
#: the number exists is ``fieldops.phones``' to say.
PHONE_PATTERN = r"^(?=.*[0-9])\+?[0-9 ().\-]{5,32}$"
#: The same, or nothing: a phone that may be left blank (its default, ``""``, must pass).
PHONE_OR_BLANK_PATTERN = r"^((?=.*[0-9])\+?[0-9 ().\-]{5,32})?$"


class PhoneField(StrictCharField):
    """A phone number as people write it (13812345678, 138 1234 5678, +86 138-1234-5678,
    010 6552 9988, +852 6123 4567), kept in ``fieldops.phones.normalized`` form. Its schema
    (``api.schema.PhoneFieldSchema``) admits ``""`` when the field may be blank."""

    default_error_messages = {"phone": phones.INVALID}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", phones.MAX_LENGTH)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value:
            return value
        try:
            return phones.normalized(value)
        except DjangoValidationError:
            self.fail("phone")


class StrictSerializer(serializers.Serializer):
    """Refuses fields it doesn't know (a typo must not be silently ignored)."""

    default_error_messages = {"unknown": _("Unknown field.")}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [k for k in data if k not in self.fields or self.fields[k].read_only]
            if unknown:
                raise serializers.ValidationError(
                    {str(k)[:100]: [self.error_messages["unknown"]] for k in unknown})
        return super().to_internal_value(data)


# --- Requests ---------------------------------------------------------------------------

class CustomerInSerializer(StrictSerializer):
    name = StrictCharField(max_length=100)
    phone = PhoneField(help_text=_("Contact phone number."))
    alt_phone = PhoneField(required=False, allow_blank=True, default="")
    customer_class = StrictChoiceField(choices=CustomerClass.choices,
                                       default=CustomerClass.STANDARD)


class WorkOrderCreateSerializer(StrictSerializer):
    """R1: every intake channel; R3: the first visit agreed to the day."""

    channel = StrictChoiceField(choices=Channel.choices)
    kind = StrictChoiceField(choices=Kind.choices)
    service = StrictChoiceField(choices=Service.choices)
    access_type = StrictChoiceField(choices=AccessType.choices)
    customer = CustomerInSerializer()
    account_number = StrictCharField(max_length=32, required=False, allow_blank=True,
                                     default="")
    address = StrictCharField(max_length=255)
    area = StrictCharField(max_length=32, help_text=_("Area code, e.g. BJ-DC-01."))
    symptoms = FreeTextField(max_length=2000, required=False, allow_blank=True, default="")
    fault_started_at = StrictDateTimeField(required=False, allow_null=True, default=None)
    preferred_day = StrictDateField(required=False, allow_null=True, default=None)
    external_ref = StrictCharField(max_length=64, required=False, allow_blank=True,
                                   default="",
                                   help_text=_("Your own reference; unique per client."))
    notes = FreeTextField(max_length=2000, required=False, allow_blank=True, default="")

    def validate_area(self, value: str) -> Area:
        area = area_by_code(value)
        if area is None:
            raise serializers.ValidationError(_("No area with this code; GET /api/v1/areas/ "
                                                "lists them."))
        return area


class ResolveRemotelySerializer(StrictSerializer):
    resolution = FreeTextField(max_length=2000, help_text=_("How it was fixed (R2)."))


class CancelSerializer(StrictSerializer):
    reason = FreeTextField(max_length=2000)


class ParkSerializer(StrictSerializer):
    until = StrictDateField(help_text=_("The day the customer is ready again (R12)."))
    reason = FreeTextField(max_length=2000)


#: A technician id that names no active technician (R4), in words an integrator can act on.
TECHNICIAN_ID_ERRORS: dict[str, Any] = {
    "does_not_exist": _("No active technician has the id {pk_value}. Take an id from GET "
                        "/technicians/, or leave the field out to choose by area, skill and "
                        "load (R4)."),
    "incorrect_type": _("A technician is named by their id, a whole number (GET "
                        "/technicians/), not a {data_type}."),
}


class DispatchSerializer(StrictSerializer):
    """R4: to this technician, or (none given) the one automatic dispatch chooses."""

    technician = serializers.PrimaryKeyRelatedField(
        queryset=Technician.objects.filter(is_active=True), required=False, allow_null=True,
        default=None, error_messages=TECHNICIAN_ID_ERRORS,
        help_text=_("The technician's id (GET /technicians/); leave it out or "
                                  "null to choose by area, skill and load (R4)."))
    reason = FreeTextField(max_length=2000, required=False, allow_blank=True, default="")


class ReassignSerializer(StrictSerializer):
    """R4: to another technician; the assignment history is kept."""

    technician = serializers.PrimaryKeyRelatedField(
        queryset=Technician.objects.filter(is_active=True), required=False, allow_null=True,
        default=None, error_messages=TECHNICIAN_ID_ERRORS,
        help_text=_("The new technician's id; leave it out or null to choose "
                                  "by area, skill and load among the others (R4)."))
    reason = FreeTextField(max_length=2000)


class UnassignSerializer(StrictSerializer):
    """R4: take the order off its technician, back to the queue."""

    reason = FreeTextField(max_length=2000)


class ResumeSerializer(StrictSerializer):
    reason = FreeTextField(max_length=2000, required=False, allow_blank=True, default="")


class ChangeRequestInSerializer(StrictSerializer):
    """R10: the customer's preferred window; the technician re-books it."""

    preferred_start = StrictDateTimeField()
    preferred_end = StrictDateTimeField()
    note = FreeTextField(max_length=500, required=False, allow_blank=True, default="")


def _rating_field(label: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True,
                                    default=None, help_text=label)


class CallbackSurveySerializer(StrictSerializer):
    """R30: the result of the manual callback (the same answer as the customer's survey,
    R29: satisfied or not, three optional 1-5 ratings and a comment)."""

    satisfied = StrictBooleanField()
    punctuality = _rating_field(_("Punctuality, 1-5 (5 is best)."))
    conduct = _rating_field(_("Conduct, 1-5 (5 is best)."))
    result = _rating_field(_("Result of the work, 1-5 (5 is best)."))
    comment = FreeTextField(max_length=2000, required=False, allow_blank=True, default="")


class CallbackNoteSerializer(StrictSerializer):
    """R19: what the customer said on the recorded callback."""

    callback_note = FreeTextField(max_length=2000)


class FollowUpInSerializer(StrictSerializer):
    """R28: a question or complaint to answer later."""

    kind = StrictChoiceField(choices=FollowUpKind.choices)
    text = FreeTextField(max_length=4000)
    due_at = StrictDateTimeField(required=False, allow_null=True, default=None)


class FollowUpAnswerSerializer(StrictSerializer):
    answer = FreeTextField(max_length=4000)


class WebhookEndpointInSerializer(StrictSerializer):
    url = StrictCharField(max_length=200, help_text=_("HTTPS URL that receives POSTs."))
    event_types = serializers.ListField(
        child=StrictChoiceField(choices=WebhookEventType.choices), required=False,
        default=list, max_length=len(WebhookEventType.values),
        help_text=_("Event types wanted; empty or missing for all."))
    description = FreeTextField(max_length=200, required=False, allow_blank=True,
                                default="")

    def validate_event_types(self, value: Any) -> list[str]:
        if not isinstance(value, list):
            raise serializers.ValidationError(_("Expected a list."))
        return list(value)


class OrderFilterSerializer(StrictSerializer):
    """Query parameters of the order list (all optional, combined with AND)."""

    state = serializers.MultipleChoiceField(
        choices=State.choices, required=False,
        help_text=_("One or more states, comma-separated."))
    kind = serializers.ChoiceField(choices=Kind.choices, required=False)
    area = serializers.CharField(max_length=32, required=False, help_text=_("Area code."))
    technician = serializers.IntegerField(min_value=1, max_value=2**62, required=False,
                                          help_text=_("Technician id."))
    customer_phone = PhoneField(
        required=False, help_text=_("The customer's or the contact's phone number, written as "
                                    "on create (138 1234 5678 finds 13812345678)."))
    account = serializers.CharField(max_length=32, required=False,
                                    help_text=_("Service account number."))
    external_ref = serializers.CharField(max_length=64, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    updated_after = serializers.DateTimeField(required=False)
    updated_before = serializers.DateTimeField(required=False)
    sla_status = serializers.ChoiceField(
        choices=[("at_risk", _("At risk")), ("breached", _("Breached"))], required=False,
        help_text=_("Orders with a running SLA timer at risk, or with a breached one."))
    ordering = serializers.ChoiceField(
        choices=[("-id", _("Newest first")), ("id", _("Oldest first"))], required=False,
        default="-id")
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)
    cursor = serializers.CharField(max_length=200, required=False)

    def to_internal_value(self, data: Any) -> Any:
        # Query strings: "state=a,b" or "state=a&state=b".
        if hasattr(data, "getlist"):
            flat: dict[str, Any] = {}
            for key in data:
                values = data.getlist(key)
                if key == "state":
                    flat[key] = [s for v in values for s in v.split(",") if s]
                else:
                    flat[key] = values[-1]
            data = flat
        for key, value in list(data.items()):
            if isinstance(value, str) and "\x00" in value:
                raise serializers.ValidationError({key: [_("Null characters are not "
                                                           "allowed.")]})
        return super().to_internal_value(data)


class FollowUpFilterSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=[("open", _("Open")),
                                              ("answered", _("Answered"))], required=False)
    mine = serializers.BooleanField(required=False, default=False,
                                    help_text=_("Only follow-ups I own."))
    overdue = serializers.BooleanField(required=False, default=False,
                                       help_text=_("Only open follow-ups past their due time."))
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)
    cursor = serializers.CharField(max_length=200, required=False)


# --- Responses ---------------------------------------------------------------------------

class AreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = Area
        fields = ["id", "code", "name", "area_type"]


class TechnicianRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")
    employee_no = serializers.CharField()


class PromiseSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["contact", "rework_contact", "visit", "arrival"],
                                   help_text=_("The SLA timer (R7, R31, R34/R35, R14)."))
    due_at = serializers.DateTimeField()
    met = serializers.BooleanField(help_text=_(
        "Contact: still due. Visit and arrival: the estimated arrival is before it is due."))


class CandidateSerializer(serializers.Serializer):
    """One technician in the dispatch ranking (R4), best first."""

    technician = TechnicianRefSerializer()
    rank = serializers.IntegerField(min_value=1)
    eligible = serializers.BooleanField(help_text=_(
        "On duty, serves the order's area, has its kind, service and access-type skills."))
    refusal = serializers.CharField(allow_null=True, help_text=_(
        "Why the technician may not take the order (R4), or null."))
    at_capacity = serializers.BooleanField(help_text=_(
        "Holds daily capacity or more open orders: auto-dispatch skips them."))
    auto_dispatch_choice = serializers.BooleanField(help_text=_(
        "The technician auto-dispatch would choose."))
    score = serializers.FloatField(help_text=_("Lower is better (docs/console.md)."))
    open_orders = serializers.IntegerField(min_value=0)
    visits_that_day = serializers.IntegerField(min_value=0)
    origin = serializers.CharField(allow_null=True, help_text=_(
        "Where the distance is measured from: previous_visit, position (the last check-in) "
        "or area (its centre); null when unknown."))
    distance_km = serializers.FloatField(allow_null=True, min_value=0)
    travel_minutes = serializers.IntegerField(allow_null=True, min_value=0)
    free_from = serializers.DateTimeField(allow_null=True)
    free_until = serializers.DateTimeField(allow_null=True)
    clash = serializers.CharField(allow_null=True, help_text=_(
        "The number of the technician's booked order the window overlaps, or null."))
    promises = PromiseSerializer(many=True)
    reasons = serializers.ListField(child=serializers.CharField(), help_text=_(
        "The same facts in words, in the request's language."))


class CandidatesSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    number = serializers.CharField()
    state = serializers.CharField()
    candidates = CandidateSerializer(many=True)


class TechnicianSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")
    employee_no = serializers.CharField()
    phone = ShownPhoneField(read_only=True)
    team = serializers.CharField(source="team.name", allow_null=True, default=None)
    areas = serializers.ListField(child=serializers.CharField(), source="area_codes",
                                  read_only=True, help_text=_("Codes of the areas served."))
    is_active = serializers.BooleanField()


class AppointmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Appointment
        fields = ["id", "start", "end", "precision", "status", "chosen_by_customer",
                  "booked_at"]


class ChangeRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChangeRequest
        fields = ["id", "order", "appointment", "preferred_start", "preferred_end", "note",
                  "source", "status", "requested_at"]


class FollowUpSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.get_username")

    class Meta:
        model = FollowUp
        fields = ["id", "order", "kind", "text", "owner", "due_at", "status", "answer",
                  "answered_at", "created_at"]


class CustomerOutSerializer(serializers.Serializer):
    # From the order (source "*"): the phone shown is the order's contact phone.
    name = serializers.CharField(source="customer.name")
    phone = ShownPhoneField(source="contact_phone")
    alt_phone = ShownPhoneField(source="customer.alt_phone")
    customer_class = serializers.CharField(source="customer.customer_class")


class ActionLinkSerializer(serializers.Serializer):
    name = serializers.CharField()
    href = serializers.CharField()


class SlaTimerSerializer(serializers.Serializer):
    """One promise on the order (R7, R14, R31, R34-R36) as the SLA engine keeps it."""

    kind = serializers.CharField(help_text=_("Which promise, e.g. contact or visit."))
    cycle = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["armed", "paused", "stopped", "cancelled"])
    outcome = serializers.ChoiceField(choices=["", "met", "breached"],
                                      help_text=_("Empty while the timer is open."))
    started_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True,
                                       help_text=_("Null unless the clock is running."))
    remaining_seconds = serializers.IntegerField(
        allow_null=True, help_text=_("Negative once overdue; null unless running."))
    paused = serializers.BooleanField()
    used_seconds = serializers.IntegerField()
    target_seconds = serializers.IntegerField()
    warned_at = serializers.DateTimeField(allow_null=True)
    at_risk = serializers.BooleanField()
    breached = serializers.BooleanField()
    breached_at = serializers.DateTimeField(allow_null=True,
                                            help_text=_("The true due time; stays set."))


class SlaSerializer(serializers.Serializer):
    available = serializers.BooleanField(
        help_text=_("False while this server has no SLA engine; timers is then empty."))
    status = serializers.ChoiceField(choices=["ok", "at_risk", "breached", "none"])
    timers = SlaTimerSerializer(many=True)


class TimerEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    timer = serializers.CharField()
    cycle = serializers.IntegerField()
    event = serializers.CharField(help_text=_("started, paused, resumed, stopped, cancelled, "
                                              "rearmed, warned, breached or escalated"))
    level = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()


class WorkOrderListItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    version = serializers.IntegerField()
    state = serializers.ChoiceField(choices=State.choices)
    kind = serializers.ChoiceField(choices=Kind.choices)
    service = serializers.ChoiceField(choices=Service.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    customer_class = serializers.ChoiceField(choices=CustomerClass.choices)
    customer_name = serializers.CharField(source="customer.name")
    contact_phone = ShownPhoneField(
        masked=True, read_only=True,
        help_text=_("Masked in lists (R40); the order itself shows it in full to roles "
                    "that need it."))
    area = serializers.CharField(source="area.code")
    technician = TechnicianRefSerializer(allow_null=True)
    external_ref = serializers.CharField()
    preferred_day = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OrderEquipmentSerializer(serializers.Serializer):
    """A device installed, swapped or taken back on the order, by serial (R45)."""

    serial = serializers.CharField()
    model = serializers.CharField(help_text=_("The device model's code."))
    model_name = serializers.CharField()
    kind = serializers.ChoiceField(choices=DeviceKind.choices)
    action = serializers.ChoiceField(choices=MovementAction.choices, help_text=_(
        "install, swap_in (the new one of a repair swap), swap_out (the old one, back to "
        "the van as faulty) or take_back."))
    at = serializers.DateTimeField()


class OrderMaterialSerializer(serializers.Serializer):
    """A material used on the order, net of corrections (R46)."""

    item = serializers.CharField(help_text=_("The catalogue code."))
    name = serializers.CharField()
    unit = serializers.ChoiceField(choices=Unit.choices)
    quantity = serializers.FloatField(help_text=_("Whole for pieces, one decimal for metres."))
    above_norm = serializers.BooleanField(help_text=_(
        "The order's use went far above the norm for its kind and is flagged for review."))


class DeviceModelSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=DeviceKind.choices)


class DeviceMovementSerializer(serializers.Serializer):
    """One change of the device's owner (R45): from, to, order, who, when, why."""

    at = serializers.DateTimeField()
    action = serializers.ChoiceField(choices=MovementAction.choices)
    from_owner = serializers.ChoiceField(choices=[("", ""), *Owner.choices], help_text=_(
        "Empty when the device came into stock."))
    from_label = serializers.CharField(help_text=_(
        "The warehouse, a van (employee number) or a customer (account number)."))
    to_owner = serializers.ChoiceField(choices=Owner.choices)
    to_label = serializers.CharField()
    order = serializers.CharField(source="order.number", allow_null=True, default=None)
    by = serializers.CharField(source="by.get_username", allow_null=True, default=None)
    reason = serializers.CharField()


class DeviceSerializer(serializers.Serializer):
    """A device of the stock register by its serial (R45), with its owner now and its
    history. No phone data: the customer is named by the service account's number."""

    serial = serializers.CharField()
    model = DeviceModelSerializer()
    owner = serializers.ChoiceField(choices=Owner.choices)
    technician = TechnicianRefSerializer(allow_null=True, help_text=_(
        "Whose van it is in, when in a van."))
    account_number = serializers.CharField(source="account.number", allow_null=True,
                                           default=None, help_text=_(
                                               "The customer's service account, when "
                                               "installed."))
    order = serializers.CharField(source="order.number", allow_null=True, default=None,
                                  help_text=_("The order that installed it."))
    condition = serializers.ChoiceField(choices=Condition.choices)
    warranty_until = serializers.DateField(allow_null=True)
    history = DeviceMovementSerializer(source="movements.all", many=True)


class DeviceFilterSerializer(StrictSerializer):
    serial = StrictCharField(max_length=80, help_text=_(
        "The serial, as printed or scanned; spaces and case do not matter."))


class ChecklistStepSerializer(serializers.Serializer):
    """One step of the visit's checklist (R43, R44, R49; R22, R27, R45-R48 by state)."""

    step = serializers.ChoiceField(choices=StepKey.choices)
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field
    requirement = serializers.ChoiceField(choices=Requirement.choices,
                                          help_text=_("What the checklist policy asks."))
    status = serializers.ChoiceField(choices=[("done", "done"), ("declined", "declined"),
                                              ("todo", "todo")])
    reason = serializers.CharField(help_text=_("Why the step was declined."))
    details = serializers.DictField(help_text=_(
        "What was recorded: the try-out (tried, worked, customer_declined, explained), "
        "the safety step (at_height, second_person, warning_sign), the clean-up."))
    recorded_at = serializers.DateTimeField(allow_null=True)


class TestResultSerializer(serializers.Serializer):
    """A measured test result of the visit (R48)."""

    __test__ = False  # not a pytest test class

    measure = serializers.ChoiceField(choices=Measure.choices)
    value = serializers.DecimalField(max_digits=7, decimal_places=1, allow_null=True,
                                     coerce_to_string=True,
                                     help_text=_("dBm for the optical power, Mbit/s for a "
                                                 "speed test; null for a yes/no check."))
    passed = serializers.BooleanField(allow_null=True)
    expected = serializers.CharField()
    in_range = serializers.BooleanField()
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a declared field
                                     choices=Source.choices,
                                     help_text=_("network: read from the operator's "
                                                 "network (network-verified), not typed."))
    onu_state = serializers.CharField()
    reason = serializers.CharField(help_text=_("Why an out-of-range result stands."))
    recorded_at = serializers.DateTimeField()


class FeeLineSerializer(serializers.Serializer):
    """A fee line of the order (R47): a charge from the published price list, or a refund
    (negative, by a supervisor)."""

    code = serializers.CharField(help_text=_("The price list's code."))
    name = serializers.CharField(help_text=_("In the language asked for (zh-Hans or en)."))
    kind = serializers.ChoiceField(choices=LineKind.choices)
    unit_price = serializers.DecimalField(max_digits=8, decimal_places=2,
                                          coerce_to_string=True)
    quantity = serializers.DecimalField(max_digits=7, decimal_places=1, coerce_to_string=True)
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=True,
                                      help_text=_("Yuan; negative for a refund."))
    serial = serializers.CharField(help_text=_(
        "For repair labour: the equipment whose warranty was checked."))
    at = serializers.DateTimeField()


class ChargesSerializer(serializers.Serializer):
    """The order's charges (R47): its lines, their total, what was paid and when."""

    lines = FeeLineSerializer(many=True)
    total = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=True,
                                     help_text=_("Yuan, refunds included."))
    paid = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=True)
    paid_at = serializers.DateTimeField(allow_null=True, help_text=_(
        "When the latest payment was confirmed by the payment backend (the receipt's "
        "time); null while nothing is paid."))
class OrderOutageSerializer(serializers.Serializer):
    """The outage a repair order waits on (R54): what the agent tells the customer."""

    number = serializers.CharField()
    state = serializers.ChoiceField(choices=OutageState.choices)
    place = serializers.CharField(help_text=_("The access node, or the area, of the outage."))
    explanation = serializers.CharField()
    eta = serializers.DateTimeField(help_text=_("The estimated repair time."))
    attached = serializers.BooleanField(help_text=_(
        "True once the order is attached (its visit clock paused); false in the intake's "
        "answer, where it is attached right after the order is saved."))
    message = serializers.CharField(help_text=_(
        'What to tell the customer, e.g. "Known outage OUT000012 at …, ETA 16:00: …".'))
class SignOffSerializer(serializers.Serializer):
    """The customer's sign-off of the visit (R26) and whether its seal still holds."""

    signed_at = serializers.DateTimeField()
    method = serializers.ChoiceField(choices=SignOffMethod.choices)
    rating = serializers.IntegerField(help_text=_("The customer's rating, 1-5."))
    seal_intact = serializers.BooleanField(help_text=_(
        "The signature and everything it covers (the report, photos, serials, materials, "
        "checklist, test results, charges) are unchanged since signing; false means a "
        "record was altered afterwards."))
class EtaSerializer(serializers.Serializer):
    """When the technician should be at the door ("where is my technician")."""

    # Computed by planning.eta.

    # "from" is a Python keyword: declared through the class namespace.
    locals()["from"] = serializers.DateTimeField(
        source="start", help_text=_("Earliest expected arrival."))
    to = serializers.DateTimeField(source="end", help_text=_("Latest expected arrival."))
    # "source" would shadow Field.source: declared the same way.
    locals()["source"] = serializers.ChoiceField(
        choices=["en_route", "plan", "booking"],
        help_text=_("What the estimate rests on: en_route (the technician's position on the "
                    "way and the distance), plan (the dispatcher's planned start), booking "
                    "(the booked window)."))


class WorkOrderDetailSerializer(serializers.Serializer):
    """The order as the caller may see it (R40: phones masked unless the role needs them)."""

    # Its instance: the order (``api.readers.OrderDetail``: with what the caller may do now,
    # the current appointment and the SLA alongside).

    id = serializers.IntegerField()
    number = serializers.CharField()
    version = serializers.IntegerField(help_text=_("Also the ETag; send it as If-Match."))
    state = serializers.ChoiceField(choices=State.choices)
    state_label = serializers.CharField()
    kind = serializers.ChoiceField(choices=Kind.choices)
    service = serializers.ChoiceField(choices=Service.choices)
    access_type = serializers.ChoiceField(choices=AccessType.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    customer_class = serializers.ChoiceField(choices=CustomerClass.choices)
    customer = CustomerOutSerializer(source="*")
    account_number = serializers.CharField(source="account.number", allow_null=True)
    address = serializers.CharField()
    area = AreaSerializer()
    symptoms = serializers.CharField()
    fault_started_at = serializers.DateTimeField(allow_null=True)
    preferred_day = serializers.DateField(allow_null=True)
    external_ref = serializers.CharField()
    notes = serializers.CharField()
    technician = TechnicianSerializer(allow_null=True)
    appointment = AppointmentSerializer(allow_null=True)
    eta = EtaSerializer(allow_null=True, help_text=_(
        "Estimated arrival window while the technician is still to come (R13, R14); null "
        "before dispatch, once on site and after."))
    parked_until = serializers.DateField(allow_null=True)
    customer_missed_bookings = serializers.IntegerField()
    our_missed_appointments = serializers.IntegerField()
    supervisor_flag = serializers.BooleanField()
    rework_round = serializers.IntegerField()
    cancel_reason = serializers.CharField()
    allowed_actions = serializers.ListField(
        child=serializers.CharField(),
        help_text=_("State-machine transitions this caller may fire now."))
    actions = ActionLinkSerializer(many=True,
                                   help_text=_("API actions this caller may POST now."))
    sla = SlaSerializer()
    outage = OrderOutageSerializer(allow_null=True, help_text=_(
        "The known outage this repair order waits on (R54), or null."))
    equipment = OrderEquipmentSerializer(many=True, help_text=_(
        "Devices installed, swapped or taken back on the order, by serial (R45)."))
    materials = OrderMaterialSerializer(many=True, help_text=_(
        "Materials used on the order, net of corrections (R46)."))
    checklist = ChecklistStepSerializer(many=True, help_text=_(
        "The on-site checklist; empty until the technician is on site."))
    test_results = TestResultSerializer(many=True, help_text=_(
        "Measured test results (R48); empty until recorded."))
    charges = ChargesSerializer(help_text=_(
        "Fee lines, total and payment (R47); empty before the visit."))
    sign_off = SignOffSerializer(allow_null=True, help_text=_(
        "The customer's newest sign-off (R26); null until the customer signs."))
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    dispatched_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")
    at = serializers.DateTimeField(help_text=_(
        "When it happened; for a step done offline on the technician's phone, the time it "
        "was done there (corrected for the phone's clock)."))
    received_at = serializers.DateTimeField(allow_null=True, help_text=_(
        "For a step done offline and sent later from the technician's phone: when it reached "
        "the server. Null for everything recorded as it happened."))

    class Meta:
        model = WorkOrderEvent
        fields = ["id", "at", "received_at", "actor", "action", "from_state", "to_state",
                  "reason", "payload"]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        # R51 (no retaliation): the reason written when a complaint sent the order back
        # may quote the complainant; a reader who may not read complaints (the order's
        # technician) gets the event without it (``complaint_words`` in the context).
        if (not self.context.get("complaint_words", True)
                and "complaint" in (instance.payload or {})):
            data["reason"] = ""
        # R40: the customer's signer's name as the reader may see it (``signer`` in the
        # context: full with an access record, or masked); masked without one.
        payload = data.get("payload") or {}
        if payload.get("signer_name"):
            shown = self.context.get("signer", mask_name)
            data["payload"] = {**payload, "signer_name": shown(payload["signer_name"])}
        return data


class TimelineSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    number = serializers.CharField()
    state = serializers.ChoiceField(choices=State.choices)
    version = serializers.IntegerField()
    technician = TechnicianSerializer(allow_null=True)
    appointment = AppointmentSerializer(allow_null=True)
    events = EventSerializer(many=True)
    timer_events = TimerEventSerializer(many=True)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices),
        help_text=_("Event types delivered; empty for all."))

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "event_types", "description", "is_active", "created_at"]


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "event_types", "description", "is_active", "created_at",
                  "secret"]
        extra_kwargs = {"secret": {"help_text": _(
            "The signing secret, shown only in this answer: whsec_ and the base64 of the key. "
            "Give it as it is to a Standard Webhooks library to verify deliveries.")}}


class ClientSerializer(serializers.ModelSerializer):
    # Declared, not derived from the model: the derived bounds depend on the database
    # backend, and the committed schema must not.
    rate_limit_per_minute = serializers.IntegerField(read_only=True)

    class Meta:
        model = ApiClient
        fields = ["id", "name", "role", "rate_limit_per_minute"]


class ProblemFieldSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details; extra members depend on ``code``."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    instance = serializers.CharField(required=False)
    errors = ProblemFieldSerializer(many=True)  # type: ignore[assignment]  # a field here
    state = serializers.CharField(required=False)
    allowed_actions = serializers.ListField(child=serializers.CharField(), required=False)
    current_version = serializers.IntegerField(required=False)
    rule = serializers.CharField(required=False)
    action = serializers.CharField(
        required=False, help_text=_("illegal_transition: the action that was refused."))
    field = serializers.CharField(
        required=False, allow_blank=True,
        help_text=_("rule_violation: the field the rule is about (empty if none)."))
    existing_order = serializers.IntegerField(
        required=False, help_text=_("duplicate_reference: the order that has your reference."))
    original_order = serializers.IntegerField(
        required=False, allow_null=True,
        help_text=_("idempotency_key_reused: the order the key created first."))
    callback = serializers.IntegerField(
        required=False, help_text=_("already_answered: the callback that is no longer open."))
    survey = serializers.IntegerField(
        required=False, help_text=_("already_answered: the survey answered already."))
    follow_up = serializers.IntegerField(
        required=False, help_text=_("already_answered: the follow-up answered already."))


# --- Callbacks (R30) ------------------------------------------------------------------------

class CallbackFilterSerializer(StrictSerializer):
    status = serializers.ChoiceField(
        choices=[("open", _("Open")), ("done", _("Done")), ("cancelled", _("No longer needed")),
                 ("all", _("All"))], required=False, default="open",
        help_text=_("Open (the default): still to call."))
    area = serializers.CharField(max_length=32, required=False, help_text=_("Area code."))
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)
    cursor = serializers.CharField(max_length=200, required=False)


class CallbackNotReachedSerializer(StrictSerializer):
    """R30: the call did not reach the customer; the callback stays open."""

    note = FreeTextField(max_length=2000, required=False, allow_blank=True, default="")


class CallbackSurveyOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    round = serializers.IntegerField(help_text=_("0: after completion; n: after rework n."))
    sent_at = serializers.DateTimeField(source="sms_not_before",
                                        help_text=_("When the survey SMS went (or goes) out."))
    callback_due_at = serializers.DateTimeField()
    status = serializers.CharField()
    satisfied = serializers.BooleanField(allow_null=True)
    punctuality = serializers.IntegerField(allow_null=True)
    conduct = serializers.IntegerField(allow_null=True)
    result = serializers.IntegerField(allow_null=True)
    comment = serializers.CharField()
    channel = serializers.CharField()
    answered_at = serializers.DateTimeField(allow_null=True)


class CallbackSerializer(serializers.Serializer):
    """R30: a callback task for the call-centre: call the customer, record the answer."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    order = serializers.IntegerField(source="order_id")
    order_number = serializers.CharField(source="order.number")
    order_state = serializers.CharField(source="order.state")
    customer_name = serializers.CharField(source="order.customer.name")
    contact_phone = serializers.SerializerMethodField()
    area = serializers.CharField(source="order.area.code")
    technician = TechnicianRefSerializer(source="survey.technician", allow_null=True)
    survey = CallbackSurveyOutSerializer()
    attempts = serializers.IntegerField(help_text=_("Calls that did not reach the customer."))
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()
    done_at = serializers.DateTimeField(allow_null=True)
    done_by = serializers.CharField(source="done_by.get_username", allow_null=True,
                                    default=None)

    @extend_schema_field(OpenApiTypes.STR)
    def get_contact_phone(self, callback: Any) -> str:
        """R40: in full only for roles that call customers."""
        return phone_shown(callback.order.contact_phone, self.context["request"].user)

