from __future__ import annotations

from django.apps import AppConfig


class SteamprofilesConfig(AppConfig):
    name = "steamprofiles"
    verbose_name = "Steam profiles"
