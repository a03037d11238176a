"""Encrypt every stored RCON password with RCON_PASSWORD_KEYS (reversible).

Works on the raw column through the schema editor's connection: once the
column is an EncryptedPasswordField the ORM would try to decrypt the
plaintext rows. Forward skips a row some configured key already opens, so
running it twice encrypts nothing twice. Backward decrypts every row or,
if any row is unreadable with the configured keys, changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import migrations, models

import servers.fields
import servers.passwords
from left4me import crypto

BATCH = 500


def _rows(schema_editor, table: str) -> list[tuple[int, str]]:
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('id')}, {quote('rcon_password')} FROM {quote(table)} "
            f"WHERE {quote('rcon_password')} <> '' ORDER BY {quote('id')}"
        )
        return list(cursor.fetchall())


def _write(schema_editor, table: str, values: list[tuple[str, int]]) -> None:
    quote = schema_editor.quote_name
    sql = f"UPDATE {quote(table)} SET {quote('rcon_password')} = %s WHERE {quote('id')} = %s"
    with schema_editor.connection.cursor() as cursor:
        for start in range(0, len(values), BATCH):
            cursor.executemany(sql, values[start : start + BATCH])


def _convert(apps, schema_editor, convert: Callable[[crypto.Keyring, str], str | None]) -> None:
    table = apps.get_model("servers", "Server")._meta.db_table
    keyring = crypto.keyring(tuple(settings.RCON_PASSWORD_KEYS))
    values = [(convert(keyring, raw), pk) for pk, raw in _rows(schema_editor, table)]
    failed = sum(1 for new, _ in values if new is None)
    if failed:
        raise RuntimeError(
            f"{failed} RCON password(s) cannot be decrypted with RCON_PASSWORD_KEYS: configure "
            "the key they were encrypted with, then migrate again (nothing was changed)"
        )
    _write(schema_editor, table, [(new, pk) for new, pk in values if new is not None])


def _encrypted(keyring: crypto.Keyring, raw: str) -> str:
    return raw if keyring.opens(raw) else keyring.encrypt(raw)


def _decrypted(keyring: crypto.Keyring, raw: str) -> str | None:
    plaintext = keyring.decrypt(raw)
    return None if crypto.is_undecryptable(plaintext) else plaintext


def encrypt_passwords(apps, schema_editor) -> None:
    _convert(apps, schema_editor, _encrypted)


def decrypt_passwords(apps, schema_editor) -> None:
    _convert(apps, schema_editor, _decrypted)


class Migration(migrations.Migration):
    dependencies = [("servers", "0010_server_permissions")]

    operations = [
        migrations.AlterField(
            model_name="server",
            name="rcon_password",
            field=servers.fields.EncryptedPasswordField(
                blank=True, default=servers.passwords.generate_rcon_password, editable=False
            ),
        ),
        migrations.RunPython(encrypt_passwords, decrypt_passwords),
    ]
