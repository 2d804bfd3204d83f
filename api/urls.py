"""/api/v1/: the call-centre API, its OpenAPI schema and the interactive docs."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import callbacks, complaints, dayplans, devices, exemptions, inspections, views
from .errors import not_found_view

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script (the CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("me/", views.MeView.as_view(), name="me"),
    path("work-orders/", views.WorkOrderCollectionView.as_view(), name="work-orders"),
    path("work-orders/<int:pk>/", views.WorkOrderDetailView.as_view(), name="work-order"),
    path("work-orders/<int:pk>/timeline/", views.TimelineView.as_view(), name="timeline"),
    path("work-orders/<int:pk>/candidates/", views.CandidatesView.as_view(),
         name="candidates"),
    path("work-orders/<int:pk>/appointment-change-requests/",
         views.ChangeRequestView.as_view(), name="change-requests"),
    path("work-orders/<int:pk>/follow-ups/", views.OrderFollowUpsView.as_view(),
         name="order-follow-ups"),
    *[path(f"work-orders/<int:pk>/{name}/", view.as_view(), name=name)
      for name, view in views.ACTION_VIEWS.items()],
    path("follow-ups/", views.FollowUpCollectionView.as_view(), name="follow-ups"),
    path("follow-ups/<int:pk>/answer/", views.FollowUpAnswerView.as_view(),
         name="follow-up-answer"),
    path("callbacks/", callbacks.CallbackCollectionView.as_view(), name="callbacks"),
    path("callbacks/<int:pk>/result/", callbacks.CallbackResultView.as_view(),
         name="callback-result"),
    path("callbacks/<int:pk>/not-reached/", callbacks.CallbackNotReachedView.as_view(),
         name="callback-not-reached"),
    path("complaints/", complaints.ComplaintCollectionView.as_view(), name="complaints"),
    path("complaints/<int:pk>/", complaints.ComplaintDetailView.as_view(), name="complaint"),
    *[path(f"complaints/<int:pk>/{name}/", view.as_view(), name=f"complaint-{name}")
      for name, view in complaints.COMPLAINT_ACTIONS.items()],
    path("inspections/", inspections.InspectionCollectionView.as_view(), name="inspections"),
    path("inspections/<int:pk>/decision/", inspections.InspectionDecisionView.as_view(),
         name="inspection-decision"),
    path("force-majeure/", exemptions.ExemptionCollectionView.as_view(),
         name="force-majeure"),
    path("force-majeure/<int:pk>/decision/", exemptions.ExemptionDecisionView.as_view(),
         name="force-majeure-decision"),
    path("day-plans/", dayplans.DayPlanCollectionView.as_view(), name="day-plans"),
    path("day-plans/<int:pk>/", dayplans.DayPlanDetailView.as_view(), name="day-plan"),
    path("day-plans/<int:pk>/accept/", dayplans.DayPlanAcceptView.as_view(),
         name="day-plan-accept"),
    path("devices/", devices.DeviceSearchView.as_view(), name="devices"),
    path("areas/", views.AreaListView.as_view(), name="areas"),
    path("technicians/", views.TechnicianListView.as_view(), name="technicians"),
    path("webhooks/", views.WebhookCollectionView.as_view(), name="webhooks"),
    path("webhooks/<int:pk>/", views.WebhookDetailView.as_view(), name="webhook"),
    # Any other path, even one with a newline or odd characters in it (``.`` alone would not
    # match a newline and leave it to Django's HTML 404).
    re_path(r"^[\s\S]*\Z", not_found_view),
]
