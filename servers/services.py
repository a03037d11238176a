"""Server logic shared by views, the admin and management commands."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from servers.models import Server
from servers.passwords import generate_rcon_password

RCON_PASSWORD_CVAR = "rcon_password"  # noqa: S105 (a cvar name, not a secret)


def _sets_rcon_password(line: str) -> bool:
    words = line.strip().split(None, 1)
    return bool(words) and words[0].strip("\"'").lower() == RCON_PASSWORD_CVAR


def render_server_cfg(*, server: Server) -> str:
    """Return server.cfg: blueprint lines, then the RCON password line last.

    Source cvars are last-wins, so the password line goes last and any
    blueprint line that sets rcon_password is dropped: nothing a blueprint
    says can change the password the panel polls with. Lines are split on
    embedded newlines first so a multi-line entry cannot smuggle one in.
    """
    blueprint_lines = server.blueprint.config_lines if server.blueprint else []
    lines = [
        line.rstrip()
        for entry in blueprint_lines
        for line in str(entry).splitlines()
        if not _sets_rcon_password(line)
    ]
    if server.rcon_password:
        lines.append(f'{RCON_PASSWORD_CVAR} "{server.rcon_password}"')
    return "\n".join(lines) + "\n"


@transaction.atomic
def rotate_rcon_password(*, server: Server) -> Server:
    """Give the server a fresh password; the poller picks it up next tick."""
    server.rcon_password = generate_rcon_password()
    server.updated_at = timezone.now()
    Server.objects.filter(pk=server.pk).update(
        rcon_password=server.rcon_password, updated_at=server.updated_at
    )
    return server
