"""Give every server that existed before RCON polling its own password.

Runs row by row on purpose: each server needs a distinct secret, and the
table is small (one row per game server).
"""

from __future__ import annotations

import secrets

from django.db import migrations


def backfill_passwords(apps, schema_editor) -> None:
    Server = apps.get_model("servers", "Server")
    for server in Server.objects.filter(rcon_password="").only("pk").iterator():
        Server.objects.filter(pk=server.pk).update(rcon_password=secrets.token_urlsafe(32))


class Migration(migrations.Migration):
    dependencies = [("servers", "0002_server_rcon_password")]

    operations = [migrations.RunPython(backfill_passwords, migrations.RunPython.noop)]
