from django.contrib import admin
from django.http import HttpRequest

from .models import FollowUp


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("created_at", "order", "kind", "status", "owner", "due_at", "answered_at")
    list_filter = ("status", "kind")
    search_fields = ("text", "answer")
    list_select_related = ("order", "owner")
    raw_id_fields = ("order", "owner", "answered_by", "created_by")
    date_hierarchy = "created_at"
    # Follow-ups change only through surveys.services (R28, R42): read-only here.
    readonly_fields = [f.name for f in FollowUp._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
