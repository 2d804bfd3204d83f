"""The queue page (the dispatcher's home): open orders by the next promise to fall due,
refreshed by the page itself every few seconds (htmx polling the same URL for the table)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from console.forms import QueueFilterForm
from console.queue import QueueFilters, QueueKeys, row, rows_of
from fieldops import clock

PAGE_SIZE = 50


def filters_from(form: QueueFilterForm) -> QueueFilters:
    """The valid filters; one with an unknown value is left out (its error is shown)."""
    form.is_valid()
    data = {name: value for name, value in form.cleaned_data.items()
            if name not in form.errors}
    return QueueFilters(
        area=data.get("area"), kind=data.get("kind") or "", state=data.get("state") or "",
        technician=data.get("technician"), unassigned=bool(data.get("unassigned")),
        at_risk=bool(data.get("at_risk")), breached=bool(data.get("breached")))


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def queue_view(request: HttpRequest, admin_site: Any) -> HttpResponse:
    if not request.user.has_perm("workorders.view_workorder"):
        raise PermissionDenied
    form = QueueFilterForm(request.GET or None)
    filters = filters_from(form) if request.GET else QueueFilters()
    # QueueKeys pages like a list of ids (count and slices) without being one
    keys = cast("Sequence[int]", QueueKeys(filters))
    page = Paginator(keys, PAGE_SIZE).get_page(request.GET.get("page"))
    now = clock.now()
    context = {
        **admin_site.each_context(request),
        "title": _("Queue"),
        "form": form,
        "page": page,
        "rows": [row(order, now) for order in rows_of(list(page.object_list))],
        "now": now,
        "refresh_seconds": settings.CONSOLE_REFRESH_SECONDS,
        "query": request.GET.urlencode(),
        "page_query": _without_page(request),
    }
    partial = request.headers.get("HX-Request") == "true"
    template = ("admin/workorders/workorder/queue_table.html" if partial
                else "admin/workorders/workorder/queue.html")
    response = TemplateResponse(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


def home(request: HttpRequest) -> HttpResponse:
    """``/admin/``: a dispatcher's home is the queue; everyone else (and a dispatcher who
    asks for ``?apps=1``) gets the admin's index of pages."""
    user = request.user
    if (user.is_active and user.is_staff and not user.is_superuser
            and user.has_perm("workorders.dispatch_workorder") and "apps" not in request.GET):
        return HttpResponseRedirect(reverse("admin:workorders_workorder_queue"))
    return admin.site.admin_view(admin.site.index)(request)
