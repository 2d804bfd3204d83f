"""The customer's signed links (no login): the appointment at /c/, the survey at /s/.
Each keeps its own URL namespace (``customer``, ``survey``): the links already sent by SMS
and every ``reverse()`` of them stay valid."""

from django.urls import include, path

from .views import appointments, surveys

customer = ([path("<str:token>/", appointments.appointment, name="appointment")], "customer")
survey = ([path("<str:token>/", surveys.answer, name="answer")], "survey")

urlpatterns = [
    path("c/", include(customer)),
    path("s/", include(survey)),
]
