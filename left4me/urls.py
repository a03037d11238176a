from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from left4me.pages.health import healthz
from left4me.pages.metrics import metrics

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="servers:list", permanent=False)),
    path("servers/", include("left4me.pages.urls")),
    path("servers/<int:server_pk>/alerts/", include("alerts.urls")),
    path("players/", include("left4me.pages.player_urls")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
]
