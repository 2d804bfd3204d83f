"""The console's own routes in front of the admin's (``fieldops/urls.py`` puts them first)."""

from django.urls import path

from console.admin.inbox import acknowledge_view, alerts_view, count_view, staff
from console.admin.queue import home

urlpatterns = [
    path("", home, name="console-home"),
    path("alerts/", staff(alerts_view), name="console-alerts"),
    path("alerts/acknowledge/", staff(acknowledge_view), name="console-alerts-acknowledge"),
    path("alerts/count/", staff(count_view), name="console-alerts-count"),
]
