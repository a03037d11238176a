"""Cached Steam profiles: persona name and avatar per SteamID64."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models


class SteamProfileQuerySet(models.QuerySet["SteamProfile"]):
    def fresh(self, *, now: datetime, ttl_seconds: int) -> SteamProfileQuerySet:
        return self.filter(fetched_at__gt=now - timedelta(seconds=ttl_seconds))


class SteamProfile(models.Model):
    """What Steam said about a SteamID, and when.

    `resolved=False` marks an ID Steam left out of its reply (private,
    deleted, invalid): cached with the same TTL so it is not asked again
    every tick.
    """

    steam_id_64 = models.CharField(max_length=20, primary_key=True)
    persona_name = models.CharField(max_length=128, blank=True, default="")
    avatar_url = models.URLField(max_length=300, blank=True, default="")
    profile_url = models.URLField(max_length=300, blank=True, default="")
    resolved = models.BooleanField(default=True)
    fetched_at = models.DateTimeField(db_index=True)

    objects = SteamProfileQuerySet.as_manager()

    class Meta:
        ordering = ["persona_name", "steam_id_64"]

    def __str__(self) -> str:
        return self.persona_name or self.steam_id_64
