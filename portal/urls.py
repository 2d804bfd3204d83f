"""The customer's signed links (no login): the appointment at /c/, the survey at /s/, the
copy of the signed report at /r/ (with its PDF), payment at /pay/ and its receipt at /rc/
(R47), the question after an outage's repair at /o/ (R54).
Each keeps its own URL namespace (``customer``, ``survey``): the links already sent by SMS
and every ``reverse()`` of them stay valid."""

from django.urls import include, path

from .views import appointments, charges, outages, reports, surveys

customer = ([path("<str:token>/", appointments.appointment, name="appointment")], "customer")
survey = ([path("<str:token>/", surveys.answer, name="answer")], "survey")
report = ([path("<str:token>/", reports.signed_copy, name="copy"),
           path("<str:token>/report.pdf", reports.signed_pdf, name="pdf")], "report")
# R47: the payment page behind the QR code, the receipt, the provider's signed callback.
pay = ([path("pay/callback/", charges.callback, name="callback"),
        path("pay/<str:token>/", charges.pay, name="page"),
        path("rc/<str:token>/", charges.receipt, name="receipt")], "pay")
outage = ([path("<str:token>/", outages.answer, name="answer")], "outage")  # R54

urlpatterns = [
    path("c/", include(customer)),
    path("s/", include(survey)),
    path("r/", include(report)),
    path("", include(pay)),
    path("o/", include(outage)),
]
