"""Staff views of servers and blueprints. The RCON password is never shown.

The live columns are added by livestate.admin, which sits above this app.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from servers import services
from servers.models import Blueprint, Server


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

    @admin.action(description="Rotate RCON password")
    def rotate_passwords(self, request: HttpRequest, queryset: QuerySet[Server]) -> None:
        count = 0
        for server in queryset:
            try:
                services.rotate_rcon_password(server=server)
            except services.RotationLimited as limited:
                self.message_user(request, f"{server.name}: {limited}", messages.WARNING)
                continue
            count += 1
        self.message_user(
            request,
            f"Rotated the RCON password of {count} server(s). Their server.cfg must be reloaded.",
            messages.SUCCESS,
        )
