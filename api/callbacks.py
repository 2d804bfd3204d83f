"""The call-centre's callback queue (R30) in the API: list the callbacks to make and
record each one's result. The answer goes through ``surveys.services.survey_answer``,
exactly like the customer's own answer through the survey link (R29)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from surveys import selectors as survey_selectors
from surveys import services as survey_services
from surveys.models import AnswerChannel
from workorders import pii
from workorders.models import PERM_INTAKE, Face

from . import serializers as s
from .views import READ_ERRORS, WRITE_ERRORS, ApiView, _ensure_dict, _problems

PERM_VIEW_CALLBACKS = "surveys.view_callback"
CALLBACK_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                               description="Callback id.")


class CallbackListResponse(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="URL of the next page, or null.")
    results = s.CallbackSerializer(many=True)


class CallbackCollectionView(ApiView):
    """The call-centre's callback queue (R30). Readable by office roles and reporting
    clients (phones masked unless your role calls customers, R40); not by technicians."""
    @extend_schema(operation_id="callbacks_list", parameters=[s.CallbackFilterSerializer],
                   responses={200: CallbackListResponse, **_problems(*READ_ERRORS)},
                   summary="Callbacks to make (R30): surveys with no answer in time, oldest "
                           "first by id; other statuses on request.")
    def get(self, request: Request) -> Response:
        self.require(request.user, PERM_VIEW_CALLBACKS)
        params = s.CallbackFilterSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        f = params.validated_data
        page = self.keyset(survey_selectors.callbacks_for(request.user, f), f,
                           descending=False)
        data = s.CallbackSerializer(page.items, many=True, context={"request": request}).data
        if s.can_see_pii(request.user):  # R40: the page showed these customers' numbers
            pii.record_reads(user=request.user, orders=[c.order for c in page.items],
                             face=Face.API, where="api:callbacks")
        return Response({"next": self.next_link(request, page.next_cursor), "results": data})


class CallbackResultView(ApiView):
    """The callback's result is the customer's answer to the survey, recorded by the agent:
    the same rules and effects as the survey link (R29-R33). Call-centre role only."""
    serializer_class = s.CallbackSurveySerializer

    @extend_schema(operation_id="callbacks_result", parameters=[CALLBACK_ID],
                   request=s.CallbackSurveySerializer,
                   responses={200: s.CallbackSerializer, **_problems(*WRITE_ERRORS)},
                   summary="Record what the customer said on the callback (R30): satisfied "
                           "closes the order, not satisfied starts a rework round (R31-R33).")
    def post(self, request: Request, pk: int) -> Response:
        user = request.user
        callback = _writable_callback(self, request, pk)
        form = s.CallbackSurveySerializer(data=_ensure_dict(request.data))
        form.is_valid(raise_exception=True)
        done = survey_services.callback_record(callback=callback, by=user,
                                               channel=AnswerChannel.API,
                                               **form.validated_data)
        return _callback_response(request, done, where="api:callback-result")


class CallbackNotReachedView(ApiView):
    """A call that did not reach the customer: counted and logged on the order (R42); the
    callback stays in the queue. Call-centre role only."""

    serializer_class = s.CallbackNotReachedSerializer

    @extend_schema(operation_id="callbacks_not_reached", parameters=[CALLBACK_ID],
                   request=s.CallbackNotReachedSerializer,
                   responses={200: s.CallbackSerializer, **_problems(*WRITE_ERRORS)},
                   summary="The callback did not reach the customer (R30); it stays open.")
    def post(self, request: Request, pk: int) -> Response:
        user = request.user
        callback = _writable_callback(self, request, pk)
        form = s.CallbackNotReachedSerializer(data=_ensure_dict(request.data))
        form.is_valid(raise_exception=True)
        tried = survey_services.callback_not_reached(callback=callback, by=user,
                                                     note=form.validated_data["note"])
        return _callback_response(request, tried, where="api:callback-not-reached")


def _callback_response(request: Request, callback: Any, *, where: str) -> Response:
    """One callback as this caller may see it; a full phone shown is recorded (R40)."""
    if s.can_see_pii(request.user):
        pii.record_reads(user=request.user, orders=[callback.order], face=Face.API,
                         where=where)
    return Response(s.CallbackSerializer(callback, context={"request": request}).data)


def _writable_callback(view: ApiView, request: Request, pk: int) -> Any:
    """The callback ``pk`` if this caller may record on it (call-centre, R30; R41)."""
    user = request.user
    view.require_writer(user)
    if not (user.is_superuser or user.has_perm(PERM_INTAKE)):
        raise PermissionDenied(_("Only the call-centre records callbacks (R30)."))
    callback = survey_selectors.callbacks_for(user, {"status": "all"}).filter(pk=pk).first()
    if callback is None:
        raise NotFound(_("No callback %(id)s that you may see.") % {"id": pk})
    return callback
