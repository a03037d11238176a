from __future__ import annotations

from django.apps import AppConfig


class Left4meConfig(AppConfig):
    """The project package as an app: system checks, project-wide commands."""

    name = "left4me"
    verbose_name = "left4me"

    def ready(self) -> None:
        from left4me import checks  # noqa: F401  (registers the checks)
