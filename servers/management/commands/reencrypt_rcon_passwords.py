"""Re-encrypt every RCON password with the first key (the middle step of key rotation)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from left4me.commands import OpsCommand
from servers.encryption import BATCH_SIZE, Reencryption, reencrypt_rcon_passwords

SHOWN_IDS = 20


class Command(OpsCommand):
    help = (
        "Re-encrypt every stored RCON password with the first key of RCON_PASSWORD_KEYS. "
        "Rotation: prepend a new key, run this, then drop the old key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=BATCH_SIZE, help="rows per transaction"
        )

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        done = reencrypt_rcon_passwords(batch_size=batch_size, progress=self._progress)
        self.stdout.write(
            f"Re-encrypted {done.reencrypted} RCON password(s) with the first key"
            + (f"; {done.changed_meanwhile} rotated meanwhile" if done.changed_meanwhile else "")
            + "."
        )
        if done.undecryptable:
            raise CommandError(_undecryptable(done.undecryptable))

    def _progress(self, done: Reencryption) -> None:
        seen = done.reencrypted + done.changed_meanwhile + len(done.undecryptable)
        self.stdout.write(f"  {seen} row(s) done, {len(done.undecryptable)} undecryptable")


def _undecryptable(ids: list[int]) -> str:
    shown = ", ".join(str(pk) for pk in ids[:SHOWN_IDS]) + (", ..." if len(ids) > SHOWN_IDS else "")
    return (
        f"{len(ids)} RCON password(s) could not be decrypted with any key in "
        f"RCON_PASSWORD_KEYS and were left unchanged (server ids {shown}). Add back the key "
        "they were encrypted with and run this again, or rotate those passwords."
    )
