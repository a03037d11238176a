from __future__ import annotations

from django.apps import AppConfig


class LivestateConfig(AppConfig):
    name = "livestate"
    verbose_name = "Live state"
