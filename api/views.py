"""The call-centre REST API (/api/v1/). Thin: parse, check who may, call a service or a
selector, shape the answer. Every refusal is problem+json (``api.errors``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from appointments import services as booking_services
from appointments.models import ChangeRequest
from appointments.services import CHANGEABLE_STATES, appointment_request_change
from complaints import services as complaint_services
from planning import ranking
from surveys import services as survey_services
from surveys.models import FollowUp
from technicians.models import Area, Technician
from workorders import pii, services
from workorders.access import is_order_technician
from workorders.errors import ConcurrentModification
from workorders.models import (
    PERM_CANCEL,
    PERM_INTAKE,
    Face,
    WorkOrder,
)

from . import readers, rendering, selectors, sla
from . import serializers as s
from . import services as api_services
from .errors import PROBLEM_CONTENT_TYPE, ApiProblem
from .filters import order_filters
from .intake import order_intake
from .models import WebhookEndpoint
from .renderers import JSONRenderer
from .throttling import client_of

PERM_ADD = "workorders.add_workorder"
PERM_VIEW_ORDERS = "workorders.view_workorder"
PERM_DISPATCH = "workorders.dispatch_workorder"
PERM_FOLLOW_UP = survey_services.PERM_LOG
#: Holding none of these makes a caller read-only (reporting clients, supervisors).
WRITE_PERMS = (PERM_ADD, PERM_INTAKE, PERM_CANCEL, "workorders.dispatch_workorder",
               "workorders.perform_fieldwork")
#: An Idempotency-Key: 1-255 printable ASCII characters (! to ~).
KEY_REGEX = r"^[!-~]{1,255}$"
KEY_PATTERN = re.compile(KEY_REGEX)

# --- Schema helpers ---------------------------------------------------------------------

PROBLEM = s.ProblemSerializer


def _problems(*codes: int) -> dict[Any, Any]:
    texts = {
        400: _lazy("Malformed request: bad JSON, wrong types, unknown fields (see errors)."),
        401: _lazy("Missing, unknown or revoked token."),
        403: _lazy("Your role may not do this."),
        404: _lazy("No such order (or not visible to you)."),
        409: _lazy("Not possible in the order's current state, or changed concurrently."),
        412: _lazy("If-Match does not match the order's current version."),
        428: _lazy("Send If-Match with the version you last read."),
        413: _lazy("Body larger than the limit."),
        415: _lazy("Send application/json."),
        422: _lazy("A rule of the service refuses the request (see rule and errors)."),
        429: _lazy("Rate limit exceeded; retry after Retry-After seconds."),
    }
    return {(code, PROBLEM_CONTENT_TYPE): OpenApiResponse(PROBLEM, description=texts[code])
            for code in codes}


READ_ERRORS = (400, 401, 403, 404, 429)
WRITE_ERRORS = (400, 401, 403, 404, 409, 412, 413, 415, 422, 429)
ETAG = OpenApiParameter("ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 201],
                        description=_lazy("The order's version, quoted."))
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description=_lazy("The ETag (version) you last read; the action is refused with 412 if "
                      "the order changed since."))
IF_MATCH_REQUIRED = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
    description=_lazy("The ETag (version) you last read; required (428 without it), and the "
                      "request is refused with 412 if the order changed since."))
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": KEY_REGEX},
    OpenApiParameter.HEADER, required=True,
    description=_lazy("Unique per request you mean (1-255 printable ASCII characters). A "
                      "retry with the same key and body returns the first answer."))
LOCATION = OpenApiParameter(
    "Location", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[201], required=True,
    description=_lazy("The order's URL: /api/v1/work-orders/{id}/."))
IDEMPOTENT_REPLAYED = OpenApiParameter(
    "Idempotent-Replayed", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[201],
    enum=["true"],
    description=_lazy("\"true\" when this is the first answer to the same Idempotency-Key, "
                      "sent again; absent otherwise."))
ACTION_IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": KEY_REGEX},
    OpenApiParameter.HEADER, required=False,
    description=_lazy("Optional, unique per action you mean (1-255 printable ASCII "
                      "characters). A retry with the same key and body returns the first "
                      "answer instead of acting again (or a 409 for an order that has "
                      "moved on)."))
ACTION_REPLAYED = OpenApiParameter(
    "Idempotent-Replayed", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200],
    enum=["true"],
    description=_lazy("\"true\" when this is the first answer to the same Idempotency-Key, "
                      "sent again; absent otherwise."))
ORDER_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                            description=_lazy("Order id."))


def _ensure_dict(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": [_("Expected a JSON object.")]})
    return data


def _etag(order: WorkOrder) -> str:
    return f'"{order.version}"'


def _if_match(request: Request) -> int | None:
    """The version the caller saw, from If-Match ("3", W/"3" or 3); None if absent or *.
    A value that can't be a version can never match: 412."""
    raw = request.headers.get("If-Match", "").strip()
    if not raw or raw == "*":
        return None
    text = raw.removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 12:
        raise ApiProblem(412, "precondition_failed",
                         _("If-Match must be the order's ETag, e.g. \"3\"."))
    return int(text)


