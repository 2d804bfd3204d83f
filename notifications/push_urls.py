from django.urls import path

from . import push_views

app_name = "push"
urlpatterns = [
    path("subscriptions/", push_views.subscribe, name="subscribe"),
    path("subscriptions/delete/", push_views.unsubscribe, name="unsubscribe"),
    path("sw.js", push_views.worker, name="worker"),
]
