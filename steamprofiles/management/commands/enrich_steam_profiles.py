"""Resolve due SteamIDs (or every known one) to Steam names and avatars.

The same service as the beat task, run in-process with a progress bar:
useful after setting the API key, or to refresh everything with --all.
"""

from __future__ import annotations

from typing import Any, TextIO

from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from left4me.commands import OpsCommand
from steamprofiles import services


class ProgressBar:
    """A tqdm bar that appears only once there is something to ask."""

    def __init__(self, file: TextIO) -> None:
        self.file = file
        self.bar: tqdm | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = tqdm(total=total, unit="id", desc="SteamIDs", file=self.file)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Command(OpsCommand):
    help = "Fetch Steam names and avatars of current players due a refresh (--all: every ID)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            dest="all_known",
            help="refresh every SteamID ever seen or cached, ignoring the TTL",
        )

    def handle(self, *args: Any, all_known: bool, **options: Any) -> None:
        # tqdm redraws with "\r"; the raw stream keeps Django from appending newlines.
        bar = ProgressBar(self.stderr._out)  # type: ignore[arg-type]  # stubs omit ._out
        try:
            report = services.enrich_steam_profiles(all_known=all_known, progress=bar)
        finally:
            bar.close()
        if report.problem:
            done = f"{report.summary()}; " if report.calls else ""
            raise CommandError(done + report.problem)
        if not report.due:
            self.stdout.write("Nothing to do: every current player's profile is fresh.")
            return
        self.stdout.write(report.summary() + ".")
