"""Game servers and the blueprints their server.cfg is rendered from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from servers.fields import EncryptedPasswordField
from servers.passwords import generate_rcon_password

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class Blueprint(models.Model):
    """Reusable launch arguments and server.cfg lines an owner applies to servers."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blueprints"
    )
    name = models.CharField(max_length=64)
    launch_arguments = models.JSONField(default=list, blank=True)
    config_lines = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], name="blueprint_unique_name_per_owner"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Perm(StrEnum):
    """Permissions that give a power over servers one does not own (superusers hold all).

    is_staff alone gives none: it opens the admin, and the admin asks for these too.
    VIEW_RCON_PASSWORD downloads server.cfg (it carries the password);
    CHANGE_SERVER edits, and moving a server takes both (see Powers.move).
    """

    VIEW_RCON_PASSWORD = "servers.view_rcon_password"  # noqa: S105 (a permission name)
    CHANGE_SERVER = "servers.change_server"
    ROTATE_RCON_PASSWORD = "servers.rotate_rcon_password"  # noqa: S105 (a permission name)


@dataclass(frozen=True, slots=True)
class Powers:
    """What one user may do to one server beyond seeing it: the owner controls."""

    download_cfg: bool
    edit: bool
    # A new host or port is where the poller sends the password next: moving a
    # server discloses its password, so it takes both permissions.
    move: bool
    rotate: bool

    @property
    def any(self) -> bool:
        return self.download_cfg or self.edit or self.rotate


class ServerQuerySet(models.QuerySet["Server"]):
    def visible_to(self, user: User | AnonymousUser) -> ServerQuerySet:
        """Listed servers for everyone, plus the user's own; staff see all."""
        if user.is_authenticated and user.is_staff:
            return self
        if user.is_authenticated:
            return self.filter(models.Q(listed=True) | models.Q(owner=user))
        return self.filter(listed=True)

    def players_visible_to(self, user: User | AnonymousUser) -> ServerQuerySet:
        """Servers whose players this user may see: listed with players public for
        everyone, plus the user's own; staff see all. The server page's rule
        (players_public or shows_private_details_to) over visible_to, as one filter."""
        if user.is_authenticated and user.is_staff:
            return self
        public = models.Q(listed=True, players_public=True)
        if user.is_authenticated:
            return self.filter(public | models.Q(owner=user))
        return self.filter(public)

    def manageable_by(self, user: User | AnonymousUser, perm: Perm) -> ServerQuerySet:
        """Servers on which the user has the power `perm` gives: their own, or all with it."""
        if not user.is_authenticated:
            return self.none()
        if user.has_perm(perm):
            return self
        return self.filter(owner=user)


class Server(models.Model):
    class DesiredState(models.TextChoices):
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="servers"
    )
    name = models.CharField(max_length=64)
    host = models.CharField(max_length=253, default="127.0.0.1")
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    # What `host` resolved to when saved, checked against the outbound policy:
    # one target under two spellings is one target (unique with the port).
    resolved_address = models.CharField(max_length=45, blank=True, default="", editable=False)
    blueprint = models.ForeignKey(
        Blueprint, on_delete=models.SET_NULL, null=True, blank=True, related_name="servers"
    )
    desired_state = models.CharField(
        max_length=16, choices=DesiredState.choices, default=DesiredState.STOPPED
    )
    # Never rendered in lists or forms; only the owner's server.cfg carries it.
    # Encrypted at rest with RCON_PASSWORD_KEYS; Python code sees the plaintext.
    rcon_password = EncryptedPasswordField(
        blank=True, default=generate_rcon_password, editable=False
    )
    listed = models.BooleanField(
        default=False, help_text="Anyone may see this server's public page."
    )
    players_public = models.BooleanField(
        default=True,
        help_text="Show who is playing to the public (counts and map are always shown).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ServerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        permissions = [
            ("view_rcon_password", "Can download any server's server.cfg with its RCON password"),
            ("rotate_rcon_password", "Can rotate any server's RCON password"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="server_unique_name_per_owner"),
            models.UniqueConstraint(fields=["host", "port"], name="server_unique_address"),
            models.UniqueConstraint(
                fields=["resolved_address", "port"],
                condition=~models.Q(resolved_address=""),
                name="server_unique_resolved_address",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("servers:detail", args=[self.pk])

    def is_managed_by(self, user: User | AnonymousUser, perm: Perm) -> bool:
        """Same rule as ServerQuerySet.manageable_by, for a server already loaded."""
        return user.is_authenticated and (self.owner_id == user.pk or user.has_perm(perm))

    def powers_of(self, user: User | AnonymousUser) -> Powers:
        download_cfg = self.is_managed_by(user, Perm.VIEW_RCON_PASSWORD)
        edit = self.is_managed_by(user, Perm.CHANGE_SERVER)
        return Powers(
            download_cfg=download_cfg,
            edit=edit,
            move=edit and download_cfg,
            rotate=self.is_managed_by(user, Perm.ROTATE_RCON_PASSWORD),
        )

    def shows_private_details_to(self, user: User | AnonymousUser) -> bool:
        """Owner and staff see SteamIDs, pings, a private roster and the last error.

        A matter of visibility, like visible_to: no secret of the server is in them.
        """
        return user.is_authenticated and (user.is_staff or self.owner_id == user.pk)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class PasswordRotation(models.Model):
    """When a server's RCON password was rotated: rotations are rate-limited."""

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="rotations")
    rotated_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["server", "rotated_at"], name="rotation_server_at_idx")]

    def __str__(self) -> str:
        return f"{self.server_id} at {self.rotated_at:%Y-%m-%d %H:%M:%S}"
