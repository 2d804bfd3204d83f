"""Business calendars: when an SLA clock on business time runs (R37).

A ``BusinessCalendar`` has weekly ``WorkingPeriod`` rows (split shifts are several rows on
one weekday), the public holidays and swapped working weekends of a country (from the
``holidays`` package, e.g. "CN") and local ``CalendarOverride`` rows, which always win.
The arithmetic never reads these rows directly: ``sla.selectors.schedule_for`` turns a
calendar into a frozen ``sla.calendars.Schedule`` once, cached until the calendar's
``revision`` changes (every save of the calendar, its periods or its overrides).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from fieldops import clock

from . import calendars

#: The calendars created by migration 0002 (R37; "24x7" is for R35).
CN_STANDARD = "CN standard"
ROUND_THE_CLOCK = "24x7"


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(_("Unknown time zone “%(zone)s” (use a name such as "
                                "Asia/Shanghai)."), params={"zone": value},
                              code="time_zone") from exc


def validate_country(value: str) -> None:
    # holidays loads every country's rules (slow): only when a country is entered.
    import holidays

    if value and value not in holidays.list_supported_countries():
        raise ValidationError(_("No public-holiday data for country code “%(code)s” (use an "
                                "ISO code such as CN)."), params={"code": value},
                              code="country")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class BusinessCalendar(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64,
                                 default=calendars.DEFAULT_TIME_ZONE,
                                 validators=[validate_time_zone])
    country_holidays = models.CharField(
        _("public holidays of"), max_length=8, blank=True, validators=[validate_country],
        help_text=_("Country code whose public holidays and official swapped working days "
                    "apply, e.g. CN; blank for none."))
    description = models.TextField(_("description"), blank=True)
    #: Changes on every save of the calendar, its periods or its overrides; the cache of
    #: built schedules is keyed on it (sla.selectors).
    revision = models.UUIDField(_("revision"), default=uuid.uuid4, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.revision = uuid.uuid4()
        self.updated_at = clock.now()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "revision", "updated_at"}
        super().save(*args, **kwargs)

    def touch(self) -> None:
        """Mark the calendar changed (its cached schedules are then rebuilt)."""
        self.revision, self.updated_at = uuid.uuid4(), clock.now()
        BusinessCalendar.objects.filter(pk=self.pk).update(
            revision=self.revision, updated_at=self.updated_at)


class WorkingPeriod(models.Model):
    """One working period on a weekday; several on one day make a split shift."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE,
                                 related_name="periods", verbose_name=_("calendar"))
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"), help_text=_("00:00 is the midnight that ends the day "
                                                   "(24:00)."))

    class Meta:
        verbose_name = _("working period")
        verbose_name_plural = _("working periods")
        ordering = ["calendar", "weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")) | models.Q(end=dt.time(0)),
                name="workingperiod_starts_before_it_ends"),
            models.CheckConstraint(condition=models.Q(weekday__lte=6),
                                   name="workingperiod_weekday_0_to_6"),
            models.UniqueConstraint(fields=["calendar", "weekday", "start"],
                                    name="workingperiod_unique_start"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {calendars.format_hours([self.seconds])}"

    @property
    def seconds(self) -> calendars.Period:
        return (calendars.to_seconds(self.start), calendars.to_seconds(self.end, end=True))

    def clean(self) -> None:
        if self.start is None or self.end is None:
            return
        if self.start.microsecond or self.end.microsecond:
            raise ValidationError(_("Working periods are whole seconds."), code="precision")
        start, end = self.seconds
        if start >= end:
            raise ValidationError({"end": _("A working period must end after it starts "
                                            "(00:00 means the end of the day).")},
                                  code="order")


class OverrideKind(models.TextChoices):
    HOLIDAY = "holiday", _("Day off")
    WORKDAY = "workday", _("Working day")


class CalendarOverride(models.Model):
    """A local exception for one date; it always wins over the weekly hours and the
    country's holidays and swapped working days."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE,
                                 related_name="overrides", verbose_name=_("calendar"))
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=8, choices=OverrideKind.choices)
    hours = models.CharField(
        _("working hours"), max_length=200, blank=True,
        help_text=_("For a working day: periods such as 08:30-12:00, 13:30-17:30. "
                    "Blank: the calendar's Monday hours."))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"],
                                    name="calendaroverride_one_per_date"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()}"

    def clean(self) -> None:
        if self.kind == OverrideKind.HOLIDAY and self.hours.strip():
            raise ValidationError({"hours": _("A day off has no working hours.")},
                                  code="hours_on_holiday")
        if self.kind != OverrideKind.WORKDAY:
            return
        if self.hours.strip():
            try:
                calendars.parse_hours(self.hours)
            except ValueError as exc:
                raise ValidationError({"hours": _(
                    "Write the periods as HH:MM-HH:MM separated by commas, without "
                    "overlaps, e.g. 08:30-12:00, 13:30-17:30.")}, code="hours") from exc
        elif self.calendar_id and not self.calendar.periods.filter(
                weekday=Weekday.MONDAY).exists():
            raise ValidationError({"hours": _(
                "The calendar has no Monday hours to use: give this working day its "
                "hours.")}, code="no_monday_hours")

    def periods(self, monday: calendars.DayPeriods) -> calendars.DayPeriods:
        """The working periods of this date (``()`` for a day off)."""
        if self.kind == OverrideKind.HOLIDAY:
            return ()
        return calendars.parse_hours(self.hours) if self.hours.strip() else monday


@receiver([post_save, post_delete], sender=WorkingPeriod)
@receiver([post_save, post_delete], sender=CalendarOverride)
def _calendar_changed(sender: type[models.Model], instance: Any, **kwargs: Any) -> None:
    """A period or an override changed: the calendar's cached schedules are stale."""
    BusinessCalendar(pk=instance.calendar_id).touch()


# SLA policies and timers live in their own module; importing them registers the models.
from .exemptions import (  # noqa: E402,F401
    ExemptBreach,
    Exemption,
    ExemptionOrder,
)
from .timers import (  # noqa: E402,F401
    SlaPolicy,
    Timer,
    TimerEvent,
    TimerRule,
)
