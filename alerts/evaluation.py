"""Turn what polling saw into deliveries: the work of `alerts.evaluate`.

livestate must not know about alerts, so this runs on its own beat entry and
reads what the poller wrote: each watched server's LiveStatus, and the
PlayerSession rows opened since the last run (for `player_joined`). The
decisions are alerts/judge.py's; this module loads, judges and writes: new
delivery rows (one per occurrence, whoever evaluates: the key is unique)
and each rule's memory, in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from alerts import judge
from alerts.models import AlertRule, Delivery, Event, JoinCursor
from livestate import progress
from livestate.models import LiveStatus, PlayerSession
from servers.models import Server

logger = logging.getLogger(__name__)

# Longer than any transaction that inserts sessions (a poll chunk's hard time limit).
SETTLE = timedelta(seconds=60)
SCAN_LIMIT = 5000
MEMORY_FIELDS = [f.name for f in fields(judge.Memory)]


class Join(NamedTuple):
    """A new session, as the join scan reads it."""

    pk: int
    server_id: int
    steam_id_64: str
    joined_at: datetime
    name_at_join: str


Found = tuple[judge.Occurrence, dict[str, str] | None]


@dataclass(frozen=True, slots=True)
class Evaluation:
    rules: int
    occurrences: int
    polling_alive: bool


def evaluate_alerts(*, now: datetime) -> Evaluation:
    """Judge every active rule once; store new occurrences as pending deliveries."""
    polling = progress.polling_state(now=now)
    ctx = judge.Context(
        now=now,
        down_after=timedelta(seconds=settings.ALERT_DOWN_AFTER_SECONDS),
        fresh_within=progress.stalled_after(),
        polling_alive=not polling.stalled,
    )
    rules = list(
        AlertRule.objects.filter(enabled=True, paused_reason="")
        .select_related("server", "server__live_status")
        .defer("url", "secret", "server__rcon_password")
        .order_by("pk")
    )
    joins = scan_joins(now=now, rules=[r for r in rules if r.event == Event.PLAYER_JOINED])
    rows: list[Delivery] = []
    changed: list[AlertRule] = []
    for rule in rules:
        status = live_status(rule.server)
        before = memory_of(rule)
        for occurrence, player in occurrences(rule, status, joins, ctx):
            rows.append(delivery_row(rule, status, occurrence, player, now=now))
        if memory_of(rule) != before:
            changed.append(rule)
    rows = unseen(rows)
    with transaction.atomic():
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)  # a racing evaluator's win
        for rule in changed:
            still_active = AlertRule.objects.filter(pk=rule.pk, enabled=True, paused_reason="")
            still_active.update(**{name: getattr(rule, name) for name in MEMORY_FIELDS})
    if rows:
        logger.info("alerts: %d occurrence(s) from %d rule(s)", len(rows), len(rules))
    return Evaluation(len(rules), len(rows), ctx.polling_alive)


def unseen(rows: list[Delivery]) -> list[Delivery]:
    """Rows whose occurrence is not stored yet (joins are read again until settled)."""
    if not rows:
        return rows
    keys = {row.event_key for row in rows}
    rule_ids = {row.rule_id for row in rows}
    stored = set(
        Delivery.objects.filter(rule_id__in=rule_ids, event_key__in=keys).values_list(
            "rule_id", "event_key"
        )
    )
    return [row for row in rows if (row.rule_id, row.event_key) not in stored]


def occurrences(
    rule: AlertRule,
    status: LiveStatus | None,
    joins: list[Join],
    ctx: judge.Context,
) -> list[Found]:
    if rule.event == Event.PLAYER_JOINED:
        return joined(rule, joins)
    memory = memory_of(rule)
    seen = observation(rule.server, status)
    found = judge.judge(rule.event, rule.threshold, memory, seen, ctx)
    for name in MEMORY_FIELDS:
        setattr(rule, name, getattr(memory, name))
    return [(found, None)] if found else []


def joined(rule: AlertRule, joins: list[Join]) -> list[Found]:
    """Sessions of the watched SteamID on the rule's server opened after the rule began."""
    found: list[Found] = []
    for row in joins:
        if (
            row.server_id == rule.server_id
            and row.steam_id_64 == rule.steam_id_64
            and row.pk > rule.session_floor
        ):
            player = {"steam_id_64": row.steam_id_64, "name": row.name_at_join}
            reason = f"{row.name_at_join or row.steam_id_64} joined"
            occurrence = judge.Occurrence(f"player_joined:{row.pk}", row.joined_at, reason, True)
            found.append((occurrence, player))
    return found


