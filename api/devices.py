"""The stock register in the API (R45): "which customer has ONU ZTEG12345678?" The
device by its serial, with its model, owner now (a van, or a customer's service account
by its number: no phone data), warranty and history. The shape is
``serializers.DeviceSerializer``."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from inventory import selectors as inventory

from . import rendering
from . import serializers as s
from .views import READ_ERRORS, ApiView, _problems

PERM_VIEW_DEVICES = "inventory.view_device"


class DeviceSearchView(ApiView):
    """Office roles and API clients that read orders; not technicians."""

    @extend_schema(operation_id="devices_search", parameters=[s.DeviceFilterSerializer],
                   responses={200: s.DeviceSerializer, **_problems(*READ_ERRORS)},
                   summary="A device by its serial (R45): model, owner, warranty, history.")
    def get(self, request: Request) -> Response:
        self.require(request.user, PERM_VIEW_DEVICES)
        params = s.DeviceFilterSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        device = inventory.device_by_serial(params.validated_data["serial"])
        if device is None:
            raise NotFound(_("Stock knows no device with this serial."))
        return Response(rendering.render(s.DeviceSerializer, device, pii=False))
