"""Database side of a poll: claim servers, load what reconciling needs, write it.

Writes use one parameterised `executemany` per statement for a whole chunk
of servers, inside one transaction: on this workload Django's `bulk_update`
(one CASE WHEN per row) was 20x slower. Timestamps go through the backend's
own adapter so raw SQL stores them exactly as the ORM does.

A poll first claims its servers (a compare-and-set lease on their LiveStatus
rows), so two workers never poll one server at once, and releases each lease
in the same statement that stores the server's new state.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q

from livestate.models import LiveStateSnapshot, LiveStatus, PlayerSession, ReachabilityRun
from livestate.reachability import OUTCOME_OF_STATE, LastPoll, continues
from livestate.reconcile import Changes, ClosedSession, LastAnswer, OpenSession
from servers.models import Server

IN_BATCH = 500  # keeps IN (...) lists far below SQLite's variable limit

SNAPSHOT = LiveStateSnapshot._meta.db_table
SESSION = PlayerSession._meta.db_table
STATUS = LiveStatus._meta.db_table
REACHABILITY = ReachabilityRun._meta.db_table


def batched[T](items: Sequence[T], size: int = IN_BATCH) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how to query one claimed server. The password never reaches a repr."""

    server_id: int
    name: str
    host: str
    port: int
    password: str = field(repr=False)


@dataclass(slots=True)
class Claim:
    """The servers one poll holds the lease of, with their last answers."""

    token: str
    targets: list[Target]
    last: dict[int, LastAnswer]
    busy: int  # asked for, but leased by another poll still running
    last_poll: dict[int, LastPoll] = field(default_factory=dict)


_CLAIMED_FIELDS = (
    "pk", "name", "host", "port", "rcon_password",
    "live_status__snapshot_id", "live_status__answered_at", "live_status__players",
    "live_status__max_players", "live_status__bots", "live_status__map",
    "live_status__hibernating", "live_status__session_allowance",
    "live_status__state", "live_status__polled_at", "live_status__reachability_id",
)  # fmt: skip


def claim_servers(
    server_ids: Sequence[int], *, now: datetime, until: datetime, token: str = ""
) -> Claim:
    """Lease the given servers whose lease is free or expired, and load them.

    Compare-and-set in one UPDATE per batch: a server another poll holds is
    left alone and counted as busy; a lease left by a killed worker expires,
    or is released at once when the worker reports the chunk lost (the token
    is then the chunk task's id: see livestate.tasks).
    """
    ensure_statuses(server_ids)
    token = token or uuid.uuid4().hex
    free = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    for ids in batched(server_ids):
        LiveStatus.objects.filter(free, server_id__in=ids).update(
            lease_until=until, lease_token=token
        )
    rows = (
        Server.objects.filter(live_status__lease_token=token)
        .order_by("pk")
        .values_list(*_CLAIMED_FIELDS)
    )
    claim = Claim(token, [], {}, busy=0)
    for pk, name, host, port, password, *last in rows:
        claim.targets.append(Target(pk, name, host, port, password))
        claim.last[pk] = LastAnswer(*last[:-3])
        claim.last_poll[pk] = LastPoll(*last[-3:])
    claim.busy = len(set(server_ids)) - len(claim.targets)
    return claim


def ensure_statuses(server_ids: Sequence[int]) -> None:
    """Create the LiveStatus rows a first poll needs (a new server has none)."""
    for ids in batched(server_ids):
        have = set(LiveStatus.objects.filter(server_id__in=ids).values_list("server_id", flat=True))
        missing = [LiveStatus(server_id=pk) for pk in ids if pk not in have]
        if missing:
            # Only servers that still exist: one deleted since dispatch is skipped.
            existing = set(
                Server.objects.filter(pk__in=[s.server_id for s in missing]).values_list(
                    "pk", flat=True
                )
            )
            LiveStatus.objects.bulk_create(
                [s for s in missing if s.server_id in existing], ignore_conflicts=True
            )


def release(token: str) -> int:
    """Give back every lease of a poll that ends without writing (e.g. it failed)."""
    return LiveStatus.objects.filter(lease_token=token).update(lease_until=None, lease_token="")


def release_prefix(prefix: str, *, claimed_before: datetime) -> int:
    """Give back the leases whose token starts with `prefix` (one worker's, see tasks)
    and that end before `claimed_before` (a lease ends one chunk limit after its claim)."""
    held = LiveStatus.objects.filter(lease_token__startswith=prefix, lease_until__lt=claimed_before)
    return held.update(lease_until=None, lease_token="")


def load_open_sessions(server_ids: Sequence[int]) -> dict[int, list[OpenSession]]:
    sessions: dict[int, list[OpenSession]] = defaultdict(list)
    fields = ("id", "server_id", "steam_id_64", "joined_at", "last_seen_at", "min_ping", "max_ping")
    for ids in batched(server_ids):
        for row in PlayerSession.objects.open().filter(server_id__in=ids).values_list(*fields):
            sessions[row[1]].append(OpenSession(row[0], *row[2:]))
    return sessions


