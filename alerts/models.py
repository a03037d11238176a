"""Alert rules per server, the deliveries they cause, and the evaluator's join cursor."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from servers.fields import EncryptedPasswordField


class Event(models.TextChoices):
    DOWN = "down", "Server down"
    UP = "up", "Server back up"
    PASSWORD_REJECTED = "password_rejected", "RCON password rejected"
    PLAYERS_AT_LEAST = "players_at_least", "Players at least N"
    PLAYERS_AT_MOST = "players_at_most", "Players at most N"
    PLAYER_JOINED = "player_joined", "Player joined"


THRESHOLD_EVENTS = frozenset({Event.PLAYERS_AT_LEAST, Event.PLAYERS_AT_MOST})
TEST_EVENT = "test"  # a delivery the owner or ops asked for; never a rule's event


class Format(models.TextChoices):
    DISCORD = "discord", "Discord webhook"
    JSON = "json", "JSON (signed with the secret, if any)"


class AlertRule(models.Model):
    """Tell a webhook when `event` happens on `server`.

    The URL carries the destination's token: it is stored encrypted (the RCON
    password keys) and shown only as `url_hint` (scheme://host/…last 4)
    after saving. `destination` (the host) is kept in clear for the
    per-destination rate limit and the admin's list.

    The evaluator's memory of the rule (see alerts/judge.py) lives in the
    `watch_from`…`session_floor` fields; resuming a paused rule resets it.
    """

    server = models.ForeignKey(
        "servers.Server", on_delete=models.CASCADE, related_name="alert_rules"
    )
    event = models.CharField(max_length=24, choices=Event.choices)
    url = EncryptedPasswordField(editable=False)
    url_hint = models.CharField(max_length=300, editable=False)
    destination = models.CharField(max_length=253, editable=False)
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.DISCORD)
    threshold = models.PositiveSmallIntegerField(null=True, blank=True)
    steam_id_64 = models.CharField(max_length=20, blank=True, default="")
    secret = EncryptedPasswordField(blank=True, default="", editable=False)
    enabled = models.BooleanField(default=True)
    # Set when deliveries have failed for ALERT_PAUSE_AFTER_SECONDS: the rule
    # stops alerting until someone resumes it; the owner reads why.
    paused_reason = models.CharField(max_length=300, blank=True, default="")
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    # --- the evaluator's memory (alerts/judge.py) ---
    watch_from = models.DateTimeField(null=True, blank=True, editable=False)
    outage_since = models.DateTimeField(null=True, blank=True, editable=False)
    armed = models.BooleanField(null=True, blank=True, editable=False)
    rearm_since = models.DateTimeField(null=True, blank=True, editable=False)
    session_floor = models.BigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["server", "id"]
        indexes = [models.Index(fields=["enabled", "paused_reason"], name="alertrule_active_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.describe()} → {self.url_hint}"

    def describe(self) -> str:
        if self.event == Event.PLAYERS_AT_LEAST:
            return f"players ≥ {self.threshold}"
        if self.event == Event.PLAYERS_AT_MOST:
            return f"players ≤ {self.threshold}"
        if self.event == Event.PLAYER_JOINED:
            return f"player {self.steam_id_64} joins"
        return str(Event(self.event).label).lower()

    @property
    def active(self) -> bool:
        return self.enabled and not self.paused_reason


class Delivery(models.Model):
    """One occurrence of a rule's event, to be sent once at most.

    (rule, event_key) is unique: whoever evaluates, one occurrence is one row.
    A worker claims a row with a compare-and-set (pending → sending, with a
    lease) before sending; a row still `sending` after its lease was lost
    mid-send and becomes `abandoned`, never sent again: at most once.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        ABANDONED = "abandoned", "Abandoned"

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=24)
    event_key = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    payload = models.JSONField()  # the facts; the body is rendered from them when sent
    destination = models.CharField(max_length=253)  # the rule's host when queued
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")  # our words only
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "event_key"], name="one_delivery_per_occurrence"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["destination", "last_attempt_at"], name="delivery_rate_idx"),
            models.Index(fields=["rule", "-id"], name="delivery_rule_latest_idx"),
            models.Index(fields=["created_at"], name="delivery_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk}: {self.status}"


class JoinCursor(models.Model):
    """How far the evaluator has read PlayerSession ids (one row, key "sessions").

    Ids are handed out before commit, so on PostgreSQL a lower id can become
    visible after a higher one. `position` only moves to a `candidate` (the
    highest id seen) once that was seen SETTLE_SECONDS ago, by when every
    transaction that held a lower id has finished; rows above `position` are
    read again meanwhile, and the unique occurrence key drops the repeats.
    """

    key = models.CharField(primary_key=True, max_length=16, default="sessions")
    position = models.BigIntegerField(default=0)
    candidate = models.BigIntegerField(default=0)
    candidate_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.position}"
