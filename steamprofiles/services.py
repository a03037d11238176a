"""Resolve SteamIDs to names and avatars within Steam's limits.

One batched lookup for every player on any server (not one per server per
tick), at most 100 IDs per call, IDs Steam leaves out cached as unresolved
with the same TTL, and a back-off shared by every worker through the cache
after 429s, 5xx and network errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from livestate.models import PlayerSession
from steamprofiles import steam_api
from steamprofiles.models import SteamProfile

logger = logging.getLogger(__name__)

BACKOFF_KEY = "steamprofiles:backoff"
MIN_BACKOFF_SECONDS = 60
MAX_BACKOFF_SECONDS = 3600

Progress = Callable[[int], None]


@dataclass(slots=True)
class EnrichReport:
    due: int = 0
    calls: int = 0
    stored: int = 0
    unresolved: int = 0
    skipped: str = ""  # why nothing was asked: no key, backing off
    error: str = ""


def backoff_until(*, now: datetime) -> datetime | None:
    state = cache.get(BACKOFF_KEY)
    if state and state["until"] > now:
        return state["until"]
    return None


def record_failure(error: steam_api.SteamApiError, *, now: datetime) -> datetime:
    """Pause every worker: Retry-After when Steam gives one, else 1 min doubling to 1 h."""
    failures = (cache.get(BACKOFF_KEY) or {}).get("failures", 0) + 1
    delay = error.retry_after
    if delay is None:
        delay = min(MAX_BACKOFF_SECONDS, MIN_BACKOFF_SECONDS * 2 ** (failures - 1))
    until = now + timedelta(seconds=delay)
    cache.set(BACKOFF_KEY, {"until": until, "failures": failures}, timeout=MAX_BACKOFF_SECONDS * 2)
    return until


def due_steam_ids(*, now: datetime, all_known: bool = False) -> list[str]:
    """Players on any server now whose profile is missing or older than the TTL."""
    if all_known:
        known = set(PlayerSession.objects.values_list("steam_id_64", flat=True).distinct())
        return sorted(known | set(SteamProfile.objects.values_list("pk", flat=True)))
    playing = set(PlayerSession.objects.open().values_list("steam_id_64", flat=True).distinct())
    fresh = SteamProfile.objects.fresh(now=now, ttl_seconds=settings.STEAM_PROFILE_TTL_SECONDS)
    return sorted(playing - set(fresh.filter(pk__in=playing).values_list("pk", flat=True)))


def store_results(
    asked: Sequence[str], found: dict[str, steam_api.PlayerSummary], *, now: datetime
) -> tuple[int, int]:
    """Upsert what Steam returned; mark the rest unresolved (keeping older names)."""
    resolved = [
        SteamProfile(
            steam_id_64=s.steam_id_64,
            persona_name=s.persona_name,
            avatar_url=s.avatar_url,
            profile_url=s.profile_url,
            resolved=True,
            fetched_at=now,
        )
        for s in found.values()
    ]
    missing = [
        SteamProfile(steam_id_64=i, resolved=False, fetched_at=now) for i in asked if i not in found
    ]
    SteamProfile.objects.bulk_create(
        resolved,
        update_conflicts=True,
        unique_fields=["steam_id_64"],
        update_fields=["persona_name", "avatar_url", "profile_url", "resolved", "fetched_at"],
    )
    SteamProfile.objects.bulk_create(
        missing,
        update_conflicts=True,
        unique_fields=["steam_id_64"],
        update_fields=["resolved", "fetched_at"],
    )
    return len(resolved), len(missing)


def resolve(
    steam_ids: Sequence[str], *, now: datetime, progress: Progress | None = None
) -> EnrichReport:
    """Ask Steam about `steam_ids` in calls of 100, unless disabled or backing off."""
    report = EnrichReport(due=len(steam_ids))
    if not settings.STEAM_WEB_API_KEY:
        report.skipped = "no STEAM_WEB_API_KEY configured"
        return report
    if until := backoff_until(now=now):
        report.skipped = f"backing off after Steam API errors until {until:%Y-%m-%d %H:%M:%S} UTC"
        return report
    for start in range(0, len(steam_ids), steam_api.MAX_IDS_PER_CALL):
        chunk = steam_ids[start : start + steam_api.MAX_IDS_PER_CALL]
        if not call_steam(chunk, report, now=now):
            break
        if progress:
            progress(len(chunk))
    return report


def call_steam(chunk: Sequence[str], report: EnrichReport, *, now: datetime) -> bool:
    report.calls += 1
    try:
        found = steam_api.fetch_player_summaries(
            chunk, api_key=settings.STEAM_WEB_API_KEY, avatar_hosts=settings.STEAM_AVATAR_HOSTS
        )
    except steam_api.SteamApiError as error:
        report.error = str(error)
        if error.backs_off:
            until = record_failure(error, now=now)
            report.error += f"; backing off until {until:%H:%M:%S} UTC"
        logger.warning("Steam profile lookup failed: %s", report.error)
        return False
    cache.delete(BACKOFF_KEY)
    stored, unresolved = store_results(chunk, found, now=now)
    report.stored += stored
    report.unresolved += unresolved
    return True


def enrich_steam_profiles(
    *, all_known: bool = False, now: datetime | None = None, progress: Progress | None = None
) -> EnrichReport:
    """The beat job: resolve every due SteamID (all known ones with `all_known`)."""
    now = now or timezone.now()
    ids = due_steam_ids(now=now, all_known=all_known)
    if not ids:
        return EnrichReport()
    return resolve(ids, now=now, progress=progress)


def refresh_steam_profiles(
    *, steam_ids: Sequence[str], now: datetime | None = None
) -> EnrichReport:
    """The admin's "refresh now": ignores the TTL, not the back-off."""
    return resolve(sorted(set(steam_ids)), now=now or timezone.now())
