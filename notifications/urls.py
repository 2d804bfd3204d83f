from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("receipts/<slug:gateway>/<str:token>/", views.sms_receipts, name="sms-receipts"),
]
