"""Owner pages of a server's alerts, under /servers/<server_pk>/alerts/."""

from __future__ import annotations

from django.urls import path

from alerts import views

app_name = "alerts"
urlpatterns = [
    path("new/", views.rule_add, name="add"),
    path("<int:rule_pk>/remove/", views.rule_remove, name="remove"),
    path("<int:rule_pk>/resume/", views.rule_resume, name="resume"),
    path("<int:rule_pk>/test/", views.rule_test, name="test"),
]
