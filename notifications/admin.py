from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "channel", "kind", "recipient", "address", "order", "status",
                    "attempts", "sent_at")
    list_filter = ("status", "channel", "kind")
    search_fields = ("address", "body", "kind")
    list_select_related = ("recipient", "order")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
