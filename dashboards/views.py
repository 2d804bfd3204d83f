"""The supervisors' dashboards (``/dashboard/``, R39): thin views over ``selectors``.

Only supervisors (the supervisor group) and superusers see them; anybody else who is
logged in gets a 403, and a visitor is sent to the login page. Filters live in the query
string, so a link to a filtered page can be shared.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from fieldops import roles
from fieldops.routers import reads_replica
from technicians.models import Area, Technician

from . import exports, selectors
from .charts import compliance_charts, scorecard_chart
from .forms import FilterForm

View = Callable[..., HttpResponseBase]
#: Above this many technicians, choose an area or a team to see the technician breakdown.
TECHNICIANS_SHOWN_UNFILTERED = 300


def is_supervisor(user: Any) -> bool:
    """R39: the dashboards are the supervisors' (班长 / 主管) and the admins'."""
    return bool(user.is_authenticated and user.is_active and (
        user.is_superuser or user.groups.filter(name=roles.SUPERVISOR).exists()))


def supervisor_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_supervisor(request.user):
            return render(request, "dashboard/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _context(request: HttpRequest, tab: str) -> dict[str, Any]:
    form = FilterForm(request.GET or None)
    filters = form.filters()
    if not form.is_bound:  # show the period the page is about
        form = FilterForm(initial={"start": filters.start, "end": filters.end})
    elif form.is_valid() and not (request.GET.get("start") and request.GET.get("end")):
        data = request.GET.copy()
        data["start"], data["end"] = filters.start.isoformat(), filters.end.isoformat()
        form = FilterForm(data)
    query = request.GET.copy()
    query.pop("format", None)
    return {"form": form, "filters": filters, "tab": tab, "query": query.urlencode(),
            "poll_seconds": settings.DASHBOARD_POLL_SECONDS}


@never_cache
@supervisor_required
@reads_replica
def compliance(request: HttpRequest) -> HttpResponse:
    """The compliance figures of the period, with charts and breakdowns. The live Now
    panel is its own request (``now_partial``), made by the page as soon as it loads and
    then every ``DASHBOARD_POLL_SECONDS``."""
    context = _context(request, "compliance")
    filters = context["filters"]
    result = selectors.compliance(filters)
    days = selectors.daily(filters)
    areas = selectors.by_area(filters)
    # Thousands of technicians over a whole province are no table to read: the
    # breakdown is shown for an area, a team or a small operation (the CSV has it all).
    per_technician = bool(filters.area or filters.team or filters.technician
                          or Technician.objects.count() <= TECHNICIANS_SHOWN_UNFILTERED)
    technicians = selectors.by_technician(filters) if per_technician else []
    context.update({
        "per_technician": per_technician,
        "rows": result.rows(), "days": days, "areas": areas,
        "technicians": technicians[:50], "technician_count": len(technicians),
        "charts": compliance_charts(days, areas, technicians[:15]),
    })
    return render(request, "dashboard/compliance.html", context)


@never_cache
@supervisor_required
@reads_replica
def now_partial(request: HttpRequest) -> HttpResponse:
    """The "Now" panel alone, polled by the page to refresh it without a reload."""
    context = _context(request, "compliance")
    context["now"] = selectors.now_panel(context["filters"])
    return render(request, "dashboard/_now.html", context)


@never_cache
@supervisor_required
@reads_replica
def breaches(request: HttpRequest) -> HttpResponse:
    """Breach attribution: where the time of each broken promise went."""
    context = _context(request, "breaches")
    context["attribution"] = selectors.breach_attribution(context["filters"])
    context["segments"] = selectors.SEGMENTS
    return render(request, "dashboard/breaches.html", context)


@never_cache
@supervisor_required
@reads_replica
def scorecard(request: HttpRequest, pk: int) -> HttpResponse:
    """One technician's figures over the period against their area's."""
    technician = get_object_or_404(Technician.objects.select_related("user", "team"), pk=pk)
    context = _context(request, "scorecard")
    card = selectors.technician_scorecard(context["filters"], technician)
    rows = [{"figure": own["figure"], "own": own["value"], "area": area["value"],
             "better": _better(own["figure"], own["value"], area["value"])}
            for own, area in zip(card["own"].rows(), card["area"].rows(), strict=True)]
    area_name: str = ""
    if card["area_id"]:

        area_name = Area.objects.filter(pk=card["area_id"]).values_list(
            "name", flat=True).first() or ""
    context.update({"card": card, "rows": rows, "technician": technician,
                    "area_name": area_name or "",
                    "chart": scorecard_chart(card["own_daily"], card["area_daily"],
                                             technician.display_name, area_name or "")})
    return render(request, "dashboard/scorecard.html", context)


def _better(figure: selectors.Figure, own: Any, area: Any) -> bool | None:
    if own is None or area is None or own == area:
        return None
    return (own > area) == figure.higher_is_better


@never_cache
@supervisor_required
@reads_replica
def export_csv(request: HttpRequest, table: str) -> HttpResponse:
    if table not in exports.TABLES:
        raise Http404(_("No such table."))
    filters = FilterForm(request.GET or None).filters()
    text = exports.as_csv(exports.TABLES[table](filters))
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    name = f"fieldops-{table}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@never_cache
@supervisor_required
@reads_replica
def export_xlsx(request: HttpRequest) -> HttpResponse:
    filters = FilterForm(request.GET or None).filters()
    response = HttpResponse(
        exports.summary_workbook(filters),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    name = f"fieldops-summary-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
