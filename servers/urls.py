from __future__ import annotations

from django.urls import path

from livestate import views as live_views
from servers import views

app_name = "servers"
urlpatterns = [
    path("", views.server_list, name="list"),
    path("new/", views.server_create, name="create"),
    path("<int:pk>/", views.server_detail, name="detail"),
    path("<int:pk>/edit/", views.server_edit, name="edit"),
    path("<int:pk>/server.cfg", views.server_cfg, name="cfg"),
    path("<int:pk>/rotate-password/", views.rotate_password, name="rotate_password"),
    path("<int:pk>/live/", live_views.live_fragment, name="live"),
    path("<int:pk>/live.json", live_views.live_json, name="live_json"),
]
