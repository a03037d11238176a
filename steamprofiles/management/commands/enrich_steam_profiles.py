"""Resolve due SteamIDs (or every known one) to Steam names and avatars."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from steamprofiles import services


class Command(BaseCommand):
    help = "Fetch Steam names and avatars for players due a refresh (--all: every known ID)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all", action="store_true", dest="all_known", help="refresh every known SteamID"
        )

    def handle(self, *args, all_known: bool, **options) -> None:
        now = timezone.now()
        ids = services.due_steam_ids(now=now, all_known=all_known)
        with tqdm(total=len(ids), unit="id", file=self.stderr._out, disable=not ids) as bar:
            report = services.resolve(ids, now=now, progress=bar.update) if ids else None
        if report is None:
            self.stdout.write("Nothing to do: every profile is fresh.")
            return
        if report.skipped or report.error:
            raise CommandError(report.skipped or report.error)
        self.stdout.write(
            f"{report.due} SteamIDs, {report.calls} Steam call(s): "
            f"{report.stored} profiles stored, {report.unresolved} unresolved (private or deleted)."
        )
