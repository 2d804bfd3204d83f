"""The customer's signed links (no login): the appointment at /c/, the survey at /s/, the
copy of the signed report at /r/ (with its PDF).
Each keeps its own URL namespace (``customer``, ``survey``): the links already sent by SMS
and every ``reverse()`` of them stay valid."""

from django.urls import include, path

from .views import appointments, reports, surveys

customer = ([path("<str:token>/", appointments.appointment, name="appointment")], "customer")
survey = ([path("<str:token>/", surveys.answer, name="answer")], "survey")
report = ([path("<str:token>/", reports.signed_copy, name="copy"),
           path("<str:token>/report.pdf", reports.signed_pdf, name="pdf")], "report")

urlpatterns = [
    path("c/", include(customer)),
    path("s/", include(survey)),
    path("r/", include(report)),
]
