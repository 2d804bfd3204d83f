"""Force majeure in the API (R50), for the call-centre's and the dispatch tools: the
declared events with their decisions, a declaration for one order or for an area and a
time range, and the supervisor's approval or rejection. Every rule is the service's
(``sla.force_majeure``: declare, decide; the same as the admin's and the phone's pages);
this module only reads the request and shapes the answer.

Who: reading needs ``sla.view_exemption`` (the office's read roles); declaring for an area
is a dispatcher's (``sla.declare_exemption``), for one order a dispatcher's or the
order's own technician's (R41); deciding is a supervisor's (``sla.decide_exemption``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from sla import force_majeure
from sla.exemptions import Exemption, ExemptionKind, ExemptionState
from technicians.models import Area
from workorders.errors import RuleViolation
from workorders.models import WorkOrder

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
    _written,
)

PERM_VIEW = "sla.view_exemption"
#: A technician declares for their own orders (R41; the service checks whose).
PERM_FIELDWORK = "workorders.perform_fieldwork"
EXEMPTION_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                                description=_lazy("Force-majeure declaration id."))


# --- Serializers -----------------------------------------------------------------------

def _name(user: Any) -> str | None:
    return None if user is None else str(user.get_full_name() or user.get_username())


class ExemptionSerializer(serializers.Serializer):
    """A force-majeure declaration (R50) and its decision. The list and every answer use
    it."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ExemptionKind.choices)
    reason = serializers.CharField()
    order = serializers.IntegerField(source="order_id", allow_null=True,
                                     help_text=_lazy("The order declared for, or null."))
    area = serializers.CharField(source="area.code", allow_null=True, default=None,
                                 help_text=_lazy("The area declared for, or null."))
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    state = serializers.ChoiceField(choices=ExemptionState.choices,
                                    help_text=_lazy("declared (waiting), approved or "
                                                    "rejected."))
    declared_at = serializers.DateTimeField()
    declared_by = serializers.SerializerMethodField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.SerializerMethodField()
    decision_reason = serializers.CharField()
    orders_affected = serializers.IntegerField(help_text=_lazy(
        "Orders the event touches (their customers were told, R50, R15)."))
    exempt_breaches = serializers.IntegerField(help_text=_lazy(
        "Breaches marked exempt on approval (still recorded, R38)."))
    has_evidence = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField())
    def get_declared_by(self, obj: Exemption) -> str | None:
        return _name(obj.declared_by)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_decided_by(self, obj: Exemption) -> str | None:
        return _name(obj.decided_by)

    def get_has_evidence(self, obj: Exemption) -> bool:
        return bool(obj.evidence)


class ExemptionListResponse(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text=_lazy("URL of the next page, or null."))
    results = ExemptionSerializer(many=True)


class ExemptionFilterSerializer(s.StrictSerializer):
    state = serializers.ChoiceField(choices=ExemptionState.choices, required=False)
    area = s.StrictCharField(max_length=32, required=False, help_text=_lazy("Area code."))
    order = serializers.IntegerField(min_value=1, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)
    cursor = s.StrictCharField(max_length=200, required=False)


class ExemptionCreateSerializer(s.StrictSerializer):
    kind = serializers.ChoiceField(choices=ExemptionKind.choices)
    reason = s.FreeTextField(max_length=4000, help_text=_lazy("What happened."))
    order = serializers.IntegerField(min_value=1, required=False, allow_null=True,
                                     help_text=_lazy("One order; or give an area."))
    area = s.StrictCharField(max_length=32, required=False, allow_null=True,
                             help_text=_lazy("An area's code (a dispatcher); or give an "
                                             "order."))
    starts_at = s.StrictDateTimeField(help_text=_lazy("When the event began (not in the "
                                                      "future)."))
    ends_at = s.StrictDateTimeField(help_text=_lazy("Until when it lasts (at most the "
                                                    "policy's hours after the start)."))


class ExemptionDecisionSerializer(s.StrictSerializer):
    approve = s.StrictBooleanField(help_text=_lazy("true: approve (the breaches in the range "
                                                   "become exempt); false: reject."))
    reason = s.FreeTextField(max_length=4000, help_text=_lazy("Why."))


# --- Views -----------------------------------------------------------------------------

def exemptions() -> QuerySet[Exemption]:
    return (Exemption.objects.select_related("area", "declared_by", "decided_by")
            .annotate(orders_affected=Count("affected", distinct=True),
                      exempt_breaches=Count("breaches", distinct=True)))


