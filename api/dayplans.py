"""Proposed day plans in the API (R4, R10, R11, R15): a dispatching system asks for an area's
day plan, reads it, and accepts it whole or for single technicians. The same services as the
day board (``planning.dayplans``): proposing changes nothing; accepting plans each visit
through ``visit_plan_start`` (and ``work_order_reassign`` when the proposal may move visits),
never moving a customer's booked window.

A proposal's ETag is its version: 1, and one more per technician's route accepted. Accepting
requires ``If-Match`` (428 without it, 412 when another dispatcher accepted routes
meanwhile); an ``Idempotency-Key`` makes a retry answer the first time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from fieldops.wording import plain as readable
from planning import dayplans
from planning.models import DayPlanProposal
from technicians.models import Technician
from workorders.access import PERM_DISPATCH
from workorders.models import WorkOrder

from . import serializers as s
from . import services as api_services
from .errors import ApiProblem
from .selectors import area_by_code
from .views import (
    ACTION_IDEMPOTENCY_KEY,
    ACTION_REPLAYED,
    IF_MATCH_REQUIRED,
    READ_ERRORS,
    WRITE_ERRORS,
    ApiView,
    _ensure_dict,
    _idempotency_key,
    _if_match,
    _jsonable,
    _problems,
    require_if_match,
)

PLAN_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                           description=_lazy("Day plan proposal id."))
PLAN_ETAG = OpenApiParameter("ETag", OpenApiTypes.STR, OpenApiParameter.HEADER,
                             response=[200, 201],
                             description=_lazy("The proposal's version, quoted."))


# --- Shapes -------------------------------------------------------------------------------

class DayPlanProposeSerializer(s.StrictSerializer):
    area = s.StrictCharField(max_length=32, help_text=_lazy("Area code, e.g. BJ-DC-01."))
    day = s.StrictDateField(help_text=_lazy("The day to plan: today or later."))
    reassign = serializers.BooleanField(
        required=False, default=False,
        help_text=_lazy("Visits may move between technicians, and visits of orders without "
                        "one get one (reassigned or dispatched on acceptance, R4); without "
                        "it those are listed as having no technician yet."))

    def validate_area(self, value: str) -> Any:
        area = area_by_code(value)
        if area is None:
            raise serializers.ValidationError(_("No area with this code; GET /api/v1/areas/ "
                                                "lists them."))
        return area


class DayPlanAcceptSerializer(s.StrictSerializer):
    technicians = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1), required=False,
        allow_null=True, default=None, max_length=500,
        help_text=_lazy("Accept the routes of these technicians (ids); leave it out or null "
                        "to accept the whole plan."))


class PlanFiguresSerializer(serializers.Serializer):
    km = serializers.FloatField()
    late_min = serializers.IntegerField()
    visits = serializers.IntegerField()


class PlanVisitSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    number = serializers.CharField()
    start = serializers.DateTimeField(help_text=_lazy("Planned start; the booked window "
                                                      "stays as the customer agreed."))
    km = serializers.FloatField(help_text=_lazy("Travel to this visit."))


class PlanRefusalSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    number = serializers.CharField()
    reason = serializers.CharField()


class PlanAcceptanceSerializer(serializers.Serializer):
    accepted_at = serializers.DateTimeField()
    accepted_by = serializers.CharField()
    applied = serializers.ListField(child=serializers.IntegerField(),
                                    help_text=_lazy("Orders planned as proposed."))
    refused = PlanRefusalSerializer(many=True, help_text=_lazy(
        "Orders kept as they were, with the reason (changed since, or a rule refuses)."))


class PlanRouteSerializer(serializers.Serializer):
    technician = serializers.IntegerField()
    technician_name = serializers.CharField()
    visits = PlanVisitSerializer(many=True)
    before = PlanFiguresSerializer(help_text=_lazy("Today's plan, driven in its order."))
    after = PlanFiguresSerializer(help_text=_lazy("As proposed."))
    acceptance = PlanAcceptanceSerializer(allow_null=True)


class PlanUnplannedSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    number = serializers.CharField()
    reason = serializers.CharField()


class DayPlanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    area = serializers.CharField(help_text=_lazy("Area code."))
    day = serializers.DateField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    reassign = serializers.BooleanField()
    solver = serializers.CharField()
    solve_seconds = serializers.FloatField()
    routes = PlanRouteSerializer(many=True)
    unplanned = PlanUnplannedSerializer(many=True)


# --- Rendering ------------------------------------------------------------------------------

EMPTY = {"km": 0.0, "late_min": 0, "visits": 0}


def plan_body(proposal: DayPlanProposal) -> dict[str, Any]:
    data = proposal.data
    routes: dict[str, list[dict[str, Any]]] = data.get("routes", {})
    keys = sorted({*routes, *data.get("before", {})}, key=int)
    names = {t.pk: t.display_name for t in
             Technician.objects.select_related("user").filter(pk__in=[int(k) for k in keys])}
    accepted = {a.technician_id: a for a in proposal.acceptances.select_related("accepted_by")}
    rows = []
    for key in keys:
        tech = int(key)
        row = accepted.get(tech)
        rows.append({
            "technician": tech, "technician_name": names.get(tech, ""),
            "visits": [{"order": v["order"], "number": WorkOrder.number_for(v["order"]),
                        "start": dt.datetime.fromisoformat(v["start"]), "km": v["km"]}
                       for v in routes.get(key, [])],
            "before": data.get("before", {}).get(key, EMPTY),
            "after": data.get("after", {}).get(key, EMPTY),
            "acceptance": None if row is None else {
                "accepted_at": row.accepted_at,
                "accepted_by": (row.accepted_by.get_full_name() or row.accepted_by.username)
                if row.accepted_by else "",
                "applied": row.applied,
                "refused": [{"order": int(k), "number": WorkOrder.number_for(int(k)),
                             "reason": readable(text)} for k, text in row.refused.items()]},
        })
    unplanned = [{"order": int(k), "number": WorkOrder.number_for(int(k)),
                  "reason": dayplans.unplanned_text(reason)}
                 for k, reason in sorted(data.get("unplanned", {}).items(),
                                         key=lambda item: int(item[0]))]
    body = {"id": proposal.pk, "area": proposal.area.code, "day": proposal.day,
            "version": dayplans.proposal_version(proposal),
            "created_at": timezone.localtime(proposal.created_at), "reassign": proposal.reassign,
            "solver": proposal.solver, "solve_seconds": proposal.solve_seconds,
            "routes": rows, "unplanned": unplanned}
    return _jsonable(dict(DayPlanSerializer(body).data))


def _etag(body: dict[str, Any]) -> dict[str, str]:
    return {"ETag": f'"{body.get("version", 1)}"'}


def _respond(request: Request, key: str | None, data: dict[str, Any], status: int,
             act: Any) -> Response:
    """``act()`` once per Idempotency-Key (when one is sent), else once."""
    if key is None:
        body = act()
        return Response(body, status=status, headers=_etag(body))
    fingerprint = api_services.fingerprint("POST", request.path, data)
    try:
        result = api_services.order_action_idempotent(
            user=request.user, key=key, order_id=None, act=act,
            request_fingerprint=fingerprint, status=status)
    except ApiProblem:
        replay = api_services.idempotent_replay(user=request.user, key=key,
                                                request_fingerprint=fingerprint)
        if replay is None:
            raise
        result = replay
    headers = _etag(result.body)
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(result.body, status=result.status, headers=headers)


# --- Views ----------------------------------------------------------------------------------

class DayPlanCollectionView(ApiView):
    serializer_class = DayPlanProposeSerializer

    @extend_schema(
        operation_id="day_plans_create",
        parameters=[ACTION_IDEMPOTENCY_KEY, PLAN_ETAG, ACTION_REPLAYED],
        request=DayPlanProposeSerializer,
        responses={201: DayPlanSerializer, **_problems(*WRITE_ERRORS)},
        summary="Propose an area's day plan (R4, R10, R11, R14, R15): each technician's "
                "visits in order with planned starts inside the booked windows. Nothing "
                "changes until it is accepted.")
    def post(self, request: Request) -> Response:
        self.require(request.user, PERM_DISPATCH)
        data = _ensure_dict(request.data)
        key = _idempotency_key(request)
        form = DayPlanProposeSerializer(data=data)
        form.is_valid(raise_exception=True)
        v = form.validated_data

        def act() -> dict[str, Any]:
            return plan_body(dayplans.propose(area=v["area"], day=v["day"], by=request.user,
                                              reassign=v["reassign"]))

        return _respond(request, key, data, 201, act)


def _proposal(pk: int) -> DayPlanProposal:
    found = DayPlanProposal.objects.select_related("area").filter(pk=pk).first()
    if found is None:
        raise NotFound(_("No day plan %(id)s.") % {"id": pk})
    return found


class DayPlanDetailView(ApiView):
    @extend_schema(operation_id="day_plans_retrieve", parameters=[PLAN_ID, PLAN_ETAG],
                   responses={200: DayPlanSerializer, **_problems(*READ_ERRORS)},
                   summary="One day plan proposal: routes, figures before and after, what "
                           "was accepted and the visits left out with the reason.")
    def get(self, request: Request, pk: int) -> Response:
        self.require(request.user, PERM_DISPATCH)
        body = plan_body(_proposal(pk))
        return Response(body, headers=_etag(body))


class DayPlanAcceptView(ApiView):
    serializer_class = DayPlanAcceptSerializer

    @extend_schema(
        operation_id="day_plans_accept",
        parameters=[PLAN_ID, IF_MATCH_REQUIRED, ACTION_IDEMPOTENCY_KEY, PLAN_ETAG,
                    ACTION_REPLAYED],
        request=DayPlanAcceptSerializer,
        responses={200: DayPlanSerializer, **_problems(*WRITE_ERRORS, 428)},
        summary="Accept the whole plan or single technicians' routes: each visit gets its "
                "planned start (never a new booked window); a visit changed since the "
                "proposal is kept as it was, with the reason. If-Match is required.")
    def post(self, request: Request, pk: int) -> Response:
        self.require(request.user, PERM_DISPATCH)
        proposal = _proposal(pk)
        data = _ensure_dict(request.data)
        key = _idempotency_key(request)
        require_if_match(request, plan_id=proposal.pk)
        form = DayPlanAcceptSerializer(data=data)
        form.is_valid(raise_exception=True)
        chosen = form.validated_data["technicians"]

        def act() -> dict[str, Any]:
            dayplans.accept(proposal=proposal, by=request.user, technicians=chosen,
                            version=_if_match(request))
            return plan_body(proposal)

        return _respond(request, key, data, 200, act)
