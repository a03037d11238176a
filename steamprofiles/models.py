"""Cached Steam profiles: persona name and avatar per SteamID64."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models

from steamprofiles.steam_api import allowed_avatar_url


def stale_before(now: datetime, ttl_seconds: int | None = None) -> datetime:
    """Profiles fetched at or before this moment are due to be asked again."""
    ttl = settings.STEAM_PROFILE_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    return now - timedelta(seconds=ttl)


class SteamProfileQuerySet(models.QuerySet["SteamProfile"]):
    def fresh(self, now: datetime, *, ttl_seconds: int | None = None) -> SteamProfileQuerySet:
        """Fetched within the TTL (resolved or not): not to be asked again yet."""
        return self.filter(fetched_at__gt=stale_before(now, ttl_seconds))

    def stale(self, now: datetime, *, ttl_seconds: int | None = None) -> SteamProfileQuerySet:
        return self.filter(fetched_at__lte=stale_before(now, ttl_seconds))

    def resolved(self) -> SteamProfileQuerySet:
        return self.filter(resolved=True)


class SteamProfile(models.Model):
    """What Steam said about a SteamID, and when.

    `resolved=False` marks an ID Steam left out of its reply (private,
    deleted, invalid): cached with the same TTL so it is not asked again
    every tick. It keeps the name and avatar we last saw, if any; without
    one, pages fall back to the in-game name.
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

    @property
    def safe_avatar_url(self) -> str:
        """The stored avatar if its host is still allowed (the setting may shrink), else ""."""
        return allowed_avatar_url(self.avatar_url, settings.STEAM_AVATAR_HOSTS)

    def display_name(self, fallback: str = "") -> str:
        """Steam's name, else `fallback` (e.g. the in-game name), else the SteamID."""
        return self.persona_name or fallback or self.steam_id_64


def profiles_for(steam_ids: Iterable[str]) -> dict[str, SteamProfile]:
    """Cached profiles of these SteamIDs in one query (absent IDs are missing keys)."""
    ids = {i for i in steam_ids if i}
    return SteamProfile.objects.order_by().in_bulk(ids) if ids else {}
