"""Proposed day plans on the day board (issue: optimised day plans; R4, R10, R11, R15).

The board page shows the latest proposal for its area and day beside today's plan: per
technician the visits in order with planned starts, travel and lateness before and after,
and an Accept button; the visits left out with the reason. Proposing changes nothing;
accepting plans each visit through ``planning.dayplans.accept`` (the board's own services),
so every rule holds and a visit changed since the proposal is listed, not overwritten."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from fieldops.wording import plain as readable
from planning import dayplans
from planning.models import DayPlanProposal
from technicians.models import Area, Technician
from workorders.access import PERM_DISPATCH
from workorders.errors import DomainError
from workorders.models import WorkOrder


def _board(day: dt.date, area: Area | int, proposal: DayPlanProposal | None = None) -> str:
    query: dict[str, str | int] = {
        "day": day.isoformat(), "area": area if isinstance(area, int) else area.pk}
    if proposal is not None:
        query["proposal"] = proposal.pk
    return f"{reverse('admin:workorders_workorder_board')}?{urlencode(query)}"


def _dispatcher(request: HttpRequest) -> None:
    if not request.user.has_perm(PERM_DISPATCH):
        raise PermissionDenied


@require_POST
def propose_view(request: HttpRequest) -> HttpResponse:
    _dispatcher(request)
    area = Area.objects.filter(pk=request.POST.get("area") or 0).first()
    try:
        day = dt.date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        day = None
    if area is None or day is None:
        messages.error(request, _("Choose an area and a day, then propose its plan."))
        return HttpResponseRedirect(reverse("admin:workorders_workorder_board"))
    try:
        proposal = dayplans.propose(area=area, day=day, by=request.user,
                                    reassign=request.POST.get("reassign") == "on")
    except DomainError as exc:
        messages.error(request, readable(exc.message))
        return HttpResponseRedirect(_board(day, area))
    return HttpResponseRedirect(_board(day, area, proposal))


@require_POST
def accept_view(request: HttpRequest, pk: int) -> HttpResponse:
    _dispatcher(request)
    proposal = get_object_or_404(DayPlanProposal, pk=pk)
    raw = request.POST.get("technician", "")
    chosen = [int(raw)] if raw.isdigit() else None
    try:
        rows = dayplans.accept(proposal=proposal, by=request.user, technicians=chosen)
    except DomainError as exc:
        messages.error(request, readable(exc.message))
        return HttpResponseRedirect(_board(proposal.day, proposal.area_id, proposal))
    applied = sum(len(row.applied) for row in rows)
    refused = sum(len(row.refused) for row in rows)
    messages.success(request, ngettext("%(count)d visit planned.", "%(count)d visits planned.",
                                       applied) % {"count": applied})
    if refused:
        messages.warning(request, ngettext(
            "%(count)d visit kept as it was; the reason is in the proposal.",
            "%(count)d visits kept as they were; the reasons are in the proposal.",
            refused) % {"count": refused})
    return HttpResponseRedirect(_board(proposal.day, proposal.area_id, proposal))


def _clock(text: str) -> str:
    return timezone.localtime(dt.datetime.fromisoformat(text)).strftime("%H:%M")


def proposal_context(request: HttpRequest, day: dt.date, area: Area | None) -> dict[str, Any]:
    """What the board page shows of the proposal named in ``?proposal=`` (or the latest
    one for its area and day)."""
    if area is None or not request.user.has_perm(PERM_DISPATCH):
        return {}
    found = DayPlanProposal.objects.filter(area=area, day=day)
    raw = request.GET.get("proposal", "")
    proposal = (found.filter(pk=raw).first() if raw.isdigit() else None) or \
        found.order_by("-created_at", "-pk").first()
    if proposal is None:
        return {"plan_area": area}
    data = proposal.data
    numbers = {o.pk: o for o in WorkOrder.objects.filter(
        pk__in=[int(k) for k in data.get("versions", {})]).only("pk", "address", "kind")}
    acceptances = {a.technician_id: a for a in
                   proposal.acceptances.select_related("accepted_by")}
    technicians = Technician.objects.select_related("user").in_bulk(
        [int(k) for k in {*data.get("routes", {}), *data.get("before", {})}])
    rows = []
    for key in sorted({*data.get("routes", {}), *data.get("before", {})}, key=int):
        tech = technicians.get(int(key))
        if tech is None:
            continue
        before = data.get("before", {}).get(key, {"km": 0, "late_min": 0, "visits": 0})
        after = data.get("after", {}).get(key, {"km": 0, "late_min": 0, "visits": 0})
        accepted = acceptances.get(tech.pk)
        rows.append({
            "technician": tech,
            "before": before, "after": after,
            "visits": [{"time": _clock(v["start"]),
                        "number": WorkOrder.number_for(v["order"]),
                        "address": getattr(numbers.get(v["order"]), "address", "")}
                       for v in data.get("routes", {}).get(key, [])],
            "accepted": accepted,
            "refused": [(WorkOrder.number_for(int(k)), readable(text))
                        for k, text in (accepted.refused.items() if accepted else [])],
        })
    left = sorted(data.get("unplanned", {}).items(), key=lambda item: int(item[0]))
    unplanned = [(WorkOrder.number_for(int(k)), dayplans.unplanned_text(reason))
                 for k, reason in left]
    total = {name: round(sum(float(r[name]["km"]) for r in rows), 1)
             for name in ("before", "after")}
    late = {name: sum(int(r[name]["late_min"]) for r in rows) for name in ("before", "after")}
    return {"plan_area": area, "proposal": proposal, "plan_rows": rows,
            "plan_unplanned": unplanned, "plan_km": total, "plan_late": late,
            "plan_open": any(r["accepted"] is None and r["visits"] for r in rows)}
