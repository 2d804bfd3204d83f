"""Areas, teams, skills and technicians on the desk; the technician list shows each one's
open orders (the load that automatic dispatch balances, R4)."""

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from fieldops import roles
from technicians.models import Area, Skill, Team, Technician
from workorders.selectors import technicians_with_load


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "area_type")
    list_filter = ("area_type",)
    search_fields = ("code", "name")
    filter_horizontal = ("dispatchers",)

    def formfield_for_manytomany(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        if db_field.name == "dispatchers":
            kwargs["queryset"] = get_user_model().objects.filter(
                groups__name=roles.DISPATCHER, is_active=True).order_by("username")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "area", "supervisor")
    list_filter = ("area",)
    search_fields = ("name",)


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "category")
    list_filter = ("category",)


@admin.register(Technician)
class TechnicianAdmin(admin.ModelAdmin):
    list_display = ("employee_no", "display_name", "team", "phone", "is_active", "load",
                    "daily_capacity")
    list_filter = ("is_active", "team", "areas")
    search_fields = ("employee_no", "user__username", "user__first_name", "user__last_name",
                     "phone")
    filter_horizontal = ("areas", "skills", "access_types")
    list_select_related = ("user", "team")
    autocomplete_fields = ("user",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Technician]:
        return technicians_with_load(super().get_queryset(request))

    @admin.display(description=_("open orders"), ordering="load")
    def load(self, obj: Any) -> int:
        return int(obj.load)
