"""What polling saw: the current state of each server, its run-length-encoded
history (snapshots) and true player sessions."""

from __future__ import annotations

from django.db import models


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


class PlayerSessionQuerySet(models.QuerySet["PlayerSession"]):
    def open(self) -> PlayerSessionQuerySet:
        return self.filter(left_at__isnull=True)

    def closed(self) -> PlayerSessionQuerySet:
        return self.filter(left_at__isnull=False)


class PlayerSession(models.Model):
    """One continuous connection of a player to a server.

    `last_seen_at` is the last poll that saw the player; a session closes
    there, or just before a newer connection of the player began (never
    later than the truth can be).
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
    # Added into PlayerTotal and PlayerName (livestate.player_totals) once final:
    # closed for longer than the poller may re-open it. Retention deletes only
    # folded sessions, so the totals outlive the sessions.
    folded = models.BooleanField(default=False, db_default=False)

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
            # Every session of one SteamID, newest first (id breaks ties, as the
            # player page orders them). With server_id, a page or a count of
            # those on the servers a viewer may see skips rows in the index alone.
            models.Index(
                fields=["steam_id_64", "-joined_at", "id", "server_id"],
                name="session_steam_id_idx",
            ),
            # Retention deletes of closed sessions by age.
            models.Index(fields=["left_at"], name="session_left_at_idx"),
            # A player's sessions not yet in their totals (open or recent: a few).
            models.Index(
                fields=["steam_id_64"],
                condition=models.Q(folded=False),
                name="session_unfolded_steam_idx",
            ),
            # Sessions waiting to be folded, oldest first.
            models.Index(
                fields=["left_at"],
                condition=models.Q(folded=False),
                name="session_unfolded_left_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_at_join} ({self.steam_id_64})"


class PlayerTotal(models.Model):
    """A player's lifetime on one server: what their folded sessions add up to.

    Sessions are kept LIVE_STATE_HISTORY_DAYS; these rows are kept until the
    player is forgotten, so a player page reads a few rows, not every session
    ever (`livestate.player_totals` adds final sessions in; the page adds the
    unfolded ones at read time).
    """

    steam_id_64 = models.CharField(max_length=20)
    server = models.ForeignKey(
        "servers.Server", on_delete=models.CASCADE, related_name="player_totals"
    )
    sessions = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)
    first_joined_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()  # when the newest folded session ended

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["steam_id_64", "server"], name="player_total_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.steam_id_64} on {self.server_id}"


class PlayerName(models.Model):
    """An in-game name a player joined one server under, and when they last did.

    Per server, like the totals: a name used only where players are hidden
    must not show on the player's public page.
    """

    steam_id_64 = models.CharField(max_length=20)
    server = models.ForeignKey("servers.Server", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=128)
    last_used_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["steam_id_64", "server", "name"], name="player_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.steam_id_64})"


class LiveStatus(models.Model):
    """The one home of a server's live state: what the poller last saw of it.

    One row per server, rewritten by every poll in the same batch as the
    history. Pages, the admin and the JSON read it with a join, never a
    group-by over the history. The last answer's values also decide run-length
    encoding: `snapshot` is the history row that run continues in.

    `lease_until`/`lease_token`: a poll claims its servers with a
    compare-and-set update before it queries them, so two workers never poll
    one server at once, and a worker killed mid-poll blocks its servers only
    until the lease ends.
    """

    class State(models.TextChoices):
        UNKNOWN = "unknown", "Unknown"
        RUNNING = "running", "Running"
        UNREACHABLE = "unreachable", "Unreachable"
        AUTH_FAILED = "auth_failed", "RCON password rejected"
        ERROR = "error", "Error"
        REFUSED = "refused", "Address not allowed"

    server = models.OneToOneField(
        "servers.Server", on_delete=models.CASCADE, primary_key=True, related_name="live_status"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.UNKNOWN)
    polled_at = models.DateTimeField(null=True, blank=True, help_text="Last poll, answered or not.")
    answered_at = models.DateTimeField(null=True, blank=True, help_text="Last answer.")
    error = models.TextField(blank=True, default="")
    players = models.PositiveSmallIntegerField(default=0)
    max_players = models.PositiveSmallIntegerField(default=0)
    bots = models.PositiveSmallIntegerField(default=0)
    map = models.CharField(max_length=64, blank=True, default="")
    hibernating = models.BooleanField(default=False)
    # The run the last answer belongs to; no constraint, so retention can
    # delete history quickly (a pruned run is long over and never extended).
    snapshot = models.ForeignKey(
        LiveStateSnapshot,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    # The reachability run the last poll belongs to (same shape as `snapshot`).
    reachability = models.ForeignKey(
        "ReachabilityRun",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    # Auth back-off: srcds bans an IP after repeated wrong passwords, so after a
    # rejected login the server is not tried again until the back-off ends
    # (a password rotation does not end it: SPEC 13).
    auth_failed_at = models.DateTimeField(null=True, blank=True)
    # New sessions this server may still open (a token bucket refilled at
    # SESSION_OPENS_PER_MINUTE): a hostile roster cannot flood the history.
    session_allowance = models.FloatField(default=64)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        verbose_name_plural = "live statuses"

    def __str__(self) -> str:
        return f"{self.server_id}: {self.state}"


class ReachabilityRun(models.Model):
    """One run of identical poll outcomes for a server: answered, or failed for
    one reason. Run-length encoded like snapshots: a poll with the outcome of
    the server's last poll, within LIVE_STATE_STALE_SECONDS of it (the auth
    back-off after a rejected password), only moves `last_seen_at`.

    Only servers meant to be running are polled, so the runs cover exactly the
    time a server was meant to run: uptime and outages come from them.
    """

    class Outcome(models.TextChoices):
        ANSWERED = "answered", "Answered"
        UNREACHABLE = "unreachable", "Unreachable"
        AUTH_FAILED = "auth_failed", "Password rejected"
        ERROR = "error", "Invalid reply"
        REFUSED = "refused", "Address not allowed"

    server = models.ForeignKey(
        "servers.Server", on_delete=models.CASCADE, related_name="reachability", db_index=False
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["server", "last_seen_at"], name="reach_server_seen_idx"),
            models.Index(fields=["last_seen_at"], name="reach_last_seen_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.server_id}: {self.outcome} {self.started_at:%Y-%m-%d %H:%M:%S}"


class Rollup(models.Model):
    """What a server's history adds up to over one period, kept longer than the
    raw history (LIVE_STATE_ROLLUP_DAYS): the long charts and statistics read
    these, never a year of snapshots.

    Times are seconds: `answered_seconds` / `expected_seconds` is the uptime
    (time answering / time meant to be running), `player_seconds` /
    `answered_seconds` the average player count.
    """

    server = models.ForeignKey("servers.Server", on_delete=models.CASCADE, related_name="+")
    player_seconds = models.FloatField(default=0)
    answered_seconds = models.FloatField(default=0)
    expected_seconds = models.FloatField(default=0)
    peak = models.PositiveSmallIntegerField(default=0)
    unique_players = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    @property
    def average_players(self) -> float | None:
        return self.player_seconds / self.answered_seconds if self.answered_seconds else None


class HourlyRollup(Rollup):
    """One server's UTC hour (`hour` is its start)."""

    hour = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["server", "hour"], name="hourly_rollup_unique"),
        ]
        indexes = [models.Index(fields=["hour"], name="hourly_rollup_hour_idx")]

    def __str__(self) -> str:
        return f"{self.server_id}: {self.hour:%Y-%m-%d %H}:00"


class DailyRollup(Rollup):
    """One server's UTC day: unique players of a day are not a sum of hours."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["server", "day"], name="daily_rollup_unique"),
        ]
        indexes = [models.Index(fields=["day"], name="daily_rollup_day_idx")]

    def __str__(self) -> str:
        return f"{self.server_id}: {self.day:%Y-%m-%d}"


class PollProgress(models.Model):
    """When polling last moved: the liveness signal behind /healthz and the pages.

    One row (key "poll"). The dispatcher stamps `dispatched_at` each tick; each
    chunk stamps `finished_at` after it stored its results (a tick with nothing
    to poll finishes at dispatch). A worker that answers `ping` while its pool
    is stuck leaves `finished_at` behind, and that is what health checks see.
    """

    key = models.CharField(primary_key=True, max_length=16, default="poll")
    dispatched_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name_plural = "poll progress"

    def __str__(self) -> str:
        return (
            f"{self.key}: finished {self.finished_at:%Y-%m-%d %H:%M:%S}"
            if self.finished_at
            else self.key
        )
