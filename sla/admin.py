"""Business calendars in the admin: weekly hours and local overrides as inlines (R37)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from fieldops import clock

from . import calendars
from .models import BusinessCalendar, CalendarOverride, WorkingPeriod


class WorkingPeriodFormSet(forms.BaseInlineFormSet):
    """Periods of one weekday must not overlap (touching is fine: 12:00-12:00)."""

    def clean(self) -> None:
        super().clean()
        by_day: dict[int, list[tuple[Any, Any]]] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or form.errors:
                continue
            if data.get("start") is None or data.get("end") is None:
                continue
            by_day.setdefault(data["weekday"], []).append((data["start"], data["end"]))
        for weekday, periods in sorted(by_day.items()):
            clash = calendars.overlapping(periods)
            if clash:
                raise ValidationError(
                    _("Working periods overlap on %(weekday)s: %(periods)s."),
                    params={"weekday": WorkingPeriod(weekday=weekday).get_weekday_display(),
                            "periods": calendars.format_hours(clash)},
                    code="overlap")


class WorkingPeriodInline(admin.TabularInline):
    model = WorkingPeriod
    formset = WorkingPeriodFormSet
    fields = ("weekday", "start", "end")
    extra = 0


class CalendarOverrideInline(admin.TabularInline):
    model = CalendarOverride
    fields = ("date", "kind", "hours", "note")
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "country_holidays", "updated_at")
    search_fields = ("name",)
    fields = ("name", "time_zone", "country_holidays", "description", "country_days",
              "updated_at")
    readonly_fields = ("country_days", "updated_at")
    inlines = [WorkingPeriodInline, CalendarOverrideInline]

    @admin.display(description=_("country's days off and swapped working days"))
    def country_days(self, obj: BusinessCalendar | None) -> str:
        """This year's and next year's country data, so a dispatcher sees what applies
        and which local overrides are needed (e.g. before the next notice is known)."""
        if obj is None or not obj.country_holidays:
            return "-"
        year = clock.today_local().year
        language = "zh_CN" if (get_language() or "").startswith("zh") else "en_US"
        try:
            data = calendars.country_days(obj.country_holidays, year, year + 1,
                                          language=language)
        except (KeyError, NotImplementedError):
            return "-"
        holidays = format_html_join(", ", "{} {}", (
            (day.strftime("%Y-%m-%d"), name) for day, name in sorted(data.holidays.items())))
        workdays = format_html_join(", ", "{}", (
            (day.strftime("%Y-%m-%d"),) for day in sorted(data.workdays)))
        return format_html("<p><b>{}</b> {}</p><p><b>{}</b> {}</p>",
                           _("Days off:"), holidays,
                           _("Swapped working days:"), workdays or _("none known"))


from .timer_admin import SlaPolicyAdmin, TimerAdmin  # noqa: E402,F401  (registers them)
