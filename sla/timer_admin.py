"""Admin for SLA policies (editable, versioned) and timers (read-only); imported by
``sla.admin``. ``TimerInline`` and ``SlaStatusFilter`` are used on the work-order desk."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fieldops import clock, outbox
from fieldops.admin import ReadOnlyAdmin, ReadOnlyInline
from workorders.events import OrderAction

from .selectors import timers_at_risk, timers_breached
from .tasks import rearm_policy
from .timers import SlaPolicy, Timer, TimerEvent, TimerEventKind, TimerRule, TimerStatus


class TimerRuleInline(admin.StackedInline):
    model = TimerRule
    extra = 0
    fields = ("kind", "rule_id", "target_minutes", "anchor", "calendar", "start_on", "stop_on",
              "pause_on", "resume_on", "cancel_on", "ladder")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "service", "customer_class", "area_type", "is_active",
                    "version", "updated_at")
    list_filter = ("is_active",)
    readonly_fields = ("version", "updated_at")
    inlines = [TimerRuleInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any,
                     change: bool) -> None:
        """Every saved change is a new version; open timers are re-armed after commit."""
        super().save_related(request, form, formsets, change)
        policy = form.instance
        if change:
            SlaPolicy.objects.filter(pk=policy.pk).update(version=policy.version + 1,
                                                          updated_at=clock.now())

            outbox.send_after_commit(rearm_policy, policy.pk)


class TimerEventInline(ReadOnlyInline):
    model = TimerEvent
    fields = ("kind", "at", "recorded_at", "level", "round", "withdraws", "reason", "data")
    readonly_fields = fields


@admin.register(Timer)
class TimerAdmin(ReadOnlyAdmin):
    list_display = ("order", "kind", "cycle", "status", "due_at", "warned_at", "breached_at",
                    "stopped_at", "escalation_level", "withdrawn_shown")
    list_filter = ("kind", "status")
    list_select_related = ("order",)
    date_hierarchy = "started_at"
    inlines = [TimerEventInline]
    readonly_fields = [f.name for f in Timer._meta.fields]
    show_full_result_count = False

    @admin.display(description=_("withdrawn"))
    def withdrawn_shown(self, obj: Timer) -> str:
        return withdrawn_label(obj) or "-"


class TimerInline(ReadOnlyInline):
    """The order's promises on its admin page: due, used, paused, warned, breached."""

    model = Timer
    verbose_name_plural = _("SLA timers")
    fields = ("kind", "cycle", "status_shown", "due_at", "remaining", "warned_at",
              "breached_at", "stopped_at")
    readonly_fields = fields

    @admin.display(description=_("status"))
    def status_shown(self, obj: Timer) -> str:
        """A paused clock says why: "Paused: Attached to an outage" (R54), "Paused: No line
        or port resources" (R6), "Paused: Park at customer's request" (R12)."""
        shown = paused_label(obj) or str(obj.get_status_display())
        withdrawn = withdrawn_label(obj)
        return f"{shown}; {withdrawn}" if withdrawn else shown

    @admin.display(description=_("remaining"))
    def remaining(self, obj: Timer) -> str:
        if obj.status != TimerStatus.ARMED or obj.due_at is None:
            return "-"
        seconds = int((obj.due_at - clock.now()).total_seconds())
        sign = "-" if seconds < 0 else ""
        hours, rest = divmod(abs(seconds), 3600)
        return f"{sign}{hours}:{rest // 60:02d}"


def withdrawn_label(timer: Timer) -> str:
    """"Withdrawn 10:40: breach" for a timer whose ladder steps a late-arriving earlier
    event took back (the steps' events stay in its history, R38), else ""."""
    if timer.withdrawn_at is None:
        return ""
    steps = (TimerEvent.objects.filter(timer=timer, kind=TimerEventKind.WITHDRAWN)
             .order_by("at", "id").values_list("data", flat=True))
    kinds = {str(d.get("step", "")) for d in steps}
    names = [str(label) for kind, label in TimerEventKind.choices if kind in kinds]
    return str(_("Withdrawn %(at)s: %(steps)s") % {
        "at": timezone.localtime(timer.withdrawn_at).strftime("%Y-%m-%d %H:%M"),
        "steps": ", ".join(names) or "-"})


def paused_label(timer: Timer) -> str:
    """"Paused: <the order action that paused it>" for a paused timer, else ""."""
    if timer.status != TimerStatus.PAUSED:
        return ""
    event = (TimerEvent.objects.filter(timer=timer, kind=TimerEventKind.PAUSED)
             .order_by("-at", "-id").first())
    reason = event.reason if event else ""
    why = OrderAction(reason).label if reason in OrderAction.values else reason
    return str(_("Paused: %(why)s") % {"why": why}) if why else str(_("Paused"))


class SlaStatusFilter(admin.SimpleListFilter):
    """R38: orders with an open timer past its warning, or with any breach."""

    title = _("SLA")
    parameter_name = "sla"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("at_risk", _("At risk")), ("breached", _("Breached")),
                ("open_breach", _("Breached, still open"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:

        value = self.value()
        if value == "at_risk":
            timers = timers_at_risk()
        elif value == "breached":
            timers = timers_breached()
        elif value == "open_breach":
            timers = timers_breached().filter(status__in=[TimerStatus.ARMED,
                                                          TimerStatus.PAUSED])
        else:
            return queryset
        return queryset.filter(Exists(timers.filter(order=OuterRef("pk"))))