def _answer(pk: int) -> dict[str, Any]:
    return _jsonable(dict(ExemptionSerializer(exemptions().get(pk=pk)).data))


def _declared(act: Callable[[], Exemption]
              ) -> Callable[[], tuple[dict[str, Any], int | None]]:
    """``act`` (returns the declaration) answering with it, for :func:`api.views._written`."""

    def run() -> tuple[dict[str, Any], int | None]:
        exemption = act()
        return _answer(exemption.pk), exemption.order_id

    return run


class ExemptionCollectionView(ApiView):
    serializer_class = ExemptionCreateSerializer

    @extend_schema(operation_id="force_majeure_list", parameters=[ExemptionFilterSerializer],
                   responses={200: ExemptionListResponse, **_problems(*READ_ERRORS)},
                   summary="Force-majeure declarations (R50), newest first, with their "
                           "decisions and how many breaches they exempted.")
    def get(self, request: Request) -> Response:
        self.require(request.user, PERM_VIEW)
        params = ExemptionFilterSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        f = params.validated_data
        qs = exemptions()
        if f.get("state"):
            qs = qs.filter(state=f["state"])
        if f.get("area"):
            qs = qs.filter(area__code=f["area"])
        if f.get("order"):
            qs = qs.filter(affected__order_id=f["order"])
        page = self.keyset(qs, f, descending=True)
        data = ExemptionSerializer(page.items, many=True).data
        return Response({"next": self.next_link(request, page.next_cursor), "results": data})

    @extend_schema(operation_id="force_majeure_create",
                   parameters=[IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED],
                   request=ExemptionCreateSerializer,
                   responses={201: ExemptionSerializer, **_problems(*WRITE_ERRORS)},
                   summary="Declare force majeure (R50) for one order or for an area and a "
                           "time range: each affected customer is texted once with a new "
                           "time offered (R15); a supervisor decides. Idempotent by key.")
    def post(self, request: Request) -> Response:
        user = request.user
        self.require(user, force_majeure.PERM_DECLARE, PERM_FIELDWORK)
        key = _required_idempotency_key(request, _(
            "Send an Idempotency-Key header (e.g. a UUID) so a retry can't declare the event "
            "twice."))
        form = ExemptionCreateSerializer(data=_ensure_dict(request.data))
        form.is_valid(raise_exception=True)
        v = form.validated_data

        def act() -> Exemption:
            order = area = None
            if v.get("order"):
                try:
                    order = selectors.order_for(user, v["order"])
                except WorkOrder.DoesNotExist:
                    raise RuleViolation(_("No work order %(id)s that you may see.")
                                        % {"id": v["order"]}, field="order",
                                        rule=force_majeure.RULE) from None
            if v.get("area"):
                area = Area.objects.filter(code=v["area"]).first()
                if area is None:
                    raise RuleViolation(_("No area %(code)s.") % {"code": v["area"]},
                                        field="area", rule=force_majeure.RULE)
            return force_majeure.declare(by=user, kind=v["kind"], reason=v["reason"],
                                         starts_at=v["starts_at"], ends_at=v["ends_at"],
                                         order=order, area=area)

        return _written(request, key=key, status=201, act=_declared(act))


class ExemptionDecisionView(ApiView):
    serializer_class = ExemptionDecisionSerializer

    @extend_schema(operation_id="force_majeure_decision",
                   parameters=[EXEMPTION_ID, ACTION_IDEMPOTENCY_KEY, ACTION_REPLAYED],
                   request=ExemptionDecisionSerializer,
                   responses={200: ExemptionSerializer, **_problems(*WRITE_ERRORS)},
                   summary="A supervisor approves or rejects a declaration once (R50): "
                           "approved, the breaches of its orders in the range stay recorded "
                           "but are exempt from the figures and the ledger (R38, R39, R53).")
    def post(self, request: Request, pk: int) -> Response:
        self.require(request.user, force_majeure.PERM_DECIDE)
        exemption = Exemption.objects.filter(pk=pk).first()
        if exemption is None:
            raise NotFound(_("No force-majeure declaration %(id)s.") % {"id": pk})
        key = _idempotency_key(request)
        form = ExemptionDecisionSerializer(data=_ensure_dict(request.data))
        form.is_valid(raise_exception=True)
        v = form.validated_data
        return _written(request, key=key, status=200, act=_declared(lambda: force_majeure.decide(
            exemption, by=request.user, approve=v["approve"], reason=v["reason"])))
