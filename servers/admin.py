"""Staff views of servers and blueprints. The RCON password is never shown."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.timesince import timesince

from livestate.models import LiveStateSnapshot
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
        "actual_state",
        "live",
        "actual_state_updated_at",
        "listed",
    ]
    list_filter = ["desired_state", "actual_state", "listed"]
    search_fields = ["name", "owner__username", "host"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner", "blueprint"]
    readonly_fields = [
        "actual_state",
        "actual_state_updated_at",
        "last_error",
        "created_at",
        "updated_at",
    ]
    # rcon_password is editable=False, so it is in no form; rotate it instead.
    actions = ["rotate_passwords"]

    def get_queryset(self, request):
        latest = LiveStateSnapshot.objects.filter(server=OuterRef("pk")).order_by("-id")
        return (
            super()
            .get_queryset(request)
            .annotate(
                live_players=Subquery(latest.values("players")[:1]),
                live_max=Subquery(latest.values("max_players")[:1]),
                live_map=Subquery(latest.values("map")[:1]),
                live_seen=Subquery(latest.values("last_seen_at")[:1]),
            )
        )

    @admin.display(description="Last poll")
    def live(self, server: Server) -> str:
        if server.live_seen is None:
            return "never answered"
        ago = timesince(server.live_seen, timezone.now(), depth=1)
        return f"{server.live_players}/{server.live_max} · {server.live_map} ({ago} ago)"

    @admin.action(description="Rotate RCON password")
    def rotate_passwords(self, request, queryset) -> None:
        count = 0
        for server in queryset:
            services.rotate_rcon_password(server=server)
            count += 1
        self.message_user(
            request,
            f"Rotated the RCON password of {count} server(s). Their server.cfg must be reloaded.",
            messages.SUCCESS,
        )
