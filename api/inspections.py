"""Quality inspections in the API (R52), for the quality team's tools: the inspection list
with each order's suspicion signals in words, and the decision (pass, or fail with the
checklist points found wrong and notes). A fail sends the order back to rework (R31)
through ``quality.services.inspection_decide``, the same service as the admin's page: no
rule is decided here. Inspectors and supervisors only (``quality.view_inspection``,
``quality.decide_inspection``); everyone else gets 403."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from quality import services as quality_services
from quality.models import Inspection, InspectionMethod, InspectionReason, InspectionStatus
from quality.suspicion import Policies

from . import serializers as s
from .views import (
    ACTION_IDEMPOTENCY_KEY,
    ACTION_REPLAYED,
    READ_ERRORS,
    WRITE_ERRORS,
    ApiView,
    _ensure_dict,
    _idempotency_key,
    _jsonable,
    _problems,
    _written,
)

PERM_VIEW = "quality.view_inspection"
INSPECTION_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                                 description=_lazy("Inspection id."))


# --- Serializers -----------------------------------------------------------------------

class InspectionSignalSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=_lazy("far_check_in, photo_reused, "
                                                 "quick_completion, fast_signature or "
                                                 "survey_from_tech."))
    words = serializers.SerializerMethodField(help_text=_lazy("The evidence in words, with "
                                                              "the policy's limit."))

    def get_words(self, obj: Any) -> str:
        return str(obj.describe())


class InspectionSerializer(serializers.Serializer):
    """One inspection (R52): the completed order it looks at, why it was drawn, the
    evidence in words and, once decided, the outcome. The list and every answer use it."""

    id = serializers.IntegerField()
    order = serializers.IntegerField(source="order_id")
    order_number = serializers.CharField(source="order.number")
    round = serializers.IntegerField(help_text=_lazy("The order's rework round when it was "
                                                     "completed."))
    area = serializers.CharField(source="area.code")
    technician = serializers.IntegerField(source="technician_id", allow_null=True)
    day = serializers.DateField(help_text=_lazy("The completion day (local)."))
    completed_at = serializers.DateTimeField()
    reason = serializers.ChoiceField(choices=InspectionReason.choices,
                                     help_text=_lazy("Why it was drawn: sample, signal or "
                                                     "both."))
    status = serializers.ChoiceField(choices=InspectionStatus.choices)
    signals = InspectionSignalSerializer(many=True, source="signals.all")
    checklist = serializers.SerializerMethodField(
        help_text=_lazy("The points of the area's checklist; a fail names those found "
                        "wrong."))
    method = serializers.CharField(help_text=_lazy("review or revisit; empty while open."))
    failed_points = serializers.ListField(child=serializers.CharField())
    notes = serializers.CharField()
    revisited_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_checklist(self, obj: Inspection) -> list[str]:
        policies = self.context.get("policies") or Policies()
        return [str(point) for point in policies(obj.area_id).checklist]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_decided_by(self, obj: Inspection) -> str | None:
        user = obj.decided_by
        return None if user is None else str(user.get_full_name() or user.get_username())


class InspectionListResponse(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text=_lazy("URL of the next page, or null."))
    results = InspectionSerializer(many=True)


class InspectionFilterSerializer(s.StrictSerializer):
    area = s.StrictCharField(max_length=32, required=False,
                             help_text=_lazy("Area code."))
    state = serializers.ChoiceField(choices=InspectionStatus.choices, required=False,
                                    help_text=_lazy("open, passed or failed."))
    start = serializers.DateField(required=False, help_text=_lazy(
        "The period's first completion day (inclusive)."))
    end = serializers.DateField(required=False, help_text=_lazy(
        "The period's last completion day (inclusive)."))
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)
    cursor = s.StrictCharField(max_length=200, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("start") and attrs.get("end") and attrs["start"] > attrs["end"]:
            raise ValidationError({"end": [_("The period must end on or after its start.")]})
        return attrs


class InspectionDecisionSerializer(s.StrictSerializer):
    passed = s.StrictBooleanField(help_text=_lazy("true: passed; false: failed (the order "
                                                  "goes back to rework, R31)."))
    method = serializers.ChoiceField(choices=InspectionMethod.choices,
                                     default=InspectionMethod.REVIEW,
                                     help_text=_lazy("review (of the evidence, the default) "
                                                     "or revisit (then revisited_at)."))
    notes = s.FreeTextField(max_length=4000, required=False, allow_blank=True, default="",
                            help_text=_lazy("What was found; a fail needs notes or points."))
    failed_points = serializers.ListField(
        child=s.StrictCharField(max_length=500), required=False, default=list, max_length=50,
        help_text=_lazy("The checklist points found wrong (as the inspection's checklist "
                        "lists them); none for a pass."))
    revisited_at = s.StrictDateTimeField(required=False, allow_null=True, default=None,
                                         help_text=_lazy("When the address was revisited "
                                                         "(method revisit); not in the "
                                                         "future."))


# --- Views -----------------------------------------------------------------------------

def inspections() -> QuerySet[Inspection]:
    return (Inspection.objects.select_related("order", "area", "decided_by")
            .prefetch_related("signals"))


def _answer(pk: int) -> dict[str, Any]:
    inspection = inspections().get(pk=pk)
    return _jsonable(dict(InspectionSerializer(inspection,
                                               context={"policies": Policies()}).data))


class InspectionCollectionView(ApiView):
    @extend_schema(operation_id="inspections_list", parameters=[InspectionFilterSerializer],
                   responses={200: InspectionListResponse, **_problems(*READ_ERRORS)},
                   summary="Inspections of completed orders (R52), newest first, with their "
                           "signals' evidence in words; inspectors and supervisors.")
    def get(self, request: Request) -> Response:
        self.require(request.user, PERM_VIEW)
        params = InspectionFilterSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        f = params.validated_data
        qs = inspections()
        if f.get("area"):
            qs = qs.filter(area__code=f["area"])
        if f.get("state"):
            qs = qs.filter(status=f["state"])
        if f.get("start"):
            qs = qs.filter(day__gte=f["start"])
        if f.get("end"):
            qs = qs.filter(day__lte=f["end"])
        page = self.keyset(qs, f, descending=True)
        data = InspectionSerializer(page.items, many=True,
                                    context={"policies": Policies()}).data
        return Response({"next": self.next_link(request, page.next_cursor), "results": data})


class InspectionDecisionView(ApiView):
    serializer_class = InspectionDecisionSerializer

    @extend_schema(operation_id="inspections_decision",
                   parameters=[INSPECTION_ID, ACTION_IDEMPOTENCY_KEY, ACTION_REPLAYED],
                   request=InspectionDecisionSerializer,
                   responses={200: InspectionSerializer, **_problems(*WRITE_ERRORS)},
                   summary="Pass or fail an inspection once (R52): a fail names the checklist "
                           "points found wrong or says what was wrong, and sends the order "
                           "back to rework (R31) with a quality record.")
    def post(self, request: Request, pk: int) -> Response:
        self.require(request.user, quality_services.PERM_DECIDE)
        inspection = Inspection.objects.filter(pk=pk).first()
        if inspection is None:
            raise NotFound(_("No inspection %(id)s.") % {"id": pk})
        key = _idempotency_key(request)
        form = InspectionDecisionSerializer(data=_ensure_dict(request.data))
        form.is_valid(raise_exception=True)
        v = form.validated_data

        def act() -> tuple[dict[str, Any], int | None]:
            quality_services.inspection_decide(
                inspection=inspection, by=request.user, passed=v["passed"],
                method=v["method"], notes=v["notes"], failed_points=v["failed_points"],
                revisited_at=v["revisited_at"])
            return _answer(inspection.pk), inspection.order_id

        return _written(request, key=key, status=200, act=act)
