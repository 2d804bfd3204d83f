"""Complaints in the API (R51): the call-centre lists, records, handles and closes them; a
supervisor decides. Every answer that shows a complaint's words or complainant is recorded
as a read (R40); the list shows neither. Technicians have no way in here: they see that a
complaint exists, and its outcome, on their order page only (no retaliation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from complaints import selectors as complaint_selectors
from complaints import services as complaint_services
from complaints.models import Complaint, ComplaintChannel, ComplaintStatus, ContactKind, Tier
from workorders.errors import RuleViolation
from workorders.models import Customer, Face, WorkOrder

from . import selectors
from . import serializers as s
from .views import (
    ACTION_IDEMPOTENCY_KEY,
    ACTION_REPLAYED,
    IDEMPOTENCY_KEY,
    IDEMPOTENT_REPLAYED,
    READ_ERRORS,
    WRITE_ERRORS,
    ApiView,
    _ensure_dict,
    _idempotency_key,
    _jsonable,
    _problems,
    _required_idempotency_key,
    _written_once,
)

COMPLAINT_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                                description=_lazy("Complaint id."))
TIERS_HELP = _lazy("One of: complaint, escalated (越级投诉), regulator (申诉). Another value is "
                   "refused with 422 naming these.")


# --- Serializers -----------------------------------------------------------------------

class ComplaintDeadlineSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=_lazy("response or resolution."))
    due_at = serializers.DateTimeField()
    status = serializers.CharField(help_text=_lazy("armed (running), met or cancelled."))
    outcome = serializers.CharField(help_text=_lazy("breached, met, or empty while running."))
    warned_at = serializers.DateTimeField(allow_null=True)
    breached_at = serializers.DateTimeField(allow_null=True)
    met_at = serializers.DateTimeField(allow_null=True)
    words = serializers.SerializerMethodField()

    def get_words(self, obj: Any) -> str:
        return complaint_selectors.deadline_words(obj)


class ComplaintListItemSerializer(serializers.Serializer):
    """A complaint without its words or complainant (the list is not a read of them)."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    tier = serializers.CharField()
    channel = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.CharField(help_text=_lazy("upheld, not_upheld, or empty."))
    order = serializers.IntegerField(source="order_id", allow_null=True)
    recorded_at = serializers.DateTimeField()
    deadlines = ComplaintDeadlineSerializer(many=True, source="deadlines.all")


class ComplaintContactSerializer(serializers.Serializer):
    kind = serializers.CharField()
    at = serializers.DateTimeField()
    by = serializers.SerializerMethodField()
    note = serializers.CharField()
    customer_confirmed = serializers.BooleanField()

    def get_by(self, obj: Any) -> str:
        return str(obj.by.get_full_name() or obj.by.get_username())


class ComplaintCustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ComplaintSerializer(ComplaintListItemSerializer):
    """R51: the complaint in full. Reading it is recorded (R40)."""

    text = serializers.CharField()
    customer = ComplaintCustomerSerializer()
    technician = serializers.IntegerField(source="technician_id", allow_null=True)
    solution = serializers.CharField()
    compensation = serializers.DecimalField(max_digits=10, decimal_places=2)
    compensation_note = serializers.CharField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()
    released_note = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)
    closure = serializers.CharField()
    closure_note = serializers.CharField()
    version = serializers.IntegerField()
    contacts = ComplaintContactSerializer(many=True, source="contacts.all")


class ComplaintListResponse(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text=_lazy("URL of the next page, or null."))
    results = ComplaintListItemSerializer(many=True)


class ComplaintFilterSerializer(s.StrictSerializer):
    status = serializers.ChoiceField(choices=ComplaintStatus.choices, required=False)
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    order = serializers.IntegerField(min_value=1, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)
    cursor = s.StrictCharField(max_length=200, required=False)


# Issue 18 item 4: one-line values (the tier) refuse a control or invisible character with a
# 400 naming the field; free text (what the customer says, notes, the solution) loses them,
# line breaks kept, as the orders' symptoms and notes do (``fieldops.text``).

