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

from fieldops import roles, tables
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


def is_dispatcher(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active
                and user.groups.filter(name=roles.DISPATCHER).exists())


def scope_of(user: Any) -> tuple[int, ...] | None:
    """The areas whose figures ``user`` reads: None (every area) for supervisors and
    admins, a dispatcher's own areas (``Area.dispatchers``), or () for anybody else."""
    if is_supervisor(user):
        return None
    if is_dispatcher(user):
        return tuple(Area.objects.filter(dispatchers=user).order_by("pk")
                     .values_list("pk", flat=True))
    return ()


def sees_dashboards(user: Any) -> bool:
    """Supervisors (every area) and dispatchers who run an area (its figures)."""
    return is_supervisor(user) or (is_dispatcher(user)
                                   and Area.objects.filter(dispatchers=user).exists())


def dashboard_required(view: View) -> View:
    """Supervisors read every area; a dispatcher reads the areas they run (R39), and one
    who runs none is told to ask for them; anybody else gets a 403."""
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        scope = scope_of(request.user)
        if scope == ():
            why = (_("No area is assigned to you yet. Ask an administrator to add you to the "
                     "dispatchers of your areas (Areas, in the admin).")
                   if is_dispatcher(request.user) else
                   _("The SLA dashboards are for supervisors and dispatchers. Ask an "
                     "administrator if you need them."))
            return render(request, "dashboard/forbidden.html", {"why": why}, status=403)
        request.dashboard_scope = scope  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def _form(request: HttpRequest, data: Any = None, **kwargs: Any) -> FilterForm:
    """The filters, offering only the areas the viewer reads (``dashboard_required``)."""
    return FilterForm(data, scope=getattr(request, "dashboard_scope", None), **kwargs)


def _context(request: HttpRequest, tab: str) -> dict[str, Any]:
    form = _form(request, request.GET or None)
    filters = form.filters()
    if not form.is_bound:  # show the period the page is about
        form = _form(request, initial={"start": filters.start, "end": filters.end})
    elif form.is_valid() and not (request.GET.get("start") and request.GET.get("end")):
        data = request.GET.copy()
        data["start"], data["end"] = filters.start.isoformat(), filters.end.isoformat()
        form = _form(request, data)
    query = request.GET.copy()
    query.pop("format", None)
    return {"form": form, "filters": filters, "tab": tab, "query": query.urlencode(),
            "poll_seconds": settings.DASHBOARD_POLL_SECONDS}


@never_cache
@dashboard_required
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
    visit = selectors.visit_figures(filters)  # R46, R48
    if not per_technician:
        visit["technicians"] = []
    groups = [{"title": _("By area"), "table": "visit_areas", "rows": visit["areas"]}]
    if per_technician:
        groups.append({"title": _("By technician"), "table": "visit_technicians",
                       "rows": visit["technicians"][:50]})
    quality = selectors.quality_figures(filters)  # R51, R52, R53, R54
    if not per_technician:
        quality["inspections"]["technicians"] = []
        quality["ledger"]["technicians"] = []
    context.update({
        "quality": quality,
        "quality_exports": [
            ("signals", _("suspicion signals")), ("inspections_areas", _("inspections by area")),
            ("inspections_technicians", _("inspections by technician")),
            ("ledger_teams", _("ledger by team")),
            ("ledger_technicians", _("ledger by technician")),
            ("complaints", _("complaints")), ("outages", _("outages"))],
        "visit": visit, "visit_groups": groups,
        "per_technician": per_technician,
        "rows": result.rows(), "days": days, "areas": areas,
        "technicians": technicians[:50], "technician_count": len(technicians),
        "charts": compliance_charts(days, areas, technicians[:15]),
    })
    return render(request, "dashboard/compliance.html", context)


@never_cache
@dashboard_required
@reads_replica
def now_partial(request: HttpRequest) -> HttpResponse:
    """The "Now" panel alone, polled by the page to refresh it without a reload."""
    context = _context(request, "compliance")
    context["now"] = selectors.now_panel(context["filters"])
    return render(request, "dashboard/_now.html", context)


@never_cache
@dashboard_required
@reads_replica
def breaches(request: HttpRequest) -> HttpResponse:
    """Breach attribution: where the time of each broken promise went."""
    context = _context(request, "breaches")
    context["attribution"] = selectors.breach_attribution(context["filters"])
    context["exempt"] = selectors.exempt_breaches(context["filters"])
    context["segments"] = selectors.SEGMENTS
    return render(request, "dashboard/breaches.html", context)


@never_cache
@dashboard_required
@reads_replica
def scorecard(request: HttpRequest, pk: int) -> HttpResponse:
    """One technician's figures over the period against their area's."""
    technicians = Technician.objects.select_related("user", "team")
    scope = getattr(request, "dashboard_scope", None)
    if scope is not None:  # a dispatcher reads the technicians of the areas they run
        technicians = technicians.filter(areas__in=scope).distinct()
    technician = get_object_or_404(technicians, pk=pk)
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
@dashboard_required
@reads_replica
def export_csv(request: HttpRequest, table: str) -> HttpResponse:
    if table not in exports.TABLES:
        raise Http404(_("No such table."))
    filters = _form(request, request.GET or None).filters()
    text = tables.as_csv(exports.TABLES[table](filters))
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    name = f"fieldops-{table}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@never_cache
@dashboard_required
@reads_replica
def export_xlsx(request: HttpRequest) -> HttpResponse:
    filters = _form(request, request.GET or None).filters()
    response = HttpResponse(
        exports.summary_workbook(filters),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    name = f"fieldops-summary-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
