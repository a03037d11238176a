"""Forgetting a player on request: every session of a SteamID, the names in
them, its lifetime totals and names (livestate.player_totals), and its cached
Steam profile, erased in one transaction and recorded in the admin log under
whoever did it.

A player still connected is recorded again by the next poll (and their profile
fetched again): the server owner has to keep them off, or the request is
repeated once they left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from livestate.models import PlayerName, PlayerSession, PlayerTotal
from livestate.player_history import is_steam_id_64
from steamprofiles.models import SteamProfile

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class InvalidSteamID(ValueError):
    """Not the SteamID64 of a player account: nothing was looked up or erased."""

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(
            f"{value!r} is not a SteamID64 of a player account "
            "(17 digits, 76561197960265728 to 76561202255233023)"
        )


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """What is stored of one SteamID (a preview) or what was erased."""

    steam_id_64: str
    sessions: int
    servers: int
    profile: bool
    playing_on: tuple[str, ...]  # names of the servers with an open session
    totals: int = 0  # servers with lifetime totals (PlayerTotal rows)
    names: int = 0  # names kept with the totals (PlayerName rows)

    @property
    def empty(self) -> bool:
        return not (self.sessions or self.totals or self.names or self.profile)

    def summary(self) -> str:
        parts = []
        if self.sessions:
            parts.append(f"{self.sessions} session(s) on {self.servers} server(s)")
        if self.totals:
            parts.append(f"lifetime totals on {self.totals} server(s)")
        if self.names:
            parts.append(f"{self.names} name(s) kept with them")
        if self.profile:
            parts.append("the Steam profile")
        if len(parts) < 2:
            return "".join(parts) or "nothing"
        return ", ".join(parts[:-1]) + " and " + parts[-1]


def footprint(steam_id_64: str) -> ForgetReport:
    """What forget_player would erase for this SteamID now."""
    _check(steam_id_64)
    sessions = PlayerSession.objects.filter(steam_id_64=steam_id_64).order_by()
    counts = sessions.values("server_id").distinct().count(), sessions.count()
    playing = sessions.filter(left_at__isnull=True).values_list("server__name", flat=True)
    return ForgetReport(
        steam_id_64=steam_id_64,
        sessions=counts[1],
        servers=counts[0],
        profile=SteamProfile.objects.filter(pk=steam_id_64).exists(),
        playing_on=tuple(sorted(playing)),
        totals=PlayerTotal.objects.filter(steam_id_64=steam_id_64).count(),
        names=PlayerName.objects.filter(steam_id_64=steam_id_64).count(),
    )


def forget_player(steam_id_64: str, *, actor: AbstractBaseUser) -> ForgetReport:
    """Erase the SteamID's sessions (on every server), totals, names and profile;
    log it as `actor`.

    Nothing stored, nothing logged. Raises InvalidSteamID before touching anything.
    Sessions go first: a fold of them running at the same time holds them
    until it has added them into the totals, which are deleted after.
    """
    _check(steam_id_64)
    with transaction.atomic():
        report = footprint(steam_id_64)
        if report.empty:
            return report
        PlayerSession.objects.filter(steam_id_64=steam_id_64).delete()
        PlayerTotal.objects.filter(steam_id_64=steam_id_64).delete()
        PlayerName.objects.filter(steam_id_64=steam_id_64).delete()
        SteamProfile.objects.filter(pk=steam_id_64).delete()
        LogEntry.objects.create(
            user_id=actor.pk,
            content_type=ContentType.objects.get_for_model(SteamProfile),
            object_id=steam_id_64,
            object_repr=f"player {steam_id_64}",
            action_flag=DELETION,
            change_message=f"Forgot the player (privacy request): erased {report.summary()}.",
        )
    return report


def _check(steam_id_64: str) -> None:
    if not is_steam_id_64(steam_id_64):
        raise InvalidSteamID(steam_id_64)
