"""Erase one SteamID's sessions and Steam profile, for a privacy request.

The same service as the admin's "forget these players"; the admin log
records it under --user (default: the only superuser).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from left4me.commands import OpsCommand
from steamprofiles import privacy

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class Command(OpsCommand):
    help = (
        "Forget a player: delete every session of STEAM_ID_64 on every server and its Steam "
        "profile, recorded in the admin log. A player still connected is recorded again by "
        "the next poll."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("steam_id_64", help="the player's SteamID64 (17 digits, 765611…)")
        parser.add_argument(
            "--user", help="whose name the admin log records (default: the only superuser)"
        )
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args: Any, steam_id_64: str, user: str | None, yes: bool, **_: Any) -> None:
        try:
            preview = privacy.footprint(steam_id_64)
        except privacy.InvalidSteamID as error:
            raise CommandError(f"{error}; nothing changed.") from None
        actor = self.actor(user)
        if preview.empty:
            self.stdout.write(f"Nothing stored for {steam_id_64}; nothing to forget.")
            return
        self.stdout.write(f"{steam_id_64}: {preview.summary()}.")
        if not yes:
            self.confirm()
        report = privacy.forget_player(steam_id_64, actor=actor)
        self.stdout.write(
            f"Forgot player {steam_id_64}: erased {report.summary()}; "
            f"recorded in the admin log as {actor.get_username()}."
        )
        if report.playing_on:
            self.stdout.write(
                f"Note: {steam_id_64} was playing on {', '.join(report.playing_on)}: the next "
                "poll records them again. Run this again once they left."
            )

    def actor(self, username: str | None) -> AbstractBaseUser:
        """The user the admin log names: --user, else the one superuser."""
        users = get_user_model()._default_manager.filter(is_active=True)
        if username is not None:
            found = users.filter(**{get_user_model().USERNAME_FIELD: username}).first()
            if found is None or not found.is_staff:
                raise CommandError(f"No active staff user named {username!r}; nothing changed.")
            return found
        superusers = list(users.filter(is_superuser=True)[:2])
        if len(superusers) == 1:
            return superusers[0]
        which = "no active superuser" if not superusers else "several superusers"
        raise CommandError(
            f"There is {which} to record this under: pass --user USERNAME; nothing changed."
        )

    def confirm(self) -> None:
        if not sys.stdin.isatty():
            raise CommandError(
                "Not confirmed: pass --yes to run without a prompt; nothing changed."
            )
        answer = input("Erase this for good? Type 'yes' to continue: ")
        if answer.strip().lower() != "yes":
            raise CommandError("Cancelled; nothing changed.")
