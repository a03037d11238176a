"""Lifetime totals per player: final sessions folded into PlayerTotal and PlayerName.

Sessions are kept LIVE_STATE_HISTORY_DAYS, and a SteamID can have 100,000 of
them; a player page must still show a lifetime and read a few rows. So every
session that can no longer change is added, once, into its player's totals on
its server (sessions, seconds, first and last seen) and names (when last
used); the page adds the few unfolded ones (open or just closed) at read time.

A session is final once the poller can no longer re-open or shorten it: it
only touches closed sessions that ended within a day of its poll
(`services.reconcile_results`), so one closed FINAL_AFTER ago never changes
again. Each batch adds its sessions and marks them folded in one transaction:
a crash leaves both or neither, and folding again adds nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, QuerySet, Sum

from livestate.models import PlayerName, PlayerSession, PlayerTotal
from livestate.sql import Seconds

# The poller's one day, and an hour to spare for a late or slow poll.
FINAL_AFTER = timedelta(hours=25)


def foldable(*, now: datetime) -> QuerySet[PlayerSession]:
    """Sessions final by `now` and not yet in the totals."""
    return PlayerSession.objects.filter(folded=False, left_at__lt=now - FINAL_AFTER)


def fold_final_sessions(*, now: datetime, batch: int = 5000) -> int:
    """Add every final session into the totals and mark it folded; return how many.

    Batches keep each transaction (and SQLite's write lock) short. Two folds
    at once (the rollup and the prune tasks) never add a session twice: on
    PostgreSQL each locks its batch and skips the other's; SQLite runs one
    writer at a time.
    """
    folded = 0
    while True:
        with transaction.atomic():
            ids = list(
                foldable(now=now)
                .order_by("left_at")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                return folded
            sessions = PlayerSession.objects.filter(pk__in=ids).order_by()
            _add_totals(sessions)
            _add_names(sessions)
            PlayerSession.objects.filter(pk__in=ids).update(folded=True)
        folded += len(ids)


def _add_totals(sessions: QuerySet[PlayerSession]) -> None:
    per_player = (
        sessions.values("steam_id_64", "server_id")
        .annotate(
            n=Count("id"),
            seconds=Sum(Seconds(F("left_at"), F("joined_at"))),
            first=Min("joined_at"),
            last=Max("left_at"),
        )
        .order_by("steam_id_64", "server_id")
    )
    _upsert(
        PlayerTotal,
        per_player,
        columns="steam_id_64, server_id, sessions, seconds, first_joined_at, last_seen_at",
        key="steam_id_64, server_id",
        updates={
            "sessions": "{old} + {new}",
            "seconds": "{old} + {new}",
            "first_joined_at": "{least}({old}, {new})",
            "last_seen_at": "{greatest}({old}, {new})",
        },
    )


def _add_names(sessions: QuerySet[PlayerSession]) -> None:
    per_name = (
        sessions.values("steam_id_64", "server_id", "name_at_join")
        .annotate(last=Max("joined_at"))
        .order_by("steam_id_64", "server_id", "name_at_join")
    )
    _upsert(
        PlayerName,
        per_name,
        columns="steam_id_64, server_id, name, last_used_at",
        key="steam_id_64, server_id, name",
        updates={"last_used_at": "{greatest}({old}, {new})"},
    )


def _upsert(
    model: type[PlayerTotal] | type[PlayerName],
    rows: QuerySet[Any, Any],
    *,
    columns: str,
    key: str,
    updates: dict[str, str],
) -> None:
    """INSERT the grouped rows; on a conflict add them into the stored row.

    One statement per table (INSERT … SELECT … ON CONFLICT DO UPDATE, which
    both databases speak), so no totals travel through Python. Rows go in key
    order, so two folds at once lock shared rows in the same order (no
    deadlock). `updates` map a column to its new value in terms of {old},
    {new}, {least} and {greatest}.
    """
    select, params = rows.query.get_compiler(connection=connection).as_sql()
    table = connection.ops.quote_name(model._meta.db_table)
    least, greatest = ("min", "max") if connection.vendor == "sqlite" else ("LEAST", "GREATEST")
    assignments = ", ".join(
        f"{column} = "
        + formula.format(
            old=f"{table}.{column}", new=f"excluded.{column}", least=least, greatest=greatest
        )
        for column, formula in updates.items()
    )
    # SQLite needs the SELECT to end in something other than a join (it does:
    # WHERE … GROUP BY … ORDER BY), or it would read ON CONFLICT as a join's ON.
    sql = f"INSERT INTO {table} ({columns}) {select} ON CONFLICT ({key}) DO UPDATE SET "
    with connection.cursor() as cursor:
        cursor.execute(sql + assignments, params)
