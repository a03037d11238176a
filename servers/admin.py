"""Staff views of servers and blueprints. The RCON password is never shown.

The live columns are added by livestate.admin, which sits above this app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from servers import services
from servers.models import Blueprint, Perm, Server

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class AdminHttpRequest(HttpRequest):
    """A request the admin let in: someone is signed in."""

    user: User


@admin.register(Blueprint)
class BlueprintAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "updated_at"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]


@admin.register(Server)
class ServerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "owner",
        "address",
        "desired_state",
        "listed",
    ]
    list_filter = ["desired_state", "listed"]
    search_fields = ["name", "owner__username", "host"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner", "blueprint"]
    readonly_fields = ["created_at", "updated_at"]
    # rcon_password is editable=False, so it is in no form; rotate it instead.
    actions = ["rotate_passwords"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        """Host and port stay put for whoever may not move the server (Powers.move)."""
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not obj.powers_of(request.user).move:
            fields += ["host", "port"]
        return fields

    def save_model(
        self, request: HttpRequest, obj: Server, form: ModelForm[Server], change: bool
    ) -> None:
        """Changes go through the service that records a new host or port."""
        if change:
            services.save_server(form=form, actor=cast("User", request.user))
        else:
            super().save_model(request, obj, form, change)

    def has_rotate_rcon_password_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(Perm.ROTATE_RCON_PASSWORD)

    @admin.action(description="Rotate RCON password", permissions=["rotate_rcon_password"])
    def rotate_passwords(self, request: AdminHttpRequest, queryset: QuerySet[Server]) -> None:
        count = 0
        for server in queryset:
            try:
                services.rotate_rcon_password(server=server, actor=request.user)
            except services.RotationLimited as limited:
                self.message_user(request, f"{server.name}: {limited}", messages.WARNING)
                continue
            count += 1
        self.message_user(
            request,
            f"Rotated the RCON password of {count} server(s). Their server.cfg must be reloaded.",
            messages.SUCCESS,
        )
