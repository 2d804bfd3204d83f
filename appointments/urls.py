"""The customer's signed links, mounted at /c/."""

from django.urls import path

from . import views

app_name = "customer"

urlpatterns = [
    path("<str:token>/", views.appointment, name="appointment"),
]
