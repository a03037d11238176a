"""Celery task of the Steam profile cache: thin (lock, limits, logging)."""

from __future__ import annotations

import logging

from celery import shared_task

from left4me.singleflight import single_flight
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
    # A killed run delays the next by at most the hard limit.
    with single_flight(ENRICH_LOCK, ttl=ENRICH_TIME_LIMIT) as acquired:
        if not acquired:
            logger.info("enrich skipped: the previous run is still going")
            return
        report = services.enrich_steam_profiles(max_calls=ENRICH_MAX_CALLS)
    if report.calls:
        # The service already warned about a failure (redacted); this is the tally.
        logger.info(
            "Steam profiles: %d due, %d call(s), %d stored, %d unresolved",
            report.due, report.calls, report.stored, report.unresolved,
        )  # fmt: skip
    elif report.problem:
        logger.debug("enrich made no call: %s", report.problem)


PRUNE_TIME_LIMIT = 30 * 60


@shared_task(
    name="steamprofiles.prune",
    ignore_result=True,
    soft_time_limit=PRUNE_TIME_LIMIT - 60,
    time_limit=PRUNE_TIME_LIMIT,
)
def prune() -> None:
    """Delete cached profiles that no session (after retention) references."""
    with single_flight("steamprofiles:prune", ttl=PRUNE_TIME_LIMIT) as acquired:
        if not acquired:
            logger.info("profile prune skipped: another prune is running")
            return
        deleted = services.prune_profiles()
    logger.info("pruned %d Steam profiles no session references", deleted)