class ComplaintCreateSerializer(s.StrictSerializer):
    tier = s.StrictCharField(max_length=32, help_text=TIERS_HELP)
    channel = serializers.ChoiceField(choices=ComplaintChannel.choices)
    text = s.FreeTextField(max_length=4000, help_text=_lazy("What the customer says."))
    order = serializers.IntegerField(min_value=1, required=False, allow_null=True,
                                     help_text=_lazy("The order complained about."))
    customer = serializers.IntegerField(min_value=1, required=False, allow_null=True,
                                        help_text=_lazy("The customer, for a complaint "
                                                        "about no particular order."))


class ComplaintHandleSerializer(s.StrictSerializer):
    kind = serializers.ChoiceField(choices=ContactKind.choices)
    note = s.FreeTextField(max_length=4000, help_text=_lazy("What was said."))
    solution = s.FreeTextField(max_length=4000, required=False, allow_blank=True)
    compensation = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0,
                                            required=False, allow_null=True)
    compensation_note = s.FreeTextField(max_length=255, required=False, allow_blank=True)
    customer_confirmed = serializers.BooleanField(required=False, default=False)


class ComplaintDecideSerializer(s.StrictSerializer):
    upheld = serializers.BooleanField()
    note = s.FreeTextField(max_length=4000)
    released_note = s.FreeTextField(max_length=4000, required=False, allow_blank=True,
                                    help_text=_lazy("What the technician may read."))


class ComplaintCloseSerializer(s.StrictSerializer):
    note = s.FreeTextField(max_length=4000, required=False, allow_blank=True)


class ComplaintReworkSerializer(s.StrictSerializer):
    reason = s.FreeTextField(max_length=4000)


# --- Views -----------------------------------------------------------------------------

def _complaint_for(view: ApiView, request: Request, pk: int) -> Complaint:
    view.require(request.user, complaint_services.PERM_VIEW)
    complaint = complaint_selectors.complaints().filter(pk=pk).first()
    if complaint is None:
        raise NotFound(_("No complaint %(id)s.") % {"id": pk})
    return complaint


def _body(request: Request, pk: int, where: str) -> dict[str, Any]:
    """The complaint in full, and the read of it recorded (R51, R40)."""
    complaint = complaint_selectors.complaints().get(pk=pk)
    complaint_selectors.record_read(user=request.user, complaint=complaint, face=Face.API,
                                    where=where)
    return _jsonable(dict(ComplaintSerializer(complaint).data))


def _written(request: Request, *, key: str | None, status: int, where: str,
             act: Callable[[], Complaint]) -> Response:
    """Do ``act`` and answer with the complaint; with a key, at most once (a retry gets the
    first answer, and its read is recorded again)."""
    user = request.user

    def run() -> tuple[dict[str, Any], int | None]:
        complaint = act()
        return _body(request, complaint.pk, where), complaint.order_id

    result = _written_once(request, key=key, status=status, act=run)
    pk = int(result.body.get("id") or 0)
    headers = {"Location": f"/api/v1/complaints/{pk}/"} if status == 201 else {}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
        complaint = Complaint.objects.filter(pk=pk).first()
        if complaint is not None:  # R40: shown again: recorded again
            complaint_selectors.record_read(user=user, complaint=complaint, face=Face.API,
                                            where=where)
    return Response(result.body, status=result.status, headers=headers)


