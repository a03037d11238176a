"""Celery task of the Steam profile cache."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache

from steamprofiles import services

logger = logging.getLogger(__name__)

ENRICH_LOCK = "steamprofiles:enrich-lock"
ENRICH_SOFT_TIME_LIMIT = 60
ENRICH_TIME_LIMIT = 90


@shared_task(
    name="steamprofiles.enrich",
    ignore_result=True,
    soft_time_limit=ENRICH_SOFT_TIME_LIMIT,
    time_limit=ENRICH_TIME_LIMIT,
)
def enrich() -> None:
    """Resolve the SteamIDs of everyone playing now whose profile is due."""
    if not cache.add(ENRICH_LOCK, "1", timeout=ENRICH_TIME_LIMIT):
        logger.info("enrich skipped: the previous run is still going")
        return
    try:
        report = services.enrich_steam_profiles()
    finally:
        cache.delete(ENRICH_LOCK)
    if report.calls:
        logger.info(
            "Steam profiles: %d due, %d call(s), %d stored, %d unresolved",
            report.due, report.calls, report.stored, report.unresolved,
        )  # fmt: skip
