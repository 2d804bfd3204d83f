from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Appointment


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    """Appointments are booked through the order's services; here they are only read."""

    list_display = ("order", "start", "end", "precision", "status", "chosen_by_customer",
                    "booked_by", "booked_at")
    list_filter = ("status", "precision")
    date_hierarchy = "start"
    list_select_related = ("order", "booked_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
