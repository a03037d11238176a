"""A setting combination that would make alerts cry wolf."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.compatibility)
def check_down_after(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if settings.ALERT_DOWN_AFTER_SECONDS < 3 * settings.LIVE_STATE_POLL_SECONDS:
        return [
            checks.Warning(
                "ALERT_DOWN_AFTER_SECONDS is under three poll intervals: one or two lost "
                "polls (a map change, a slow tick) would send a `down` alert.",
                id="alerts.W001",
            )
        ]
    return []
