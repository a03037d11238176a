from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        # checks registers the system checks; client installs urllib3's
        # request-line filter in every process at start-up, not at the first
        # webhook, so what the logs show never depends on what ran first.
        from alerts import checks, client  # noqa: F401
