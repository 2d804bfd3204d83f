"""``bench/api_ratio.py``'s URLs: the product's, and in front of them ``/bench/bare/``, the
bare DRF view its floor is compared with (DRF's ``TokenAuthentication``, an authenticated
user, no rate limit, a small JSON answer: what a plain DRF service does per request)."""

from typing import Any

from django.urls import path
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fieldops.urls import urlpatterns as product


class BareView(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    throttle_classes: list[Any] = []

    def get(self, request: Request) -> Response:
        return Response({"id": request.user.pk, "username": request.user.get_username()})


urlpatterns = [path("bench/bare/", BareView.as_view()), *product]
