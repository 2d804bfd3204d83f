"""The visit in the admin: the checklist and test-range policies (editable by whoever
holds the change permission: supervisors), and on each order's page its checklist steps
and measured results, read only (R43, R44, R48, R49)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from console.admin.orders import WorkOrderAdmin
from fieldops.admin import ReadOnlyInline
from visits.models import ChecklistPolicy, StepRecord, TestRangePolicy, TestResult


@admin.register(ChecklistPolicy)
class ChecklistPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "safety", "consent", "work", "tests", "equipment", "materials",
                    "tryout", "charges", "cleanup", "explain_cause", "work_at_height")
    list_editable = ("safety", "consent", "work", "tests", "equipment", "materials", "tryout",
                     "charges", "cleanup", "explain_cause", "work_at_height")
    list_display_links = ("__str__",)


@admin.register(TestRangePolicy)
class TestRangePolicyAdmin(admin.ModelAdmin):
    __test__ = False  # not a pytest test class

    list_display = ("__str__", "rx_min_dbm", "rx_max_dbm", "plan_down_mbps", "plan_up_mbps",
                    "min_speed_percent")


class _OrderReadable:
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Whoever may read the order reads its visit (no separate role grant).
        return bool(request.user.has_perm("workorders.view_workorder"))


class StepRecordInline(_OrderReadable, ReadOnlyInline):
    model = StepRecord
    fields = ("step", "status", "data", "reason", "photo", "recorded_at", "recorded_by")
    readonly_fields = fields
    verbose_name_plural = _("Checklist (R43, R44, R49)")


class TestResultInline(_OrderReadable, ReadOnlyInline):
    __test__ = False  # not a pytest test class

    model = TestResult
    fields = ("measure", "shown", "expected", "in_range", "source", "onu_state", "reason",
              "recorded_at", "recorded_by")
    readonly_fields = fields
    verbose_name_plural = _("Test results (R48)")

    @admin.display(description=_("value"))
    def shown(self, obj: TestResult) -> str:
        return obj.shown


WorkOrderAdmin.inlines = [*WorkOrderAdmin.inlines, StepRecordInline, TestResultInline]
