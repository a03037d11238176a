"""A text column stored encrypted (Fernet), seen as plaintext by Python code."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import FieldError
from django.db import models
from django.db.models.lookups import Exact, IsNull, Lookup

from left4me import crypto


def keyring() -> crypto.Keyring:
    """The keyring of the configured RCON_PASSWORD_KEYS (one per key list, cached)."""
    return crypto.keyring(tuple(settings.RCON_PASSWORD_KEYS))


class EmptyOnlyExact(Exact):
    """`field=""` works (no password); any other value could never match.

    Each encryption of one plaintext gives a different ciphertext, so a
    lookup by plaintext would silently find nothing: refuse it instead.
    """

    def get_prep_lookup(self) -> Any:
        if isinstance(self.rhs, str) and self.rhs != "":
            raise FieldError("this field is stored encrypted: it can only be compared with ''")
        return super().get_prep_lookup()


class EncryptedPasswordField(models.TextField):
    """Holds a secret Fernet-encrypted with settings.RCON_PASSWORD_KEYS.

    Reading gives the plaintext str; "" stays "" in the column, so "has no
    password" remains a plain lookup. A value no configured key opens reads
    as crypto.Undecryptable: equal to "" for every caller (nothing sends or
    renders a wrong password), recognisable by the poller, and written back
    unchanged when its row is saved. A text column: the Fernet token of a
    64-character password is 184 characters.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        return keyring().decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, crypto.Undecryptable):
            return value.token
        value = super().get_prep_value(value)
        if not value:
            return value
        return keyring().encrypt(value)

    def get_lookup(self, lookup_name: str) -> type[Lookup[Any]] | None:
        if lookup_name == "exact":
            return EmptyOnlyExact
        if lookup_name == "isnull":
            return IsNull
        return None  # contains, startswith, in...: meaningless on ciphertext
