"""/api/ outside /api/v1/: any other path answers the API's problem+json 404 too (a client
that got the version or the prefix wrong reads why, not an HTML page)."""

from django.urls import re_path

from .errors import not_found_view

urlpatterns = [re_path(r"^[\s\S]*\Z", not_found_view)]
