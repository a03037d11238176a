"""Resolve SteamIDs to names and avatars within Steam's limits.

One batched lookup for every player on any server (not one per server per
tick), at most 100 IDs per call, IDs Steam leaves out cached as unresolved
with the same TTL, and a back-off shared by every worker through the cache:
after a failed call nobody calls Steam until it expires.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import zip_longest

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from left4me import metrics_store
from livestate.models import PlayerSession
from steamprofiles import steam_api
from steamprofiles.models import SteamProfile

logger = logging.getLogger(__name__)

BACKOFF_KEY = "steamprofiles:backoff"
MIN_BACKOFF_SECONDS = 60
MAX_BACKOFF_SECONDS = 3600
# A Retry-After beyond this is more likely a bug than a plan; cap it.
MAX_RETRY_AFTER_SECONDS = 86400
# A call that goes out anyway takes recent players whose profile is past
# this share of its TTL, saving the call their expiry would cost later.
TOP_UP_AFTER_TTL_FRACTION = 0.5
UPDATE_FIELDS = ["persona_name", "avatar_url", "profile_url", "resolved", "fetched_at"]

Progress = Callable[[int, int], None]  # (SteamIDs done, SteamIDs to do)


@dataclass(frozen=True, slots=True)
class Backoff:
    until: datetime
    failures: int  # consecutive failed calls; a success resets it


@dataclass(slots=True)
class EnrichReport:
    due: int = 0  # SteamIDs that needed asking
    topped_up: int = 0  # not yet due, asked in free slots of calls made anyway
    calls: int = 0  # HTTP calls made (the failed one included)
    stored: int = 0  # resolved profiles written
    unresolved: int = 0  # asked, left out by Steam, cached as unresolved
    disabled: bool = False  # no STEAM_WEB_API_KEY
    backoff_until: datetime | None = None  # calls paused until then
    error: str = ""  # the failed call, never with the key

    @property
    def problem(self) -> str:
        """Why the run did not ask everything it should have, or ""."""
        if self.disabled:
            return "STEAM_WEB_API_KEY is not set: Steam lookups are disabled"
        until = f"{self.backoff_until:%Y-%m-%d %H:%M:%S} UTC" if self.backoff_until else ""
        if self.error:
            return f"{self.error}; backing off until {until}" if until else self.error
        return f"backing off after Steam API errors until {until}" if until else ""

    def summary(self) -> str:
        early = f" (+{self.topped_up} refreshed early)" if self.topped_up else ""
        return (
            f"{self.due} SteamID(s) due{early}, {self.calls} Steam call(s): "
            f"{self.stored} profile(s) stored, "
            f"{self.unresolved} unresolved (private, deleted or invalid)"
        )


def current_backoff(*, now: datetime) -> Backoff | None:
    """The shared back-off if it still runs at `now`."""
    backoff = _load_backoff()
    return backoff if backoff and backoff.until > now else None


def _load_backoff() -> Backoff | None:
    # Plain values in the cache: no pickled class that a later release could break.
    state = cache.get(BACKOFF_KEY)
    try:
        return Backoff(
            until=datetime.fromtimestamp(state["until"], UTC), failures=state["failures"]
        )
    except (TypeError, KeyError, ValueError, OverflowError):
        return None


def record_failure(*, error: steam_api.SteamApiError, now: datetime) -> Backoff:
    """Pause every worker: Retry-After when Steam gives one, else 1 min doubling to 1 h."""
    previous = _load_backoff()
    failures = (previous.failures if previous else 0) + 1
    if error.retry_after is not None:
        delay = min(error.retry_after, MAX_RETRY_AFTER_SECONDS)
    else:
        delay = min(MAX_BACKOFF_SECONDS, MIN_BACKOFF_SECONDS * 2 ** min(failures - 1, 16))
    backoff = Backoff(until=now + timedelta(seconds=delay), failures=failures)
    # Outlive the pause so the failure count survives it and can double.
    state = {"until": backoff.until.timestamp(), "failures": failures}
    cache.set(BACKOFF_KEY, state, timeout=int(delay) + 2 * MAX_BACKOFF_SECONDS)
    return backoff


def record_success() -> None:
    cache.delete(BACKOFF_KEY)


def due_steam_ids(*, now: datetime, all_known: bool = False) -> list[str]:
    """Players on any server now whose profile is missing or older than the TTL.

    With `all_known`: every SteamID ever seen or cached, whatever its age.
    """
    if all_known:
        seen = PlayerSession.objects.order_by().values_list("steam_id_64", flat=True).distinct()
        cached = SteamProfile.objects.order_by().values_list("pk", flat=True)
        ids = set(seen) | set(cached)
        return sorted(i for i in ids if steam_api.is_steam_id(i))
    fresh = SteamProfile.objects.fresh(now).filter(pk=OuterRef("steam_id_64"))
    playing = PlayerSession.objects.open().filter(~Exists(fresh))
    pairs = playing.order_by().values_list("server_id", "steam_id_64").distinct()
    return fair_order(p for p in pairs if steam_api.is_steam_id(p[1]))


def fair_order(pairs: Iterable[tuple[int, str]]) -> list[str]:
    """SteamIDs taken from each server in turn (SPEC 13: Steam lookups shared fairly).

    Calls take IDs from the front, so a server listing thousands of players
    gets one slot per round like every other server with due IDs, never the
    whole call while the others wait.
    """
    by_server: dict[int, list[str]] = defaultdict(list)
    for server_id, steam_id in pairs:
        by_server[server_id].append(steam_id)
    queues = [sorted(ids) for _, ids in sorted(by_server.items())]
    ordered: dict[str, None] = {}  # insertion-ordered set: a player on two servers once
    for round_ in zip_longest(*queues):
        ordered.update((steam_id, None) for steam_id in round_ if steam_id is not None)
    return list(ordered)


def prune_profiles(*, batch_size: int = 5000) -> int:
    """Delete cached profiles no session references any more, in bounded batches.

    Retention deletes old sessions; their players' profiles go with them.
    """
    unused = SteamProfile.objects.filter(
        ~Exists(PlayerSession.objects.filter(steam_id_64=OuterRef("pk")))
    )
    total = 0
    while ids := list(unused.values_list("pk", flat=True)[:batch_size]):
        total += SteamProfile.objects.filter(pk__in=ids).delete()[0]
    return total


def top_up_ids(*, due: Sequence[str], now: datetime) -> list[str]:
    """Recent players whose resolved profile is ageing, to fill the last call's free slots.

    Costs no call (never more than the free slots), and refreshing players
    who played within the TTL before they return spares the call their
    expiry would cost later. Unresolved IDs keep their full TTL.
    """
    free = -len(due) % steam_api.MAX_IDS_PER_CALL
    if not due or not free:
        return []
    ttl = settings.STEAM_PROFILE_TTL_SECONDS
    ageing = SteamProfile.objects.resolved().stale(
        now, ttl_seconds=int(ttl * TOP_UP_AFTER_TTL_FRACTION)
    )
    recent = PlayerSession.objects.filter(
        Q(left_at__isnull=True) | Q(left_at__gte=now - timedelta(seconds=ttl))
    )
    rows = ageing.filter(pk__in=recent.values("steam_id_64")).exclude(pk__in=due)
    return sorted(rows.order_by("fetched_at").values_list("pk", flat=True)[:free])


def store_summaries(
    *, asked: Sequence[str], found: dict[str, steam_api.PlayerSummary], now: datetime
) -> tuple[int, int]:
    """Upsert what Steam returned; store the IDs it left out as unresolved.

    An ID that goes private keeps the name and avatar we last saw: pages
    then show that rather than nothing, and it is still not asked before the TTL.
    """
    resolved = [
        SteamProfile(
            steam_id_64=s.steam_id_64,
            persona_name=s.persona_name,
            avatar_url=s.avatar_url,
            profile_url=s.profile_url,
            fetched_at=now,
        )
        for s in (found[i] for i in asked if i in found)
    ]
    missing = [
        SteamProfile(steam_id_64=i, resolved=False, fetched_at=now) for i in asked if i not in found
    ]
    with transaction.atomic():
        _upsert(resolved, update_fields=UPDATE_FIELDS)
        _upsert(missing, update_fields=["resolved", "fetched_at"])
    return len(resolved), len(missing)


def _upsert(rows: list[SteamProfile], *, update_fields: list[str]) -> None:
    if rows:
        SteamProfile.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["steam_id_64"], update_fields=update_fields
        )


def lookup_steam_ids(
    steam_ids: Sequence[str],
    *,
    now: datetime,
    progress: Progress | None = None,
    max_calls: int | None = None,
) -> EnrichReport:
    """Ask Steam about `steam_ids` in calls of 100, unless disabled or backing off.

    The first failing call stops the run (what earlier calls stored stays)
    and starts the shared back-off.
    """
    report = EnrichReport(due=len(steam_ids))
    if not settings.STEAM_WEB_API_KEY:
        report.disabled = True
        return report
    if backoff := current_backoff(now=now):
        report.backoff_until = backoff.until
        return report
    size = steam_api.MAX_IDS_PER_CALL
    chunks = [steam_ids[i : i + size] for i in range(0, len(steam_ids), size)]
    done = 0
    if progress:
        progress(done, len(steam_ids))
    for chunk in chunks[:max_calls]:
        if not _call_steam(chunk, report, now=now):
            break
        done += len(chunk)
        if progress:
            progress(done, len(steam_ids))
    return report


def _call_steam(chunk: Sequence[str], report: EnrichReport, *, now: datetime) -> bool:
    report.calls += 1
    try:
        found = steam_api.fetch_player_summaries(chunk, api_key=settings.STEAM_WEB_API_KEY)
    except steam_api.SteamApiError as error:
        metrics_store.record_steam_call(error.kind.value)
        report.error = str(error)
        report.backoff_until = record_failure(error=error, now=now).until
        logger.warning("Steam profile lookup failed: %s", steam_api.redact(report.problem))
        return False
    metrics_store.record_steam_call(metrics_store.STEAM_CALL_OK)
    record_success()
    stored, unresolved = store_summaries(asked=chunk, found=found, now=now)
    report.stored += stored
    report.unresolved += unresolved
    return True


def enrich_steam_profiles(
    *,
    all_known: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
    max_calls: int | None = None,
) -> EnrichReport:
    """The beat job: resolve every due SteamID (every known one with `all_known`).

    Checks the key and the back-off before reading the database, so the
    5-second tick costs nothing while Steam lookups cannot happen.
    """
    now = now or timezone.now()
    if not settings.STEAM_WEB_API_KEY:
        return EnrichReport(disabled=True)
    if backoff := current_backoff(now=now):
        return EnrichReport(backoff_until=backoff.until)
    ids = due_steam_ids(now=now, all_known=all_known)
    if not ids:
        return EnrichReport()
    extra = [] if all_known else top_up_ids(due=ids, now=now)
    report = lookup_steam_ids([*ids, *extra], now=now, progress=progress, max_calls=max_calls)
    report.due, report.topped_up = len(ids), len(extra)
    return report


def refresh_steam_profiles(
    *, steam_ids: Sequence[str], now: datetime | None = None
) -> EnrichReport:
    """The admin's "refresh now": ignores the TTL, not the back-off."""
    ids = sorted({i for i in steam_ids if steam_api.is_steam_id(i)})
    return lookup_steam_ids(ids, now=now or timezone.now())