def scan_joins(*, now: datetime, rules: list[AlertRule]) -> list[Join]:
    """Sessions of watched SteamIDs above the cursor; moves the cursor (see JoinCursor)."""
    cursor, _ = JoinCursor.objects.get_or_create(key="sessions")
    latest = PlayerSession.objects.aggregate(latest=Max("pk"))["latest"] or 0
    found: list[Join] = []
    if rules:
        low = max(cursor.position, min(rule.session_floor for rule in rules))
        watched = {rule.steam_id_64 for rule in rules}
        sessions = PlayerSession.objects.filter(pk__gt=low, steam_id_64__in=watched)
        columns = sessions.order_by("pk").values_list(*Join._fields)[:SCAN_LIMIT]
        found = [Join(*row) for row in columns]
    if cursor.candidate_at is None or now - cursor.candidate_at >= SETTLE:
        position = cursor.candidate
        if len(found) == SCAN_LIMIT:  # never skip rows this scan could not reach
            position = min(position, found[-1].pk)
        JoinCursor.objects.filter(key=cursor.key).update(
            position=max(cursor.position, position), candidate=latest, candidate_at=now
        )
    return found


def live_status(server: Server) -> LiveStatus | None:
    try:
        return server.live_status
    except LiveStatus.DoesNotExist:
        return None


def observation(server: Server, status: LiveStatus | None) -> judge.Observation:
    wanted = server.desired_state == Server.DesiredState.RUNNING
    if status is None:
        return judge.Observation(wanted=wanted)
    return judge.Observation(
        wanted=wanted,
        state=status.state,
        polled_at=status.polled_at,
        answered_at=status.answered_at,
        auth_failed_at=status.auth_failed_at,
        players=status.players,
        error=status.error,
    )


def memory_of(rule: AlertRule) -> judge.Memory:
    return judge.Memory(**{name: getattr(rule, name) for name in MEMORY_FIELDS})


def delivery_row(
    rule: AlertRule,
    status: LiveStatus | None,
    occurrence: judge.Occurrence,
    player: dict[str, str] | None,
    *,
    now: datetime,
) -> Delivery:
    return Delivery(
        rule=rule,
        event=rule.event,
        event_key=occurrence.key[:100],
        occurred_at=occurrence.occurred_at,
        payload=payload(
            rule.server, status, event=rule.event, occurrence=occurrence, player=player
        ),
        destination=rule.destination,
        next_attempt_at=now,
        created_at=now,
    )


def payload(
    server: Server,
    status: LiveStatus | None,
    *,
    event: str,
    occurrence: judge.Occurrence,
    player: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The facts of one occurrence, as stored with its delivery (no URL, no secret)."""
    live = occurrence.live and status is not None and status.state == LiveStatus.State.RUNNING
    return {
        "event": event,
        "server": {
            "id": server.pk,
            "name": server.name,
            "address": server.address,
            "url": server_url(server),
        },
        "occurred_at": occurrence.occurred_at.isoformat(),
        "players": status.players if live and status else None,
        "max_players": status.max_players if live and status else None,
        "map": (status.map or None) if live and status else None,
        "reason": occurrence.reason,
        "player": player,
    }


def server_url(server: Server) -> str | None:
    base = settings.ALERT_PANEL_URL.rstrip("/")
    return f"{base}{server.get_absolute_url()}" if base else None
