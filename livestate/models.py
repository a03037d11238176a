"""What polling saw: run-length-encoded snapshots and true player sessions."""

from __future__ import annotations

from django.db import models


class SnapshotQuerySet(models.QuerySet["LiveStateSnapshot"]):
    def latest_per_server(self, servers) -> SnapshotQuerySet:
        """The newest snapshot of each server in `servers` (ids or a pk queryset)."""
        newest = (
            self.filter(server_id__in=servers)
            .values("server_id")
            .annotate(newest=models.Max("id"))
            .values("newest")
        )
        return self.filter(id__in=newest)


class LiveStateSnapshot(models.Model):
    """One run of identical poll results for a server.

    A poll whose state equals the latest row only moves `last_seen_at`; a
    change (or a gap longer than LIVE_STATE_STALE_SECONDS) starts a new row,
    so the history is compact and gaps stay visible.
    """

    server = models.ForeignKey(
        "servers.Server", on_delete=models.CASCADE, related_name="snapshots", db_index=False
    )
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    players = models.PositiveSmallIntegerField()
    max_players = models.PositiveSmallIntegerField()
    bots = models.PositiveSmallIntegerField()
    map = models.CharField(max_length=64)
    hibernating = models.BooleanField()

    objects = SnapshotQuerySet.as_manager()

    class Meta:
        get_latest_by = "id"
        indexes = [
            # Latest snapshot per server (max id per server) and per-server ranges.
            models.Index(fields=["server", "id"], name="snapshot_server_id_idx"),
            models.Index(fields=["server", "last_seen_at"], name="snapshot_server_seen_idx"),
            # Retention deletes by age.
            models.Index(fields=["last_seen_at"], name="snapshot_last_seen_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.players}/{self.max_players} · {self.map}"

    def same_state(
        self, *, players: int, max_players: int, bots: int, map: str, hibernating: bool
    ) -> bool:
        return (self.players, self.max_players, self.bots, self.map, self.hibernating) == (
            players,
            max_players,
            bots,
            map,
            hibernating,
        )


class PlayerSessionQuerySet(models.QuerySet["PlayerSession"]):
    def open(self) -> PlayerSessionQuerySet:
        return self.filter(left_at__isnull=True)

    def closed(self) -> PlayerSessionQuerySet:
        return self.filter(left_at__isnull=False)


class PlayerSession(models.Model):
    """One continuous connection of a player to a server.

    `last_seen_at` is the last poll that saw the player; a session closes
    there (never later than the truth can be).
    """

    server = models.ForeignKey(
        "servers.Server", on_delete=models.CASCADE, related_name="player_sessions", db_index=False
    )
    steam_id_64 = models.CharField(max_length=20)
    joined_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    name_at_join = models.CharField(max_length=128)
    min_ping = models.PositiveIntegerField()
    max_ping = models.PositiveIntegerField()

    objects = PlayerSessionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["server", "steam_id_64"],
                condition=models.Q(left_at__isnull=True),
                name="one_open_session_per_player",
            ),
            models.CheckConstraint(
                condition=models.Q(left_at__isnull=True)
                | models.Q(left_at__gte=models.F("joined_at")),
                name="session_leaves_after_joining",
            ),
        ]
        indexes = [
            # Recent players of a server, newest first.
            models.Index(fields=["server", "-left_at"], name="session_server_left_idx"),
            # Every session of one SteamID.
            models.Index(fields=["steam_id_64", "-joined_at"], name="session_steam_id_idx"),
            # Retention deletes of closed sessions by age.
            models.Index(fields=["left_at"], name="session_left_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name_at_join} ({self.steam_id_64})"

    @property
    def is_open(self) -> bool:
        return self.left_at is None
