import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from fieldops.signed_links import mask_links

from .models import Acknowledgement, Notification

#: Every field, the text and its values shown through ``NotificationAdmin.text`` and
#: ``template_values``; the address through ``to`` (R40: an SMS number masked).
_SHOWN_AS = {"body": "text", "params": "template_values", "address": "to"}
FIELDS: tuple[str, ...] = tuple(_SHOWN_AS.get(f.name, f.name)
                                for f in Notification._meta.fields if f.name != "id")


class AcknowledgementInline(admin.TabularInline):
    """Who acknowledged an in-app alert, and when (read only: never changed)."""
    model = Acknowledgement
    fields = readonly_fields = ("user", "at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    inlines = (AcknowledgementInline,)
    list_display = ("created_at", "channel", "kind", "recipient", "to", "order", "status",
                    "attempts", "sent_at", "delivery")
    list_filter = ("status", "delivery", "channel", "kind")
    search_fields = ("address", "body", "kind")
    list_select_related = ("recipient", "order")
    date_hierarchy = "created_at"
    # The text as sent, but with the customer's signed links cut out: a booking or survey
    # link acts as the customer (R29, R40).
    fields = readonly_fields = FIELDS

    @admin.display(description=_("address"))
    def to(self, obj: Notification) -> str:
        # R40: customers' numbers masked; the outbox is for delivery, not for calling.
        return obj.shown_address

    @admin.display(description=_("text"))
    def text(self, obj: Notification) -> str:
        return mask_links(obj.body)

    @admin.display(description=_("template values"))
    def template_values(self, obj: Notification) -> str:
        return mask_links(json.dumps(obj.params, ensure_ascii=False)) if obj.params else ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
