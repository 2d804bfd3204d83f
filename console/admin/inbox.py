"""The alerts inbox page (every staff member's) and the header's unread count."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from console.inbox import acknowledge, alerts_for, kind_label, unread_count
from notifications import push_views

PAGE_SIZE = 50


def _ids(values: list[str]) -> list[int]:
    return [int(value) for value in values if value.isdigit()][:PAGE_SIZE]


def alerts_view(request: HttpRequest) -> HttpResponse:
    show_all = request.GET.get("show") == "all"
    user: Any = request.user
    alerts = alerts_for(user)
    if not show_all:
        alerts = alerts.exclude(acknowledgements__user=user)
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"alert": alert, "label": kind_label(alert.kind)} for alert in page.object_list]
    context = {
        **admin.site.each_context(request),
        "title": _("Alerts"),
        "page": page,
        "rows": rows,
        "show_all": show_all,
        "unread": unread_count(request.user),
        "push_key": push_views.public_key(),
    }
    response = TemplateResponse(request, "admin/console/alerts.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def acknowledge_view(request: HttpRequest) -> HttpResponse:
    """Acknowledge one alert (``alert``) or every alert shown on the page (``shown``)."""
    ids = _ids(request.POST.getlist("alert") or request.POST.getlist("shown"))
    if not ids:
        messages.error(request, _("Choose an alert to acknowledge."))
    else:
        done = acknowledge(request.user, ids)
        if done:
            messages.success(request, ngettext("%(n)d alert acknowledged.",
                                               "%(n)d alerts acknowledged.", done) % {"n": done})
        else:
            messages.info(request, _("Those alerts were already acknowledged."))
    back = reverse("console-alerts")
    if request.POST.get("show") == "all":
        back += "?show=all"
    return HttpResponseRedirect(back)


def count_view(request: HttpRequest) -> HttpResponse:
    """The header's link again, for htmx to swap in every few seconds."""
    return TemplateResponse(request, "admin/console/alerts_link.html", {
        "unread": unread_count(request.user),
        "refresh_seconds": settings.CONSOLE_REFRESH_SECONDS})


def staff(view: Any) -> Any:
    return admin.site.admin_view(view)
