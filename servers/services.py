"""Server logic shared by views, the admin and management commands."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from servers.models import PasswordRotation, Server
from servers.passwords import generate_rcon_password

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.forms import ModelForm

logger = logging.getLogger(__name__)

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


def record_secret_access(*, actor: User, server: Server, message: str) -> None:
    """One admin-log row saying who used a server's secret, never the secret itself.

    The owner's uses count too: the log answers "who may know this password?".
    """
    LogEntry.objects.log_actions(
        user_id=actor.pk,
        queryset=[server],
        action_flag=CHANGE,
        change_message=message,
        single_object=True,
    )


def download_server_cfg(*, server: Server, actor: User) -> str:
    """server.cfg for `actor` to download; recorded, since it carries the password."""
    record_secret_access(
        actor=actor, server=server, message="Downloaded server.cfg (RCON password)"
    )
    return render_server_cfg(server=server)


@transaction.atomic
def save_server(*, form: ModelForm[Server], actor: User) -> Server:
    """Save a valid edit form of an existing server; a new host or port is recorded.

    The poller sends the password to the new address, so moving a server is a
    disclosure: it takes the powers to edit and to see the password (Powers.move).
    """
    server = form.instance  # validation already copied the new values onto it
    rows = Server.objects.select_for_update().filter(pk=server.pk)
    before = "{}:{}".format(*rows.values_list("host", "port").get())
    moved = server.address != before
    if moved and not server.powers_of(actor).move:
        raise PermissionDenied("Moving this server needs the permission to see its password.")
    form.save()
    if moved:
        message = f"Changed host from {before} to {server.address}"
        record_secret_access(actor=actor, server=server, message=message)
    return server


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
def rotate_rcon_password(
    *, server: Server, actor: User | None = None, now: datetime | None = None
) -> Server:
    """Give the server a fresh password; the poller uses it once any auth back-off ends.

    Raises RotationLimited past ROTATIONS_PER_WINDOW in ROTATION_WINDOW. The
    server row is locked first, so two concurrent rotations count each other.
    A rotation by a user goes in the admin log; the admin log needs a user, so
    one without (the management command) is only a log line.
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
    if actor is not None:
        record_secret_access(actor=actor, server=server, message="Rotated the RCON password")
    by = f"by user {actor.get_username()}" if actor else "with no user (a management command)"
    logger.info("Rotated the RCON password of server %s (%s) %s", server.pk, server.name, by)
    return server
