"""The technician's mobile pages, mounted at /tech/."""

from django.urls import path

from . import views

app_name = "tech"

urlpatterns = [
    path("", views.today, name="today"),
    path("login/", views.TechLoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("assessment/", views.assessment_month, name="assessment"),
    path("assessment/<int:pk>/appeal/", views.assessment_appeal, name="assessment_appeal"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/photos/<int:photo_pk>/", views.photo_file, name="photo"),
    path("orders/<int:pk>/signed-report/", views.signed_report, name="signed_report"),
    path("orders/<int:pk>/signed-report.pdf", views.signed_report_pdf,
         name="signed_report_pdf"),
    path("orders/<int:pk>/<slug:name>/", views.order_step, name="step"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="sw"),
    path("offline/", views.offline, name="offline"),
]
