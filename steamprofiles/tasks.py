"""Celery task of the Steam profile cache: thin (lock, limits, logging)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache

from steamprofiles import services

logger = logging.getLogger(__name__)

ENRICH_LOCK = "steamprofiles:enrich-lock"
# A call may take 3.05 s to connect plus 10 s to read: four fit in the soft
# limit, and the IDs left over go in the next 5-second tick.
ENRICH_MAX_CALLS = 4
ENRICH_SOFT_TIME_LIMIT = 60
ENRICH_TIME_LIMIT = 75


@shared_task(
    name="steamprofiles.enrich",
    ignore_result=True,
    soft_time_limit=ENRICH_SOFT_TIME_LIMIT,
    time_limit=ENRICH_TIME_LIMIT,
)
def enrich() -> None:
    """Resolve the SteamIDs of everyone playing now whose profile is due."""
    # The lock outlives the hard limit, so a killed run delays the next by at most that.
    if not cache.add(ENRICH_LOCK, "1", timeout=ENRICH_TIME_LIMIT):
        logger.info("enrich skipped: the previous run is still going")
        return
    try:
        report = services.enrich_steam_profiles(max_calls=ENRICH_MAX_CALLS)
    finally:
        cache.delete(ENRICH_LOCK)
    if report.calls:
        # The service already warned about a failure (redacted); this is the tally.
        logger.info(
            "Steam profiles: %d due, %d call(s), %d stored, %d unresolved",
            report.due, report.calls, report.stored, report.unresolved,
        )  # fmt: skip
    elif report.problem:
        logger.debug("enrich made no call: %s", report.problem)
