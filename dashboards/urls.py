from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.compliance, name="compliance"),
    path("now/", views.now_partial, name="now"),
    path("breaches/", views.breaches, name="breaches"),
    path("technicians/<int:pk>/", views.scorecard, name="scorecard"),
    path("export/summary.xlsx", views.export_xlsx, name="export_xlsx"),
    path("export/<slug:table>.csv", views.export_csv, name="export_csv"),
]
