
"""Appointments on the desk: every promised visit, read-only."""

from django.contrib import admin

from appointments.models import Appointment
from fieldops.admin import ReadOnlyAdmin


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin):
    """Appointments are booked through the order's services; here they are only read."""

    list_display = ("order", "start", "end", "precision", "status", "chosen_by_customer",
                    "booked_by", "booked_at")
    list_filter = ("status", "precision")
    date_hierarchy = "start"
    list_select_related = ("order", "booked_by")
