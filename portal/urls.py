"""The customer's signed links (no login): the appointment at /c/, the survey at /s/,
the question after an outage's repair at /o/ (R54).
Each keeps its own URL namespace (``customer``, ``survey``): the links already sent by SMS
and every ``reverse()`` of them stay valid."""

from django.urls import include, path

from .views import appointments, charges, outages, surveys

customer = ([path("<str:token>/", appointments.appointment, name="appointment")], "customer")
survey = ([path("<str:token>/", surveys.answer, name="answer")], "survey")
# R47: the payment page behind the QR code, the receipt, the provider's signed callback.
pay = ([path("pay/callback/", charges.callback, name="callback"),
        path("pay/<str:token>/", charges.pay, name="page"),
        path("r/<str:token>/", charges.receipt, name="receipt")], "pay")
outage = ([path("<str:token>/", outages.answer, name="answer")], "outage")  # R54

urlpatterns = [
    path("c/", include(customer)),
    path("s/", include(survey)),
    path("", include(pay)),
    path("o/", include(outage)),
]
