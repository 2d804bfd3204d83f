"""The console's own routes in front of the admin's (``fieldops/urls.py`` puts them first)."""

from django.urls import path

from console.admin.queue import home

urlpatterns = [
    path("", home, name="console-home"),
]