# --- Order representation -------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    """An API action on an order: the transitions it may fire, who may ask, what runs."""

    transitions: tuple[str, ...]
    serializer: type[serializers.Serializer]
    run: Callable[[WorkOrder, Any, dict[str, Any]], Any]
    perm: str | None = None
    summary: str = ""
    rule: str = ""
    #: If-Match is required (428 without it): a change that takes something away from
    #: someone must be made on the state the caller saw.
    if_match_required: bool = False


ACTIONS: dict[str, Action] = {
    "resolve-remotely": Action(
        ("resolve_remotely",), s.ResolveRemotelySerializer, perm=PERM_INTAKE, rule="R2",
        summary="Resolve remotely (R2): fixed on the phone, no visit.",
        run=lambda o, by, d: services.work_order_resolve_remotely(
            order=o, by=by, resolution=d["resolution"])),
    "cancel": Action(
        ("cancel",), s.CancelSerializer, perm=PERM_CANCEL, rule="step 14",
        summary="Cancel at the customer's request, with the reason.",
        run=lambda o, by, d: services.work_order_cancel(order=o, by=by, reason=d["reason"])),
    "park": Action(
        ("park",), s.ParkSerializer, rule="R12",
        summary="Park until a date at the customer's request (R12); the SLA clock pauses.",
        run=lambda o, by, d: booking_services.work_order_park(order=o, by=by, until=d["until"],
                                                      reason=d["reason"])),
    "dispatch": Action(
        ("dispatch",), s.DispatchSerializer, perm=PERM_DISPATCH, rule="R4",
        if_match_required=True,
        summary="Dispatch to a technician, or automatically by area, skill and load (R4); "
                "If-Match is required.",
        run=lambda o, by, d: services.work_order_dispatch(
            order=o, by=by, technician=d["technician"], reason=d["reason"])),
    "reassign": Action(
        ("reassign",), s.ReassignSerializer, perm=PERM_DISPATCH, rule="R4",
        if_match_required=True,
        summary="Hand the order to another technician, with the reason (R4); If-Match is "
                "required.",
        run=lambda o, by, d: services.work_order_reassign(
            order=o, by=by, technician=d["technician"], reason=d["reason"])),
    "unassign": Action(
        ("unassign",), s.UnassignSerializer, perm=PERM_DISPATCH, rule="R4",
        if_match_required=True,
        summary="Take a dispatched or accepted order off its technician, back to the queue "
                "(R4); If-Match is required.",
        run=lambda o, by, d: services.work_order_unassign(order=o, by=by,
                                                          reason=d["reason"])),
    "resume": Action(
        ("resume",), s.ResumeSerializer, rule="R12",
        summary="Resume a parked order (R12); the SLA clock runs again.",
        run=lambda o, by, d: booking_services.work_order_resume(order=o, by=by,
                                                                reason=d["reason"])),
    "callback-survey": Action(
        ("close_satisfied", "start_rework"), s.CallbackSurveySerializer, perm=PERM_INTAKE,
        rule="R30",
        summary="Record the manual callback survey (R30): satisfied closes the order, "
                "not satisfied starts a rework round (R31).",
        run=lambda o, by, d: survey_services.survey_answer_for_order(
            order=o, by=by, channel="api", **d).order),
    "close-abnormal": Action(
        ("close_abnormal",), s.CallbackNoteSerializer, perm=PERM_INTAKE, rule="R19",
        summary="Close an abnormal order after the recorded callback (R19).",
        run=lambda o, by, d: services.work_order_close_abnormal(
            order=o, by=by, callback_note=d["callback_note"])),
    "return-from-abnormal": Action(
        ("return_from_abnormal",), s.CallbackNoteSerializer, perm=PERM_INTAKE, rule="R19",
        summary="The recorded callback agreed a new try (R19): back to booking.",
        run=lambda o, by, d: services.work_order_return_from_abnormal(
            order=o, by=by, callback_note=d["callback_note"])),
}


