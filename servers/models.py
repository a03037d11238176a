"""Game servers and the blueprints their server.cfg is rendered from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

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


class ServerQuerySet(models.QuerySet["Server"]):
    def visible_to(self, user: User | AnonymousUser) -> ServerQuerySet:
        """Listed servers for everyone, plus the user's own; staff see all."""
        if user.is_authenticated and user.is_staff:
            return self
        if user.is_authenticated:
            return self.filter(models.Q(listed=True) | models.Q(owner=user))
        return self.filter(listed=True)

    def manageable_by(self, user: User | AnonymousUser) -> ServerQuerySet:
        """Servers whose secrets (server.cfg, password) the user may see and change."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
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
    rcon_password = models.CharField(
        max_length=64, blank=True, default=generate_rcon_password, editable=False
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

    def is_managed_by(self, user: User | AnonymousUser) -> bool:
        """Same rule as ServerQuerySet.manageable_by, for a server already loaded."""
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
