"""Key rotation for the encrypted RCON passwords: re-encrypt every row with the first key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, models, transaction
from django.db.models.functions import Cast

from servers.fields import keyring
from servers.models import Server

BATCH_SIZE = 500


@dataclass(slots=True)
class Reencryption:
    """What a re-encryption did so far."""

    reencrypted: int = 0
    changed_meanwhile: int = 0  # rotated while we worked: already under the first key
    undecryptable: list[int] = field(default_factory=list)  # server ids, left unchanged


def reencrypt_rcon_passwords(
    *, batch_size: int = BATCH_SIZE, progress: Callable[[Reencryption], None] | None = None
) -> Reencryption:
    """Re-encrypt each stored password with the first key of RCON_PASSWORD_KEYS.

    One transaction per batch of rows, in id order. A row no configured key
    opens is left as it is and its server id reported, so adding the missing
    key back and running again finishes the job.
    """
    done = Reencryption()
    after = 0
    while rows := _tokens(after, batch_size):
        after = rows[-1][0]
        with transaction.atomic():
            for pk, token in rows:
                _reencrypt(pk, token, done)
        if progress:
            progress(done)
    return done


def _tokens(after: int, limit: int) -> list[tuple[int, str]]:
    """The raw ciphertexts (the Cast skips the field's decryption) of the next rows."""
    rows = (
        Server.objects.filter(pk__gt=after)
        .exclude(rcon_password="")
        .order_by("pk")
        .annotate(token=Cast("rcon_password", models.TextField()))
        .values_list("pk", "token")
    )
    return list(rows[:limit])


def _reencrypt(pk: int, token: str, done: Reencryption) -> None:
    new = keyring().rotate(token)
    if new is None:
        done.undecryptable.append(pk)
    elif _replace(pk, token, new):
        done.reencrypted += 1
    else:
        done.changed_meanwhile += 1


def _replace(pk: int, old: str, new: str) -> bool:
    """Compare-and-set on the raw column: a password rotated since we read it is kept.

    Raw SQL because the ORM would encrypt `new` again and cannot compare ciphertexts.
    """
    quote = connection.ops.quote_name
    table, column = Server._meta.db_table, "rcon_password"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(table)} SET {quote(column)} = %s "  # noqa: S608 (quoted names)
            f"WHERE {quote('id')} = %s AND {quote(column)} = %s",
            [new, pk, old],
        )
        return cursor.rowcount == 1