def load_recently_closed(
    wanted: dict[int, set[str]], *, since: datetime
) -> dict[int, dict[str, ClosedSession]]:
    """The latest closed session of each (server, SteamID) pair that just arrived."""
    found: dict[int, dict[str, ClosedSession]] = defaultdict(dict)
    steam_ids = sorted(set().union(*wanted.values())) if wanted else []
    fields = ("id", "server_id", "steam_id_64", "joined_at", "left_at", "min_ping", "max_ping")
    for ids in batched(steam_ids):
        rows = (
            PlayerSession.objects.closed()
            .filter(steam_id_64__in=ids, server_id__in=list(wanted), left_at__gte=since)
            .order_by("left_at")
            .values_list(*fields)
        )
        for sid, server_id, steam_id, joined, left, low, high in rows:
            if steam_id in wanted[server_id]:  # later rows overwrite: the latest wins
                found[server_id][steam_id] = ClosedSession(sid, joined, left, low, high)
    return found


class Answered(NamedTuple):
    """A server that answered: its new state, in the order of ANSWERED's SQL."""

    state: str
    polled_at: datetime
    players: int
    max_players: int
    bots: int
    map: str
    hibernating: bool
    session_allowance: float
    server_id: int


class Failed(NamedTuple):
    """A server that did not answer, in the order of FAILED's SQL."""

    state: str
    polled_at: datetime
    error: str
    auth_failed_at: datetime | None
    server_id: int


def _adapt(value: Any) -> Any:
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _executemany(cursor: Any, sql: str, rows: Sequence[tuple]) -> None:
    if rows:
        cursor.executemany(sql, [tuple(map(_adapt, row)) for row in rows])


# Table names come from model metadata, values are always parameters.
CLOSE_SESSIONS = f"UPDATE {SESSION} SET left_at = %s WHERE id = %s"  # noqa: S608
TOUCH_SESSIONS = (
    f"UPDATE {SESSION} SET last_seen_at = %s, min_ping = %s, max_ping = %s "  # noqa: S608
    "WHERE id = %s"
)
REOPEN_SESSIONS = (
    f"UPDATE {SESSION} SET left_at = NULL, last_seen_at = %s, "  # noqa: S608
    "min_ping = %s, max_ping = %s WHERE id = %s"
)
TOUCH_SNAPSHOTS = f"UPDATE {SNAPSHOT} SET last_seen_at = %s WHERE id = %s"  # noqa: S608
TOUCH_RUNS = f"UPDATE {REACHABILITY} SET last_seen_at = %s WHERE id = %s"  # noqa: S608
# Answering clears the error and any auth back-off; each releases the lease.
ANSWERED = (
    f"UPDATE {STATUS} SET state = %s, polled_at = %s, answered_at = %s, "  # noqa: S608
    "players = %s, max_players = %s, bots = %s, map = %s, hibernating = %s, "
    "session_allowance = %s, error = '', "
    "auth_failed_at = NULL, snapshot_id = %s, reachability_id = %s, "
    "lease_until = NULL, lease_token = '' WHERE server_id = %s AND lease_token = %s"
)
FAILED = (
    f"UPDATE {STATUS} SET state = %s, polled_at = %s, error = %s, "  # noqa: S608
    "auth_failed_at = %s, reachability_id = %s, "
    "lease_until = NULL, lease_token = '' WHERE server_id = %s AND lease_token = %s"
)


STORE_FAILED = (
    f"UPDATE {STATUS} SET state = %s, polled_at = %s, error = %s, "  # noqa: S608
    "lease_until = NULL, lease_token = '' WHERE server_id = %s AND lease_token = %s"
)


def write_poll(
    *,
    token: str,
    changes: dict[int, Changes],
    answered: list[Answered],
    failed: list[Failed],
    last_poll: dict[int, LastPoll] | None = None,
) -> dict[int, DatabaseError]:
    """Apply a chunk's changes and release its leases; return the servers that failed.

    One transaction for the whole chunk. If it fails, each server is written
    alone, so one server's bad write (a value the database refuses, a server
    deleted mid-poll) costs only that server's poll, never the others'.
    """
    try:
        _write(token, changes, answered, failed, last_poll or {})
        return {}
    except DatabaseError:
        pass
    errors: dict[int, DatabaseError] = {}
    for sid in sorted({*changes, *(r.server_id for r in answered), *(r.server_id for r in failed)}):
        try:
            _write(
                token,
                {sid: changes[sid]} if sid in changes else {},
                [r for r in answered if r.server_id == sid],
                [r for r in failed if r.server_id == sid],
                last_poll or {},
            )
        except DatabaseError as error:
            errors[sid] = error
            rows: list[Answered | Failed] = [*answered, *failed]
            when = next(r.polled_at for r in rows if r.server_id == sid)
            _record_store_failure(sid, token, when)
    return errors


