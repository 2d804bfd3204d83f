"""/api/v1/field/: what the technician pages send as data rather than as forms."""

from django.urls import path

from .sync import FieldStepView

app_name = "field"

urlpatterns = [
    path("steps/", FieldStepView.as_view(), name="steps"),
]
