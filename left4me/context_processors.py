"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def live_state_settings(request: HttpRequest) -> dict[str, object]:
    return {"LIVE_STATE_POLL_SECONDS": settings.LIVE_STATE_POLL_SECONDS}
