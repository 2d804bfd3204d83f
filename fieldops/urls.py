from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static as static_url
from django.urls import include, path
from django.views.generic import RedirectView

from fieldops.health import health


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico before (or without) reading a page's icon link. Resolved
    per request: the static file's hashed name exists only after collectstatic."""
    return HttpResponseRedirect(static_url("tech/icon-192.png"))


admin.site.site_header = "fieldops"
admin.site.site_title = "fieldops"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("favicon.ico", favicon),
    path("health/", health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", include("console.urls")),  # a dispatcher's /admin/ is the queue
    path("admin/", admin.site.urls),
    path("tech/", include("fieldapp.urls")),
    path("", include("portal.urls")),  # /c/ (appointments) and /s/ (surveys)
    # Steps a technician's phone queued offline (issue 16): the technician pages' own API.
    path("api/v1/field/", include("fieldapp.api_urls")),
    path("api/v1/", include("api.urls")),
    path("api/", include("api.fallback_urls")),
    path("dashboard/", include("dashboards.urls")),
    path("push/", include("notifications.push_urls")),  # Web Push subscriptions
    path("sms/", include("notifications.urls")),  # the SMS gateways' delivery receipts
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
