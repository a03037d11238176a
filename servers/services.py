"""Server logic shared by views, the admin and management commands."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from servers.models import PasswordRotation, Server
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


# SPEC 13: each rotation can cost a failed login at whatever the server's
# address points to; at most this many per server per window.
ROTATIONS_PER_WINDOW = 5
ROTATION_WINDOW = timedelta(minutes=10)


class RotationLimited(Exception):
    """Too many rotations of this server lately; `retry_at` says when one is allowed."""

    def __init__(self, retry_at: datetime) -> None:
        self.retry_at = retry_at
        super().__init__(
            f"This password was rotated {ROTATIONS_PER_WINDOW} times in the last "
            f"{ROTATION_WINDOW.seconds // 60} minutes; try again after "
            f"{retry_at:%H:%M:%S} UTC."
        )


@transaction.atomic
def rotate_rcon_password(*, server: Server, now: datetime | None = None) -> Server:
    """Give the server a fresh password; the poller uses it once any auth back-off ends.

    Raises RotationLimited past ROTATIONS_PER_WINDOW in ROTATION_WINDOW. The
    server row is locked first, so two concurrent rotations count each other.
    """
    now = now or timezone.now()
    list(Server.objects.select_for_update().filter(pk=server.pk).values_list("pk", flat=True))
    recent = list(
        PasswordRotation.objects.filter(server=server, rotated_at__gt=now - ROTATION_WINDOW)
        .order_by("rotated_at")
        .values_list("rotated_at", flat=True)
    )
    if len(recent) >= ROTATIONS_PER_WINDOW:
        raise RotationLimited(recent[-ROTATIONS_PER_WINDOW] + ROTATION_WINDOW)
    server.rcon_password = generate_rcon_password()
    server.updated_at = now
    Server.objects.filter(pk=server.pk).update(
        rcon_password=server.rcon_password, updated_at=server.updated_at
    )
    PasswordRotation.objects.create(server=server, rotated_at=now)
    PasswordRotation.objects.filter(server=server, rotated_at__lte=now - ROTATION_WINDOW).delete()
    return server
