"""The admin of a declaration (a force-majeure exemption, an outage): declared through a
form that knows who fills it in, then a record shown read-only with its inlines; never
changed or deleted here, because a decision or a repair has its own page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ..forms import with_request_user


class DeclarationAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.get_fields(request, obj)

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.inlines if obj is not None else []

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any) -> Any:
        return with_request_user(super().get_form(request, obj, change=change, **kwargs),
                                 request.user)
