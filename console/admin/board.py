"""The dispatcher's day board (``/admin/workorders/workorder/board/``): the page, its data,
and the two drops. Every drop calls the same services as the desk and the API
(``work_order_dispatch``, ``work_order_reassign``, ``work_order_unassign``,
``visit_plan_start``), so every rule
holds; a refusal answers with the rule explained in words and changes nothing.

Each drop carries the order's version it was drawn from as ``If-Match`` (the API's ETag):
without it the answer is 428, with an old one 412, and the board reloads the order as
another dispatcher left it instead of overwriting their change."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from appointments import services as booking_services
from console.admin.dayplan import proposal_context
from console.board import board_data, parse_local
from console.forms import BoardFilterForm
from fieldops import clock
from fieldops.wording import plain as readable
from technicians.models import Area, Technician
from workorders import selectors, services
from workorders.access import PERM_DISPATCH
from workorders.errors import ConcurrentModification, DomainError, IllegalTransition
from workorders.models import WorkOrder

BOARD_REASSIGN_REASON = gettext_lazy("Reassigned on the day board.")
BOARD_UNASSIGN_REASON = gettext_lazy("Taken off the technician on the day board.")


def _may_view(request: HttpRequest) -> None:
    if not request.user.has_perm("workorders.view_workorder"):
        raise PermissionDenied


def _filters(request: HttpRequest) -> tuple[BoardFilterForm, dt.date, Area | None]:
    form = BoardFilterForm(request.GET or None, initial={"day": clock.today_local()})
    form.is_valid()
    data = {k: v for k, v in getattr(form, "cleaned_data", {}).items() if k not in form.errors}
    return form, data.get("day") or clock.today_local(), data.get("area")


def board_view(request: HttpRequest, admin_site: Any) -> HttpResponse:
    _may_view(request)
    form, day, area = _filters(request)
    query = {"day": day.isoformat(), **({"area": str(area.pk)} if area else {})}
    context = {
        **admin_site.each_context(request),
        "title": _("Day board"),
        "form": form,
        "day": day,
        "previous_day": (day - dt.timedelta(days=1)).isoformat(),
        "next_day": (day + dt.timedelta(days=1)).isoformat(),
        "area": area,
        "query": "&".join(f"{k}={v}" for k, v in query.items()),
        "editable": request.user.has_perm(PERM_DISPATCH),
        "first_hour": settings.BOARD_FIRST_HOUR,
        "last_hour": settings.BOARD_LAST_HOUR,
        **proposal_context(request, day, area),
    }
    response = TemplateResponse(request, "admin/workorders/workorder/board.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def board_data_view(request: HttpRequest) -> JsonResponse:
    _may_view(request)
    _form, day, area = _filters(request)
    data = board_data(selectors.orders_visible_to(request.user, WorkOrder.objects.all()), day,
                      area=area, editable=request.user.has_perm(PERM_DISPATCH))
    response = JsonResponse(data)
    response["Cache-Control"] = "no-store"
    return response


def _problem(status: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"message": readable(message), **extra}, status=status)


def _seen_version(request: HttpRequest) -> int | JsonResponse:
    raw = request.headers.get("If-Match", "").strip()
    if not raw:
        return _problem(428, _("The board did not say which version of the order it shows; "
                               "reload the board and try again."))
    text = raw.removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 12:
        return _problem(412, _("The board's copy of this order is not valid; reload the "
                               "board."))
    return int(text)


def _stale(order: WorkOrder) -> JsonResponse:
    return _problem(412, _("Another dispatcher changed order %(number)s meanwhile; the "
                           "board now shows it as they left it.") % {"number": order.number},
                    stale=True)


def _drop(request: HttpRequest, pk: int, run: Any) -> JsonResponse:
    if not request.user.has_perm(PERM_DISPATCH):
        return _problem(403, _("Only a dispatcher changes the board."))
    order = get_object_or_404(selectors.orders_visible_to(request.user, WorkOrder.objects.all()),
                              pk=pk)
    seen = _seen_version(request)
    if isinstance(seen, JsonResponse):
        return seen
    if seen != order.version:
        return _stale(order)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _problem(400, _("The board sent something it should not; reload it."))
    try:
        message = run(order, body)
    except ConcurrentModification:
        return _stale(order)
    except IllegalTransition as exc:
        return _problem(409, _("Order %(number)s can't be changed this way now: it is "
                               "%(state)s.") % {"number": order.number,
                                                "state": order.get_state_display()},
                        state=exc.details.get("state", ""))
    except DomainError as exc:
        return _problem(exc.status, exc.message, rule=getattr(exc, "rule", ""))
    if isinstance(message, JsonResponse):
        return message
    fresh = WorkOrder.objects.get(pk=order.pk)
    response = JsonResponse({"message": message, "version": fresh.version})
    response["ETag"] = f'"{fresh.version}"'
    return response


@require_POST
def board_assign_view(request: HttpRequest, pk: int) -> JsonResponse:
    """A drop on a technician's row: dispatch an unassigned order to them, or reassign
    one from another technician; a drop on the "Unassigned" row (``technician`` null) takes
    the order off its technician, back to the queue (R4, the same services as the desk)."""

    def run(order: WorkOrder, body: dict[str, Any]) -> str | JsonResponse:
        raw = body.get("technician")
        if raw is None and "technician" in body:
            if order.technician_id is None:
                return _problem(400, _("Order %(number)s has no technician yet; drop it on a "
                                       "technician's row.") % {"number": order.number})
            done = services.work_order_unassign(order=order, by=request.user,
                                                reason=str(BOARD_UNASSIGN_REASON))
            return _("Order %(number)s is back in the queue, without a technician.") % {
                "number": done.number}
        technician = (Technician.objects.select_related("user").filter(pk=raw).first()
                      if isinstance(raw, int) else None)
        if technician is None:
            return _problem(400, _("Drop the order on a technician's row."))
        if order.technician_id is None:
            done = services.work_order_dispatch(order=order, by=request.user,
                                                technician=technician)
            return _("Order %(number)s dispatched to %(name)s.") % {
                "number": done.number, "name": technician.display_name}
        done = services.work_order_reassign(order=order, by=request.user,
                                            technician=technician,
                                            reason=str(BOARD_REASSIGN_REASON))
        return _("Order %(number)s reassigned to %(name)s.") % {
            "number": done.number, "name": technician.display_name}

    return _drop(request, pk, run)


@require_POST
def board_plan_view(request: HttpRequest, pk: int) -> JsonResponse:
    """A block moved along its row: a new planned start inside the booked window (R10,
    R11, R15, R16 in ``visit_plan_start``)."""

    def run(order: WorkOrder, body: dict[str, Any]) -> str | JsonResponse:
        raw = body.get("start")
        start = parse_local(raw) if isinstance(raw, str) else None
        if start is None:
            return _problem(400, _("The board sent no valid start time; reload it."))
        plan = booking_services.visit_plan_start(order=order, by=request.user, start=start)
        return _("Order %(number)s: the visit is planned to start at %(time)s.") % {
            "number": order.number,
            "time": timezone.localtime(plan.planned_start).strftime("%H:%M")}

    return _drop(request, pk, run)