def _record_store_failure(server_id: int, token: str, when: datetime) -> None:
    """Say so on the server's state and give its lease back; best effort."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            row = ("error", when, "could not store this server's reply", server_id, token)
            _executemany(cursor, STORE_FAILED, [row])
    except DatabaseError:
        pass  # the lease runs out by itself


def _write(
    token: str,
    changes: dict[int, Changes],
    answered: list[Answered],
    failed: list[Failed],
    last_poll: dict[int, LastPoll],
) -> None:
    """One transaction. Closes run before opens so a reconnect never has two open
    sessions, even for a moment. New snapshots are inserted first: the state
    rows point at the run each server's answer now lives in."""
    every = list(changes.values())
    observed = {row.server_id: row.polled_at for row in answered}
    with transaction.atomic(), connection.cursor() as cursor:
        _executemany(cursor, CLOSE_SESSIONS, [row for c in every for row in c.close])
        _executemany(cursor, TOUCH_SESSIONS, [row for c in every for row in c.touch])
        _executemany(cursor, REOPEN_SESSIONS, [row for c in every for row in c.reopen])
        touched = {sid: c.snapshot_touch for sid, c in changes.items() if c.snapshot_touch}
        _executemany(
            cursor, TOUCH_SNAPSHOTS, [(observed[sid], run) for sid, run in touched.items()]
        )
        runs = touched | _insert_snapshots(changes, observed)
        _insert_sessions(changes)
        reach = _write_reachability(cursor, [*answered, *failed], last_poll)
        _executemany(
            cursor, ANSWERED, [_answered_params(row, runs, reach, token) for row in answered]
        )
        _executemany(
            cursor,
            FAILED,
            [(*row[:-1], reach.get(row.server_id), row.server_id, token) for row in failed],
        )


def _answered_params(
    row: Answered, runs: dict[int, int], reach: dict[int, int], token: str
) -> tuple:
    state, polled_at, *values, server_id = row
    run, reached = runs.get(server_id), reach.get(server_id)
    return (state, polled_at, polled_at, *values, run, reached, server_id, token)


def _write_reachability(
    cursor: Any, rows: Sequence[Answered | Failed], last_poll: dict[int, LastPoll]
) -> dict[int, int]:
    """Extend each server's reachability run or start a new one; return the run ids."""
    stale = timedelta(seconds=settings.LIVE_STATE_STALE_SECONDS)
    backoff = timedelta(seconds=settings.RCON_AUTH_BACKOFF_SECONDS)
    runs: dict[int, int] = {}
    touch: list[tuple[datetime, int]] = []
    new: list[ReachabilityRun] = []
    for row in rows:
        outcome = OUTCOME_OF_STATE[row.state]  # type: ignore[index]
        last = last_poll.get(row.server_id)
        if (
            last
            and last.run_id
            and continues(last, outcome, row.polled_at, stale=stale, auth_backoff=backoff)
        ):
            touch.append((row.polled_at, last.run_id))
            runs[row.server_id] = last.run_id
        else:
            new.append(
                ReachabilityRun(
                    server_id=row.server_id,
                    outcome=outcome,
                    started_at=row.polled_at,
                    last_seen_at=row.polled_at,
                )
            )
    _executemany(cursor, TOUCH_RUNS, touch)
    for created in ReachabilityRun.objects.bulk_create(new, batch_size=IN_BATCH):
        runs[created.server_id] = created.pk
    return runs


def _insert_sessions(changes: dict[int, Changes]) -> None:
    rows = [
        PlayerSession(
            server_id=server_id,
            steam_id_64=new.steam_id_64,
            joined_at=new.joined_at,
            last_seen_at=new.seen_at,
            name_at_join=new.name[:128],
            min_ping=new.ping,
            max_ping=new.ping,
        )
        for server_id, c in changes.items()
        for new in c.open
    ]
    # A session another worker opened meanwhile wins; ours is dropped, not doubled.
    PlayerSession.objects.bulk_create(rows, batch_size=IN_BATCH, ignore_conflicts=True)


def _insert_snapshots(changes: dict[int, Changes], observed: dict[int, datetime]) -> dict[int, int]:
    """Start the new runs; return each server's new snapshot id."""
    rows = [
        LiveStateSnapshot(
            server_id=server_id,
            started_at=observed[server_id],
            last_seen_at=observed[server_id],
            players=s.players,
            max_players=s.max_players,
            bots=s.bots,
            map=s.map[:64],
            hibernating=s.hibernating,
        )
        for server_id, c in changes.items()
        if (s := c.snapshot_new) is not None
    ]
    created = LiveStateSnapshot.objects.bulk_create(rows, batch_size=IN_BATCH)
    return {row.server_id: row.pk for row in created}
