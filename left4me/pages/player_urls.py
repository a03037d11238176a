"""URLs under /players/: a player's page and its JSON."""

from __future__ import annotations

from django.urls import path

from left4me.pages import player_views

app_name = "players"
urlpatterns = [
    path("<str:steam_id_64>/", player_views.player_detail, name="detail"),
    path("<str:steam_id_64>.json", player_views.player_json, name="json"),
]
