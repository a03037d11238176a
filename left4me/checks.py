"""System checks for setting combinations that would quietly break polling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.compatibility)
def check_poll_timing(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS >= settings.LIVE_STATE_POLL_SECONDS:
        return [
            checks.Error(
                "LIVE_STATE_QUERY_TIMEOUT_SECONDS must be shorter than LIVE_STATE_POLL_SECONDS: "
                "otherwise one dead server makes every tick overrun the next.",
                id="left4me.E001",
            )
        ]
    return []


@checks.register(checks.Tags.compatibility)
def check_stale_window(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if settings.LIVE_STATE_STALE_SECONDS < 2 * settings.LIVE_STATE_POLL_SECONDS:
        return [
            checks.Warning(
                "LIVE_STATE_STALE_SECONDS is under two poll intervals: live badges will "
                "flicker to '?' after a single slow tick.",
                id="left4me.W002",
            )
        ]
    return []


@checks.register(checks.Tags.compatibility, deploy=True)
def check_broker(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if not settings.DEBUG and settings.CELERY_BROKER_URL.startswith("filesystem://"):
        return [
            checks.Warning(
                "Celery uses the embedded filesystem broker, which only works when the web "
                "server, workers and beat share this machine's disk. Set REDIS_URL for a "
                "multi-machine deployment.",
                id="left4me.W001",
            )
        ]
    return []