class ComplaintCollectionView(ApiView):
    serializer_class = ComplaintCreateSerializer

    @extend_schema(operation_id="complaints_list", parameters=[ComplaintFilterSerializer],
                   responses={200: ComplaintListResponse, **_problems(*READ_ERRORS)},
                   summary="Complaints (R51), newest first, with their deadlines; without "
                           "their words or complainant.")
    def get(self, request: Request) -> Response:
        self.require(request.user, complaint_services.PERM_VIEW)
        params = ComplaintFilterSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        f = params.validated_data
        qs = Complaint.objects.prefetch_related("deadlines")
        for name in ("status", "tier"):
            if f.get(name):
                qs = qs.filter(**{name: f[name]})
        if f.get("order"):
            qs = qs.filter(order_id=f["order"])
        page = self.keyset(qs, f, descending=True)
        data = ComplaintListItemSerializer(page.items, many=True).data
        return Response({"next": self.next_link(request, page.next_cursor), "results": data})

    @extend_schema(operation_id="complaints_create",
                   parameters=[IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED],
                   request=ComplaintCreateSerializer,
                   responses={201: ComplaintSerializer, **_problems(*WRITE_ERRORS)},
                   summary="Record a complaint against an order or a customer (R51): its "
                           "tier's deadlines start; idempotent by key.")
    def post(self, request: Request) -> Response:
        user = request.user
        self.require(user, complaint_services.PERM_RECORD)
        key = _required_idempotency_key(request, _(
            "Send an Idempotency-Key header (e.g. a UUID) so a retry can't record the "
            "complaint twice."))
        form = ComplaintCreateSerializer(data=_ensure_dict(request.data))
        form.is_valid(raise_exception=True)
        v = form.validated_data

        def act() -> Complaint:
            order = customer = None
            if v.get("order"):
                try:
                    order = selectors.order_for(user, v["order"])
                except WorkOrder.DoesNotExist:
                    raise RuleViolation(_("No work order %(id)s that you may see.")
                                        % {"id": v["order"]}, field="order",
                                        rule="R51") from None
            if v.get("customer"):
                customer = Customer.objects.filter(pk=v["customer"]).first()
                if customer is None:
                    raise RuleViolation(_("No customer %(id)s.") % {"id": v["customer"]},
                                        field="customer", rule="R51")
            return complaint_services.complaint_record(
                by=user, tier=v["tier"], channel=v["channel"], text=v["text"], order=order,
                customer=customer)

        return _written(request, key=key, status=201, where="api:complaint-create", act=act)


class ComplaintDetailView(ApiView):
    @extend_schema(operation_id="complaints_retrieve", parameters=[COMPLAINT_ID],
                   responses={200: ComplaintSerializer, **_problems(*READ_ERRORS)},
                   summary="One complaint in full (R51); the read is recorded (R40).")
    def get(self, request: Request, pk: int) -> Response:
        complaint = _complaint_for(self, request, pk)
        return Response(_body(request, complaint.pk, "api:complaint"))


def _action_view(name: str, serializer: type[s.StrictSerializer], summary: str,
                 run: Callable[[Complaint, Any, dict[str, Any]], Any]) -> type[ApiView]:
    class ComplaintActionView(ApiView):
        serializer_class = serializer

        @extend_schema(operation_id=f"complaints_{name}",
                       parameters=[COMPLAINT_ID, ACTION_IDEMPOTENCY_KEY, ACTION_REPLAYED],
                       request=serializer,
                       responses={200: ComplaintSerializer, **_problems(*WRITE_ERRORS)},
                       summary=summary)
        def post(self, request: Request, pk: int) -> Response:
            complaint = _complaint_for(self, request, pk)
            key = _idempotency_key(request)
            form = serializer(data=_ensure_dict(request.data))
            form.is_valid(raise_exception=True)

            def act() -> Complaint:
                run(complaint, request.user, dict(form.validated_data))
                return complaint

            return _written(request, key=key, status=200, where=f"api:complaint-{name}",
                            act=act)

    ComplaintActionView.__name__ = f"Complaint{name.title()}View"
    ComplaintActionView.__qualname__ = ComplaintActionView.__name__
    return ComplaintActionView


COMPLAINT_ACTIONS: dict[str, type[ApiView]] = {
    "handle": _action_view(
        "handle", ComplaintHandleSerializer,
        "Record a contact with the customer, and the solution and compensation (R51); the "
        "first contact meets the response deadline.",
        lambda c, by, v: complaint_services.complaint_handle(complaint=c, by=by, **v)),
    "decide": _action_view(
        "decide", ComplaintDecideSerializer,
        "A supervisor decides once whether the complaint is upheld (R51, R53) and may "
        "release a note for the technician.",
        lambda c, by, v: complaint_services.complaint_decide(complaint=c, by=by, **v)),
    "close": _action_view(
        "close", ComplaintCloseSerializer,
        "Close the complaint (R51): needs a solution, a decision and the customer's "
        "confirmation or a recorded callback.",
        lambda c, by, v: complaint_services.complaint_close(complaint=c, by=by, **v)),
    "rework": _action_view(
        "rework", ComplaintReworkSerializer,
        "Send the order complained about back to rework (R51, R31): for a completed order "
        "or one waiting for its survey.",
        lambda c, by, v: complaint_services.complaint_reopen_rework(complaint=c, by=by, **v)),
}
