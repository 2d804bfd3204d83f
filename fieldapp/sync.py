"""``POST /api/v1/field/steps/``: one step a technician did while the phone was offline,
sent by the pages' queue when it is back online (issue 16).

The endpoint only reads the request: the step is the same ``Step`` the pages run (its
form, its "is it possible now" check and its service call), applied by
``workorders.offline.replay`` once, on the order's state the phone saw, at the time it was
done on the phone when that time is plausible. The answer says what became of it; a
refusal carries plain words for the technician and is kept for the dispatcher.
"""

from __future__ import annotations

from typing import Any

from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fieldops import clock
from workorders import offline
from workorders.access import is_technician_user
from workorders.errors import RuleViolation
from workorders.models import WorkOrder
from workorders.selectors import allowed_actions

from .views import STEPS, _form_for

#: The HTTP status of each refusal (``Replayed.code``).
STATUS = {offline.CONFLICT: 409, offline.RULE: 422, offline.FORBIDDEN: 403,
          offline.INVALID: 400}


class QueuedStepSerializer(serializers.Serializer):
    """What the phone queued besides the step form's own fields (sent beside them)."""

    client_id = serializers.UUIDField(
        help_text="The phone's id for this step: the same id twice has one effect.")
    order = serializers.IntegerField(min_value=1, help_text="The work order's id.")
    step = serializers.CharField(max_length=offline.STEP_NAME_MAX,
                                 help_text="The step's name on the technician pages, e.g. "
                                           "check-in.")
    phone_at = serializers.DateTimeField(
        help_text="When the technician did the step, by the phone's clock (with offset).")
    phone_sent_at = serializers.DateTimeField(
        help_text="The phone's clock when it sent the step: the offset to the server's "
                  "clock is measured from it.")
    version = serializers.IntegerField(
        min_value=0, required=False, allow_null=True,
        help_text="The order's version the page showed (the first queued step of an order).")
    after = serializers.UUIDField(
        required=False, allow_null=True,
        help_text="The client id of the previous queued step of the same order, if any.")


class ReplayedSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="applied, duplicate (sent before: its first "
                                             "outcome), refused, or held (a sign-off that "
                                             "waits for the customer's SMS code: send the "
                                             "same step again with the code field).")
    at = serializers.DateTimeField(allow_null=True,
                                   help_text="The time recorded for the step.")
    received_at = serializers.DateTimeField(help_text="When the step reached the server.")
    flag = serializers.CharField(allow_blank=True,
                                 help_text="Why the phone's time was not used, or empty.")
    message = serializers.CharField(allow_blank=True,
                                    help_text="A refusal's reason, or what a held step "
                                              "waits for, in plain words, with what to do.")
    code = serializers.CharField(allow_blank=True,
                                 help_text="A refusal's kind: conflict, rule, forbidden or "
                                           "invalid; empty otherwise.")
    version = serializers.IntegerField(allow_null=True,
                                       help_text="The order's version after the step.")


class IsTechnician(BasePermission):
    """R41: technicians (and superusers) only; whose order it is, ``replay`` decides."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated
                    and (is_technician_user(user) or user.is_superuser))


class FieldStepView(APIView):
    """Apply one step done offline on a technician's phone.

    Multipart form data: the fields below, then the step form's own fields and files as
    the technician page sends them online. The step is applied once per ``client_id``, on
    the order's state the phone saw (``version``, or the previous queued step's outcome
    named by ``after``), at the phone's time when plausible (corrected for the phone's
    clock offset; not in the future, not before the order's previous event, not older than
    the policy's age), otherwise at its arrival with a ``flag``. A refusal answers 400
    (invalid), 403 (not the technician's order, R41), 409 (the order changed meanwhile) or
    422 (a rule refused it), with the same JSON body; it is kept for the dispatcher.

    A sign-off drawn offline where the customer's SMS code is required (R26) answers 202
    ``held``: the code is sent to the customer's phone now, and the same step (same
    ``client_id``) sent again with the ``code`` field finishes it at the time the
    signature was drawn; a wrong code keeps it held."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsTechnician]
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = []  # one technician's phone: not the call-centre's rate limits

    def finalize_response(self, request: Request, response: Any, *args: Any,
                          **kwargs: Any) -> Any:
        # Never cached, refusals included: the answer names a customer's order and its
        # state, and a phone may be shared by a team (like the API's and the photos').
        response = super().finalize_response(request, response, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    @extend_schema(
        operation_id="field_steps_create", tags=["field"], request=QueuedStepSerializer,
        summary="Send one step a technician did while the phone was offline (technician "
                "pages' session only).",
        responses={200: ReplayedSerializer,
                   202: OpenApiResponse(ReplayedSerializer,
                                        description="A sign-off held for the customer's "
                                                    "SMS code (R26)."),
                   **{(status, "application/json"): OpenApiResponse(
                       ReplayedSerializer, description="The step was refused.")
                      for status in sorted(set(STATUS.values()))},
                   # Not signed in on the technician pages, or not a technician: the API's
                   # own problem document (its one definition: api.serializers).
                   **{(status, "application/problem+json"): OpenApiResponse(
                       {"$ref": "#/components/schemas/Problem"}, description=text)
                      for status, text in (
                          (400, "The body could not be parsed."),
                          (401, "Not signed in on the technician pages."),
                          (403, "Not a technician, or no CSRF token."),
                          (415, "Send multipart/form-data."))}})
    def post(self, request: Request) -> Response:
        head = QueuedStepSerializer(data=request.data)
        if not head.is_valid():
            problems = "; ".join(f"{name}: {' '.join(str(e) for e in errors)}"
                                 for name, errors in head.errors.items())
            return self._answer(offline.Replayed(
                status=offline.REFUSED, at=None, received_at=clock.received(),
                flag="", message=_("The step could not be read (%(problems)s); it was not "
                                   "applied.") % {"problems": problems},
                code=offline.INVALID, version=None))
        data = head.validated_data
        step = STEPS.get(data["step"])
        queued = offline.QueuedStep(
            client_id=data["client_id"], order_id=data["order"],
            step=data["step"] if step is not None else "", phone_at=data["phone_at"],
            phone_sent_at=data["phone_sent_at"], version=data.get("version"),
            after=data.get("after"))
        django_request = request._request  # the pages' forms read it
        user = request.user

        def run(order: WorkOrder) -> None:
            assert step is not None  # an unknown name is refused before ``run``
            if not step.offered(order, user, set(allowed_actions(order, user))):
                raise RuleViolation(
                    _("“%(step)s” is not possible now (the order is %(state)s).")
                    % {"step": step.label, "state": order.get_state_display()},
                    field="step")
            fields = request.POST.copy()  # the form's fields; its files are separate
            fields["version"] = str(order.version)  # the state ``replay`` checked
            form = _form_for(step, order, django_request, fields, request.FILES)
            if not form.is_valid():
                raise RuleViolation(" ".join(
                    str(message) for errors in form.errors.values() for message in errors),
                    field="form")
            step.run(order, user, form.cleaned_data, django_request)

        return self._answer(offline.replay(queued, by=user, run=run))

    @staticmethod
    def _answer(result: offline.Replayed) -> Response:
        if result.status == offline.REFUSED:
            status = STATUS.get(result.code, 400)
        else:
            status = 202 if result.status == offline.HELD else 200
        return Response(ReplayedSerializer(result).data, status=status)
