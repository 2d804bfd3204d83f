"""The customer's signed links (no login): the appointment at /c/, the survey at /s/,
the question after an outage's repair at /o/ (R54).
Each keeps its own URL namespace (``customer``, ``survey``): the links already sent by SMS
and every ``reverse()`` of them stay valid."""

from django.urls import include, path

from .views import appointments, outages, surveys

customer = ([path("<str:token>/", appointments.appointment, name="appointment")], "customer")
survey = ([path("<str:token>/", surveys.answer, name="answer")], "survey")
outage = ([path("<str:token>/", outages.answer, name="answer")], "outage")  # R54

urlpatterns = [
    path("c/", include(customer)),
    path("s/", include(survey)),
    path("o/", include(outage)),
]
