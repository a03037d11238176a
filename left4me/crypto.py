"""Fernet keys for secrets stored in the database, and the helpers that use them.

Keys live outside the database (environment or a file under var/), so a
copy of the database alone does not give away the RCON passwords in it.
Several keys may be configured: the first encrypts, every one decrypts
(MultiFernet), which is what makes key rotation possible.

No key ever reaches a log line, an exception message or a repr: errors name
a key by its position, never by its value.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TypeGuard

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from left4me.env import EnvError, persistent_secret

# The poller decrypts every server's password each tick: ~16 us per Fernet
# token, 80 ms for 5,000 servers on the reference machine, so decryptions
# are cached by ciphertext (a rotated password is a new ciphertext).
DECRYPT_CACHE_SIZE = 20_000


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def parse_keys(raw: str, *, source: str) -> list[str]:
    """Comma-separated Fernet keys, each checked; `source` names where they came from."""
    keys = [item.strip() for item in raw.split(",") if item.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise EnvError(
                f"{source}: key {position} of {len(keys)} is not a Fernet key (44 characters "
                "of URL-safe base64; python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())' makes one)"
            ) from None
    return keys


def configured_keys(raw: str, *, key_file: Path) -> list[str]:
    """The keys RCON_PASSWORD_KEYS lists, else the one in `key_file` (generated on first use)."""
    keys = parse_keys(raw, source="RCON_PASSWORD_KEYS")
    if not keys:
        keys = parse_keys(persistent_secret(key_file, generate_key), source=str(key_file))
    if not keys:
        raise EnvError(f"{key_file} is empty: put a Fernet key in it, or delete it for a new one")
    return keys


class Undecryptable(str):
    """What an encrypted column holds when no configured key opens it.

    It equals "" (no password), so nothing sends or renders a wrong password,
    and it keeps the ciphertext so saving the row writes it back unchanged:
    restoring the missing key later recovers the password.
    """

    token: str

    def __new__(cls, token: str) -> Undecryptable:
        marker = super().__new__(cls, "")
        marker.token = token
        return marker

    def __repr__(self) -> str:
        return "<undecryptable secret>"


class Keyring:
    """Encrypts with the first key, decrypts with any (a MultiFernet that never shows its keys)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise EnvError("no encryption key configured")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self.size = len(keys)
        self._decrypt = functools.lru_cache(maxsize=DECRYPT_CACHE_SIZE)(self._decrypt_uncached)

    def __repr__(self) -> str:
        return f"<Keyring of {self.size} key(s)>"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plaintext, or an Undecryptable marker when no key opens the token."""
        plaintext = self._decrypt(token)
        return Undecryptable(token) if plaintext is None else plaintext

    def opens(self, token: str) -> bool:
        """Whether some configured key decrypts the token."""
        return self._decrypt(token) is not None

    def rotate(self, token: str) -> str | None:
        """The token re-encrypted with the first key, or None when no key opens it."""
        try:
            return self._fernet.rotate(token.encode("utf-8")).decode("ascii")
        except (InvalidToken, ValueError):
            return None

    def _decrypt_uncached(self, token: str) -> str | None:
        try:
            return self._fernet.decrypt(token.encode("utf-8")).decode("utf-8")
        except (InvalidToken, ValueError):  # ValueError: not even base64 / UTF-8
            return None


@functools.lru_cache(maxsize=4)
def keyring(keys: tuple[str, ...]) -> Keyring:
    """One Keyring (and one decryption cache) per key list, shared by the whole process."""
    return Keyring(keys)


def is_undecryptable(value: object) -> TypeGuard[Undecryptable]:
    return isinstance(value, Undecryptable)
