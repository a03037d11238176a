"""URLs under /servers/: the owner pages of the servers app and the public pages."""

from __future__ import annotations

from django.urls import path

from left4me.pages import stats_views, views
from servers import views as owner_views

app_name = "servers"
urlpatterns = [
    path("", views.server_list, name="list"),
    path("new/", owner_views.server_create, name="create"),
    path("<int:pk>/", views.server_detail, name="detail"),
    path("<int:pk>/edit/", owner_views.server_edit, name="edit"),
    path("<int:pk>/server.cfg", owner_views.server_cfg, name="cfg"),
    path("<int:pk>/rotate-password/", owner_views.rotate_password, name="rotate_password"),
    path("<int:pk>/live/", views.live_fragment, name="live"),
    path("<int:pk>/live.json", views.live_json, name="live_json"),
    path("<int:pk>/stats.json", stats_views.stats_json, name="stats_json"),
    path("<int:pk>/chart/", stats_views.chart_fragment, name="chart"),
]