def _may_request_change(order: WorkOrder, user: Any) -> bool:
    return order.state in CHANGEABLE_STATES and (
        user.has_perm(PERM_INTAKE) or is_order_technician(order, user))


def _may_log_follow_up(order: WorkOrder, user: Any) -> bool:
    return bool(user.has_perm(PERM_FOLLOW_UP) or is_order_technician(order, user))


def _action_links(order: WorkOrder, user: Any, allowed: list[str]) -> list[dict[str, str]]:
    """The API actions this caller may POST now (``allowed``: the transitions they may
    fire)."""
    base = f"/api/v1/work-orders/{order.pk}/"
    links = [{"name": name, "href": f"{base}{name}/"} for name, action in ACTIONS.items()
             if any(t in allowed for t in action.transitions)]
    if _may_request_change(order, user):
        links.append({"name": "appointment-change-requests",
                      "href": f"{base}appointment-change-requests/"})
    if _may_log_follow_up(order, user):
        links.append({"name": "follow-ups", "href": f"{base}follow-ups/"})
    return links


def order_body(order: WorkOrder, request: Request, *, where: str) -> dict[str, Any]:
    """The order detail for this caller, as JSON-ready data: ``WorkOrderDetailSerializer``
    rendered (``api.rendering``). R40: full phone numbers only for roles that need them,
    and then the read is recorded as made at ``where``."""
    user = request.user
    full = s.can_see_pii(user)
    if full:
        pii.record_reads(user=user, orders=[order], face=Face.API, where=where)
    return rendering.render(s.WorkOrderDetailSerializer,
                            readers.order_detail(order, user, _action_links), pii=full)


def _respond_order(order: WorkOrder, request: Request, *, where: str,
                   code: int = 200) -> Response:
    return Response(order_body(order, request, where=where), status=code,
                    headers={"ETag": _etag(order)})


# --- Base views -------------------------------------------------------------------------

