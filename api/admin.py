"""Issue and revoke API tokens, register clients, see webhook deliveries and their status."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import services
from .models import ApiClient, ApiToken, WebhookDelivery, WebhookEndpoint
from .webhooks import check_url


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    extra = 0
    fields = ("label", "prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ("name", "role", "is_active", "rate_limit_per_minute", "user", "created_at")
    list_filter = ("role", "is_active")
    search_fields = ("name", "contact")
    inlines = [ApiTokenInline]
    actions = ["issue_token"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("user", "created_at") if obj is not None else ("created_at",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        fields = ["name", "role", "is_active", "rate_limit_per_minute", "contact"]
        return [*fields, "user", "created_at"] if obj is not None else fields

    def save_model(self, request: HttpRequest, obj: ApiClient, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            if "role" in form.changed_data:
                services.api_client_set_role(client=obj, role=obj.role)
            return
        # A new client gets its service user (in the role's group) from the service.
        created = services.api_client_create(
            name=obj.name, role=obj.role, rate_limit_per_minute=obj.rate_limit_per_minute,
            contact=obj.contact)
        obj.pk, obj.user = created.pk, created.user
        obj._state.adding = False

    @admin.action(description=_("Issue a new token (shown once)"))
    def issue_token(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        for client in queryset:
            _token, plain = services.api_token_issue(client=client, by=request.user,
                                                     label=gettext("issued in the admin"))
            self.message_user(
                request,
                gettext("Token for %(client)s (copy it now, it is not shown again): %(token)s")
                % {"client": client.name, "token": plain}, messages.WARNING)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("__str__", "client", "label", "created_at", "last_used_at", "revoked_at")
    list_filter = ("client",)
    readonly_fields = ("client", "prefix", "created_at", "created_by", "last_used_at",
                       "revoked_at")
    fields = ("client", "label", "prefix", "created_at", "created_by", "last_used_at",
              "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issued from the client page, so the plain token can be shown once

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            services.api_token_revoke(token=token)
        self.message_user(request, gettext("Revoked."), messages.SUCCESS)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=200, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ("client", "url", "event_types", "description", "is_active")

    def clean_url(self) -> str:
        """The API's check (host resolved, public, HTTPS) on a new or changed URL: refused
        on the form, not as an error after saving."""
        url = self.cleaned_data["url"]
        problem = check_url(url)
        if problem:
            raise forms.ValidationError(problem)
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "client", "is_active", "event_types", "created_at")
    list_filter = ("is_active", "client")
    readonly_fields = ("created_at",)
    fields = ("client", "url", "event_types", "description", "is_active", "created_at")

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any,
                   change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.webhook_endpoint_create(
            client=obj.client, url=obj.url, event_types=obj.event_types,
            description=obj.description)
        obj.pk, obj.secret = created.pk, created.secret
        obj._state.adding = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event_type", "endpoint", "status", "attempts",
                    "next_attempt_at", "last_error")
    list_filter = ("event_type", "notification__status", "endpoint")
    list_select_related = ("notification", "endpoint")
    readonly_fields = ("notification", "endpoint", "event_type", "created_at", "body")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("status"))
    def status(self, obj: WebhookDelivery) -> str:
        return obj.notification.get_status_display()

    @admin.display(description=_("attempts"))
    def attempts(self, obj: WebhookDelivery) -> int:
        return obj.notification.attempts

    @admin.display(description=_("next attempt"))
    def next_attempt_at(self, obj: WebhookDelivery) -> Any:
        return obj.notification.next_attempt_at

    @admin.display(description=_("last error"))
    def last_error(self, obj: WebhookDelivery) -> str:
        return obj.notification.last_error[:120]

    @admin.display(description=_("body"))
    def body(self, obj: WebhookDelivery) -> str:
        return obj.notification.body
