from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Heartbeat, QueuedTask


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the product writes itself (logs, timers, bookings): staff read, nobody edits."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """History shown on a parent's page, read only."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "beat_at", "hostname")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(QueuedTask)
class QueuedTaskAdmin(ReadOnlyAdmin):
    """Jobs the broker refused (Redis down); beat sends them when it answers again."""

    list_display = ("name", "args", "created_at", "attempts", "last_error")