class ApiView(GenericAPIView):
    """Common ground: no model-level queryset magic, JSON only."""

    def finalize_response(self, request: Request, response: Any, *args: Any,
                          **kwargs: Any) -> Any:
        # Never cached: answers carry customer data, and no browser or proxy keeps one.
        response = super().finalize_response(request, response, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    def get_order(self, request: Request, pk: int) -> WorkOrder:
        try:
            return selectors.order_for(request.user, pk)
        except WorkOrder.DoesNotExist:
            raise NotFound(_("No work order %(id)s that you may see.") % {"id": pk}) from None

    def require(self, user: Any, *perms: str) -> None:
        if not any(user.has_perm(p) for p in perms):
            raise PermissionDenied(_("Your role may not do this."))

    def require_writer(self, user: Any) -> None:
        if not any(user.has_perm(p) for p in WRITE_PERMS):
            raise PermissionDenied(_("This client is read-only."))

    @staticmethod
    def next_link(request: Request, cursor: str | None) -> str | None:
        """The next page's URL: this request's query string with the cursor replaced."""
        if not cursor:
            return None
        query = request.query_params.copy()
        query["cursor"] = cursor
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    @staticmethod
    def keyset(queryset: Any, params: dict[str, Any], *, descending: bool) -> selectors.Page:
        """``selectors.keyset_page`` with the query's cursor and page size; a bad cursor is
        a 400 on the ``cursor`` field."""
        try:
            return selectors.keyset_page(queryset, descending=descending,
                                         cursor=params.get("cursor"),
                                         page_size=params.get("page_size"))
        except selectors.BadCursor:
            raise ValidationError({"cursor": [_("Invalid cursor.")]}) from None


# --- Orders -------------------------------------------------------------------------------

class WorkOrderListResponse(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text=_lazy("URL of the next page, or null."))
    results = s.WorkOrderListItemSerializer(many=True)


class WorkOrderCollectionView(ApiView):
    serializer_class = s.WorkOrderCreateSerializer

    @extend_schema(
        operation_id="work_orders_list", parameters=[s.OrderFilterSerializer],
        responses={200: WorkOrderListResponse, **_problems(*READ_ERRORS)},
        summary="List orders (filters, stable cursor pagination, newest first).")
    def get(self, request: Request) -> Response:
        self.require(request.user, PERM_VIEW_ORDERS, "workorders.perform_fieldwork")
        filters = order_filters(request.query_params)
        if filters is None:  # anything beyond plainly valid values: the serializer decides
            params = s.OrderFilterSerializer(data=request.query_params)
            params.is_valid(raise_exception=True)
            filters = params.validated_data
        try:
            page = readers.order_list_page(
                request.user, filters, descending=filters.get("ordering", "-id") == "-id",
                cursor=filters.get("cursor"), page_size=filters.get("page_size"))
        except selectors.BadCursor:
            raise ValidationError({"cursor": [_("Invalid cursor; use the next link as "
                                                "given.")]}) from None
        results = readers.order_list_plan().render(page.items,
                                                   pii=s.can_see_pii(request.user))
        return Response({"next": self.next_link(request, page.next_cursor),
                         "results": results})

    @extend_schema(
        operation_id="work_orders_create",
        parameters=[IDEMPOTENCY_KEY, ETAG, LOCATION, IDEMPOTENT_REPLAYED],
        request=s.WorkOrderCreateSerializer,
        responses={201: s.WorkOrderDetailSerializer, **_problems(*WRITE_ERRORS)},
        summary="Create an order from any channel (R1, R3); idempotent by key.")
    def post(self, request: Request) -> Response:
        user = request.user
        self.require(user, PERM_ADD)
        key = _required_idempotency_key(request, _(
            "Send an Idempotency-Key header (e.g. a UUID) so a retry can't create a second "
            "order."))
        data = _ensure_dict(request.data)
        fingerprint = api_services.fingerprint("POST", request.path, data)
        v = order_intake(data)
        if v is None:  # anything beyond a plainly valid body: the serializer decides
            form = s.WorkOrderCreateSerializer(data=data)
            if form.is_valid():
                v = form.validated_data
        if v is None:
            # A retry of a request answered before gets that answer, even if its body
            # would no longer pass (the day it named has passed since).
            replay = api_services.idempotent_replay(user=user, key=key,
                                                    request_fingerprint=fingerprint)
            if replay is None:
                raise ValidationError(form.errors)
            result = replay
        else:
            customer = v["customer"]

            def create() -> WorkOrder:
                return services.work_order_create(
                    by=user, channel=v["channel"], kind=v["kind"], service=v["service"],
                    access_type=v["access_type"], customer_name=customer["name"],
                    contact_phone=customer["phone"], alt_phone=customer["alt_phone"],
                    customer_class=customer["customer_class"],
                    account_number=v["account_number"], address=v["address"], area=v["area"],
                    symptoms=v["symptoms"], fault_started_at=v["fault_started_at"],
                    preferred_day=v["preferred_day"], external_ref=v["external_ref"],
                    notes=v["notes"])

            def respond(order: WorkOrder) -> dict[str, Any]:
                # The service's own instance: area, customer and account are loaded.
                return _jsonable(order_body(order, request, where="api:order-create"))

            result = api_services.work_order_create_idempotent(
                user=user, key=key, request_fingerprint=fingerprint,
                external_ref=v["external_ref"], create=create, respond=respond)
        headers = {"Location": f"/api/v1/work-orders/{result.order_id}/",
                   "ETag": f'"{result.body.get("version", 1)}"'}
        if result.replayed:
            headers["Idempotent-Replayed"] = "true"
            if result.order_id and s.can_see_pii(user):  # R40: shown again: recorded again
                pii.record_reads_by_id(user=user, order_ids=[result.order_id],
                                       face=Face.API, where="api:order-create")
        return Response(result.body, status=result.status, headers=headers)


def _idempotency_key(request: Request) -> str | None:
    """The optional Idempotency-Key of a write (None if not sent)."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not KEY_PATTERN.match(key):
        raise ApiProblem(400, "bad_request", _("The Idempotency-Key must be 1-255 printable "
                                               "ASCII characters."))
    return key


def _required_idempotency_key(request: Request, missing: str) -> str:
    """The Idempotency-Key a create must carry; ``missing`` is the 400's message, saying
    what a retry without one could do twice."""
    key = _idempotency_key(request) if request.headers.get("Idempotency-Key") else None
    if key is None:
        raise ApiProblem(400, "idempotency_key_missing", missing)
    return key


def _jsonable(body: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through the JSON renderer, so the stored answer is exactly what was sent."""
    return json.loads(JSONRenderer().render(body))


def _written_once(request: Request, *, key: str | None, status: int,
                  act: Callable[[], tuple[dict[str, Any], int | None]]
                  ) -> api_services.IdempotentResult:
    """A write of the API other than an order's action (a complaint, a force-majeure
    declaration, an inspection's decision): ``act`` writes and returns its answer and the
    order it concerns. With a key, at most once per key: a retry gets the first answer."""
    if key is None:
        body, order_id = act()
        return api_services.IdempotentResult(status=status, body=body, order_id=order_id,
                                             replayed=False)
    return api_services.write_idempotent(
        user=request.user, key=key, status=status, act=act,
        request_fingerprint=api_services.fingerprint("POST", request.path,
                                                     _ensure_dict(request.data)))


def _written(request: Request, *, key: str | None, status: int,
             act: Callable[[], tuple[dict[str, Any], int | None]]) -> Response:
    """:func:`_written_once`, answered (``Idempotent-Replayed`` on a retry's answer)."""
    result = _written_once(request, key=key, status=status, act=act)
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return Response(result.body, status=result.status, headers=headers)


class WorkOrderDetailView(ApiView):
    @extend_schema(operation_id="work_orders_retrieve", parameters=[ORDER_ID, ETAG],
                   responses={200: s.WorkOrderDetailSerializer, **_problems(*READ_ERRORS)},
                   summary="One order: state, allowed actions, technician, appointment, SLA.")
    def get(self, request: Request, pk: int) -> Response:
        order = self.get_order(request, pk)
        return _respond_order(order, request, where="api:order")


class TimelineView(ApiView):
    @extend_schema(operation_id="work_orders_timeline", parameters=[ORDER_ID],
                   responses={200: s.TimelineSerializer, **_problems(*READ_ERRORS)},
                   summary="The order's event log (R42) and SLA timer events.")
    def get(self, request: Request, pk: int) -> Response:
        order = self.get_order(request, pk)
        body = {"order": order.pk, "number": order.number, "state": order.state,
                "version": order.version, "technician": order.technician,
                "appointment": selectors.current_appointment(order),
                "events": selectors.order_events(order),
                "timer_events": sla.timer_events(order)}
        names: dict[str, str] = {}  # one access record per request, however many events

        def signer(name: str) -> str:
            if name not in names:
                names[name] = pii.name_for(user=request.user, order=order, face=Face.API,
                                           where="api:timeline", name=name)
            return names[name]

        data = s.TimelineSerializer(body, context={
            "request": request, "signer": signer,
            "complaint_words": request.user.has_perm(complaint_services.PERM_VIEW)}).data
        return Response(data, headers={"ETag": _etag(order)})


class CandidatesView(ApiView):
    @extend_schema(operation_id="work_orders_candidates", parameters=[ORDER_ID],
                   responses={200: s.CandidatesSerializer, **_problems(*READ_ERRORS)},
                   summary="Technicians ranked for dispatching this order, with reasons (R4).")
    def get(self, request: Request, pk: int) -> Response:
        self.require(request.user, PERM_DISPATCH)
        order = self.get_order(request, pk)
        exclude = [order.technician_id] if order.technician_id else []
        ranked = ranking.rank_candidates(order, exclude=exclude)
        choice = next((c for c in ranked if c.can_auto_dispatch), None)
        body = {"order": order.pk, "number": order.number, "state": order.state,
                "candidates": [{**vars(c), "rank": n, "auto_dispatch_choice": c is choice,
                                "promises": [vars(p) for p in c.promises]}
                               for n, c in enumerate(ranked, 1)]}
        return Response(s.CandidatesSerializer(body).data)


def _action_view(name: str, action: Action) -> type[ApiView]:
    class OrderActionView(ApiView):
        serializer_class = action.serializer

        @extend_schema(
            operation_id=f"work_orders_{name.replace('-', '_')}",
            parameters=[ORDER_ID, IF_MATCH_REQUIRED if action.if_match_required else IF_MATCH,
                        ACTION_IDEMPOTENCY_KEY, ETAG, ACTION_REPLAYED],
            request=action.serializer,
            responses={200: s.WorkOrderDetailSerializer,
                       **_problems(*WRITE_ERRORS, *((428,) if action.if_match_required
                                                   else ()))},
            summary=action.summary)
        def post(self, request: Request, pk: int) -> Response:
            user = request.user
            self.require_writer(user)
            order = self.get_order(request, pk)
            if action.perm and not (user.has_perm(action.perm) or user.is_superuser):
                raise PermissionDenied(_("Your role may not %(action)s orders.")
                                       % {"action": name})
            data = _ensure_dict(request.data)
            key = _idempotency_key(request)
            if action.if_match_required:
                require_if_match(request, order=order)
            form = action.serializer(data=data)
            form.is_valid(raise_exception=True)
            where = f"api:{name}"

            def act() -> dict[str, Any]:
                try:
                    done = action.run(_with_version(order, request), user,
                                      dict(form.validated_data))
                except ConcurrentModification as exc:
                    raise _precondition_failed(exc, request) from exc
                return _jsonable(order_body(selectors.order_for(user, done.pk), request,
                                            where=where))

            if key is None:
                body = act()
                return Response(body, headers={"ETag": f'"{body.get("version", 1)}"'})
            fingerprint = api_services.fingerprint("POST", request.path, data)
            try:
                result = api_services.order_action_idempotent(
                    user=user, key=key, order_id=order.pk, act=act,
                    request_fingerprint=fingerprint)
            except ApiProblem:
                # e.g. a 412 for the version the first answer already moved past
                replay = api_services.idempotent_replay(user=user, key=key,
                                                        request_fingerprint=fingerprint)
                if replay is None:
                    raise
                result = replay
            headers = {"ETag": f'"{result.body.get("version", 1)}"'}
            if result.replayed:
                headers["Idempotent-Replayed"] = "true"
                if s.can_see_pii(user):  # R40: shown again: recorded again
                    pii.record_reads_by_id(user=user, order_ids=[order.pk], face=Face.API,
                                           where=where)
            return Response(result.body, status=result.status, headers=headers)

    OrderActionView.__name__ = f"{name.title().replace('-', '')}View"
    OrderActionView.__qualname__ = OrderActionView.__name__
    return OrderActionView


def require_if_match(request: Request, *, order: WorkOrder | None = None,
                     plan_id: int | None = None) -> None:
    """428 when the caller did not say which version it acts on (dispatch, reassign,
    unassign, plan acceptance: each takes or gives work, so it must act on what was read).
    The answer says where the ETag to send comes from."""
    if _if_match(request) is None:
        if order is not None:
            raise ApiProblem(
                428, "precondition_required",
                _("Send If-Match with the order's ETag (its version, e.g. \"3\") from GET "
                  "/api/v1/work-orders/%(id)s/, so a change made meanwhile is not "
                  "overwritten.") % {"id": order.pk})
        if plan_id is not None:
            raise ApiProblem(
                428, "precondition_required",
                _("Send If-Match with the plan's ETag (its version, e.g. \"1\") from GET "
                  "/api/v1/day-plans/%(id)s/, so routes another dispatcher accepted "
                  "meanwhile are not accepted again.") % {"id": plan_id})
        raise ApiProblem(428, "precondition_required",
                         _("Send If-Match with the ETag you last read (e.g. \"3\"), so a "
                           "change made meanwhile is not overwritten."))


def _with_version(order: WorkOrder, request: Request) -> WorkOrder:
    """If-Match given: act only on that version (the service compares under its lock)."""
    seen = _if_match(request)
    if seen is not None:
        if seen != order.version:
            raise ApiProblem(412, "precondition_failed",
                             _("Order %(number)s is at version %(current)s, not %(seen)s; read "
                               "it again.") % {"number": order.number, "current": order.version,
                                               "seen": seen},
                             current_version=order.version, state=order.state)
        order.version = seen
    return order


def _precondition_failed(exc: ConcurrentModification, request: Request) -> Exception:
    if _if_match(request) is None:
        return exc  # no precondition was asked for: 409
    return ApiProblem(412, "precondition_failed", exc.message, **exc.details)


ACTION_VIEWS = {name: _action_view(name, action) for name, action in ACTIONS.items()}


class ChangeRequestView(ApiView):
    serializer_class = s.ChangeRequestInSerializer

    @extend_schema(operation_id="work_orders_appointment_change_requests_create",
                   parameters=[ORDER_ID], request=s.ChangeRequestInSerializer,
                   responses={201: s.ChangeRequestSerializer, **_problems(*WRITE_ERRORS)},
                   summary="Ask for another appointment time on the customer's behalf (R10).")
    def post(self, request: Request, pk: int) -> Response:
        user = request.user
        self.require_writer(user)
        order = self.get_order(request, pk)
        if not (user.has_perm(PERM_INTAKE) or is_order_technician(order, user)):
            raise PermissionDenied(_("Your role may not ask for appointment changes."))
        form = s.ChangeRequestInSerializer(data=_ensure_dict(request.data))
        form.is_valid(raise_exception=True)
        v = form.validated_data
        change = appointment_request_change(
            order=order, by=user, preferred_start=v["preferred_start"],
            preferred_end=v["preferred_end"], note=v["note"],
            source=ChangeRequest.Source.CALL_CENTRE)
        return Response(s.ChangeRequestSerializer(change).data, status=status.HTTP_201_CREATED)


class FollowUpListResponse(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    results = s.FollowUpSerializer(many=True)


class OrderFollowUpsView(ApiView):
    serializer_class = s.FollowUpInSerializer

    @extend_schema(operation_id="work_orders_follow_ups_list", parameters=[ORDER_ID],
                   responses={200: s.FollowUpSerializer(many=True), **_problems(*READ_ERRORS)},
                   summary="Questions and complaints logged on the order (R28).")
    def get(self, request: Request, pk: int) -> Response:
        order = self.get_order(request, pk)
        rows = FollowUp.objects.filter(order=order).select_related("owner")
        return Response(s.FollowUpSerializer(rows, many=True).data)

    @extend_schema(operation_id="work_orders_follow_ups_create", parameters=[ORDER_ID],
                   request=s.FollowUpInSerializer,
                   responses={201: s.FollowUpSerializer, **_problems(*WRITE_ERRORS)},
                   summary="Log an inquiry or complaint (R28, first-asked is responsible).")
    def post(self, request: Request, pk: int) -> Response:
        user = request.user
        self.require_writer(user)
        order = self.get_order(request, pk)
        form = s.FollowUpInSerializer(data=_ensure_dict(request.data))
        form.is_valid(raise_exception=True)
        v = form.validated_data
        follow_up = survey_services.follow_up_log(order=order, by=user, kind=v["kind"],
                                                  text=v["text"], due_at=v["due_at"])
        return Response(s.FollowUpSerializer(follow_up).data, status=status.HTTP_201_CREATED)


class FollowUpCollectionView(ApiView):
    @extend_schema(operation_id="follow_ups_list", parameters=[s.FollowUpFilterSerializer],
                   responses={200: FollowUpListResponse, **_problems(*READ_ERRORS)},
                   summary="Follow-ups across orders: open, mine, overdue (R28).")
    def get(self, request: Request) -> Response:
        self.require(request.user, "surveys.view_followup", PERM_FOLLOW_UP)
        params = s.FollowUpFilterSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        f = params.validated_data
        page = self.keyset(selectors.follow_ups_for(request.user, f), f, descending=True)
        return Response({"next": self.next_link(request, page.next_cursor),
                         "results": s.FollowUpSerializer(page.items, many=True).data})


class FollowUpAnswerView(ApiView):
    serializer_class = s.FollowUpAnswerSerializer

    @extend_schema(operation_id="follow_ups_answer",
                   parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
                   request=s.FollowUpAnswerSerializer,
                   responses={200: s.FollowUpSerializer, **_problems(*WRITE_ERRORS)},
                   summary="Record the answer given to the customer (R28).")
    def post(self, request: Request, pk: int) -> Response:
        user = request.user
        self.require_writer(user)
        follow_up = selectors.follow_ups_for(user, {}).filter(pk=pk).first()
        if follow_up is None:
            raise NotFound(_("No follow-up %(id)s that you may see.") % {"id": pk})
        form = s.FollowUpAnswerSerializer(data=_ensure_dict(request.data))
        form.is_valid(raise_exception=True)
        answered = survey_services.follow_up_answer(follow_up=follow_up, by=user,
                                                    answer=form.validated_data["answer"])
        return Response(s.FollowUpSerializer(answered).data)


# --- Reference data -------------------------------------------------------------------------

class AreaListView(ApiView):
    @extend_schema(operation_id="areas_list",
                   responses={200: s.AreaSerializer(many=True), **_problems(401, 403, 429)},
                   summary="Areas (片区) and their codes.")
    def get(self, request: Request) -> Response:
        self.require(request.user, "technicians.view_area")
        return Response(s.AreaSerializer(Area.objects.order_by("code"), many=True).data)


class TechnicianFilterSerializer(s.StrictSerializer):
    area = serializers.CharField(max_length=32, required=False, help_text=_lazy("Area code."))
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class TechnicianListView(ApiView):
    @extend_schema(operation_id="technicians_list", parameters=[TechnicianFilterSerializer],
                   responses={200: s.TechnicianSerializer(many=True),
                              **_problems(400, 401, 403, 429)},
                   summary="Technicians (phone masked unless your role needs it, R40).")
    def get(self, request: Request) -> Response:
        self.require(request.user, "technicians.view_technician")
        params = TechnicianFilterSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        qs = (Technician.objects.select_related("user", "team")
              .prefetch_related("areas").order_by("employee_no"))
        if params.validated_data.get("area"):
            qs = qs.filter(areas__code=params.validated_data["area"])
        if params.validated_data.get("active") is not None:
            qs = qs.filter(is_active=params.validated_data["active"])
        data = s.TechnicianSerializer(qs, many=True, context={"request": request}).data
        return Response(data)


class MeView(ApiView):
    @extend_schema(operation_id="me", responses={200: s.ClientSerializer,
                                                **_problems(401, 404, 429)},
                   summary="The API client you are authenticated as.")
    def get(self, request: Request) -> Response:
        client = client_of(request.user)
        if client is None:
            raise NotFound(_("You are signed in as staff, not as an API client."))
        # The serializer's own rendering, read once per process (api.rendering).
        return Response(rendering.render(s.ClientSerializer, client, pii=False))


# --- Webhooks ---------------------------------------------------------------------------

class WebhookCollectionView(ApiView):
    serializer_class = s.WebhookEndpointInSerializer

    def _client(self, request: Request) -> Any:
        client = client_of(request.user)
        if client is None:
            raise PermissionDenied(_("Only API clients register webhooks."))
        return client

    @extend_schema(operation_id="webhooks_list",
                   responses={200: s.WebhookEndpointSerializer(many=True),
                              **_problems(401, 403, 429)},
                   summary="Your webhook endpoints.")
    def get(self, request: Request) -> Response:
        rows = WebhookEndpoint.objects.filter(client=self._client(request))
        return Response(s.WebhookEndpointSerializer(rows, many=True).data)

    @extend_schema(operation_id="webhooks_create", request=s.WebhookEndpointInSerializer,
                   responses={201: s.WebhookEndpointCreatedSerializer,
                              **_problems(400, 401, 403, 413, 415, 422, 429)},
                   summary="Register an HTTPS endpoint for order and SLA events; the "
                           "signing secret is shown once.")
    def post(self, request: Request) -> Response:
        client = self._client(request)
        form = s.WebhookEndpointInSerializer(data=_ensure_dict(request.data))
        form.is_valid(raise_exception=True)
        v = form.validated_data
        with transaction.atomic():
            endpoint = api_services.webhook_endpoint_create(
                client=client, url=v["url"], event_types=v["event_types"],
                description=v["description"])
        return Response(s.WebhookEndpointCreatedSerializer(endpoint).data,
                        status=status.HTTP_201_CREATED)


class WebhookDetailView(ApiView):
    def _endpoint(self, request: Request, pk: int) -> WebhookEndpoint:
        client = client_of(request.user)
        endpoint = (WebhookEndpoint.objects.filter(client=client, pk=pk).first()
                    if client is not None else None)
        if endpoint is None:
            raise NotFound(_("No webhook endpoint %(id)s of yours.") % {"id": pk})
        return endpoint

    @extend_schema(operation_id="webhooks_retrieve",
                   parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
                   responses={200: s.WebhookEndpointSerializer, **_problems(401, 404, 429)},
                   summary="One of your webhook endpoints.")
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.WebhookEndpointSerializer(self._endpoint(request, pk)).data)

    @extend_schema(operation_id="webhooks_disable",
                   parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
                   responses={204: None, **_problems(401, 404, 429)},
                   summary="Stop deliveries to this endpoint (pending ones are not sent).")
    def delete(self, request: Request, pk: int) -> Response:
        api_services.webhook_endpoint_disable(endpoint=self._endpoint(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
