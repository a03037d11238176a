"""Read-only staff views of what polling recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timesince

from livestate.models import (
    DailyRollup,
    HourlyRollup,
    LiveStateSnapshot,
    LiveStatus,
    PlayerSession,
    PlayerTotal,
    ReachabilityRun,
)
from servers.admin import ServerAdmin
from servers.models import Server


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by the poller only; staff look, they do not edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False


@admin.register(LiveStateSnapshot)
class LiveStateSnapshotAdmin(ReadOnlyAdmin):
    list_display = [
        "server", "started_at", "last_seen_at", "players", "max_players", "bots", "map",
        "hibernating",
    ]  # fmt: skip
    list_filter = ["hibernating", "map", "server"]
    search_fields = ["map", "server__name"]
    list_select_related = ["server"]
    date_hierarchy = "started_at"
    show_full_result_count = False  # COUNT(*) over millions of rows on every page is slow
    ordering = ["-id"]


class OpenSessionFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "open"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [("yes", "Open (playing now)"), ("no", "Closed")]

    def queryset(
        self, request: HttpRequest, queryset: models.QuerySet[PlayerSession]
    ) -> models.QuerySet[PlayerSession]:
        if self.value() == "yes":
            return queryset.filter(left_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(left_at__isnull=False)
        return queryset


@admin.register(PlayerSession)
class PlayerSessionAdmin(ReadOnlyAdmin):
    list_display = [
        "name_at_join", "steam_id_64", "server", "joined_at", "left_at", "min_ping", "max_ping",
    ]  # fmt: skip
    list_filter = [OpenSessionFilter, "server"]
    search_fields = ["=steam_id_64", "name_at_join"]
    list_select_related = ["server"]
    date_hierarchy = "joined_at"
    show_full_result_count = False
    ordering = ["-joined_at"]


@admin.register(PlayerTotal)
class PlayerTotalAdmin(ReadOnlyAdmin):
    """What a player's folded sessions on a server add up to; erased only by
    forgetting the player (steamprofiles), never row by row."""

    list_display = [
        "steam_id_64", "server", "sessions", "seconds", "first_joined_at", "last_seen_at",
    ]  # fmt: skip
    list_filter = ["server"]
    search_fields = ["=steam_id_64"]
    list_select_related = ["server"]
    show_full_result_count = False
    ordering = ["-last_seen_at"]

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False


@admin.register(ReachabilityRun)
class ReachabilityRunAdmin(ReadOnlyAdmin):
    list_display = ["server", "outcome", "started_at", "last_seen_at", "lasted"]
    list_filter = ["outcome", "server"]
    search_fields = ["server__name"]
    list_select_related = ["server"]
    date_hierarchy = "started_at"
    show_full_result_count = False
    ordering = ["-id"]

    @admin.display(description="Lasted")
    def lasted(self, run: ReachabilityRun) -> str:
        return timesince(run.started_at, run.last_seen_at, depth=2)


class RollupAdmin(ReadOnlyAdmin):
    """Rollups are recomputed from the history (`rollup_live_state`), never edited."""

    list_filter = ["server"]
    search_fields = ["server__name"]
    list_select_related = ["server"]
    show_full_result_count = False

    @admin.display(description="Average players")
    def average(self, rollup: HourlyRollup | DailyRollup) -> str:
        average = rollup.average_players
        return "-" if average is None else f"{average:.1f}"

    @admin.display(description="Uptime")
    def uptime(self, rollup: HourlyRollup | DailyRollup) -> str:
        if not rollup.expected_seconds:
            return "-"
        return f"{rollup.answered_seconds / rollup.expected_seconds:.1%}"


ROLLUP_COLUMNS = ["server", "average", "peak", "unique_players", "uptime", "answered_seconds",
                  "expected_seconds"]  # fmt: skip


@admin.register(HourlyRollup)
class HourlyRollupAdmin(RollupAdmin):
    list_display = ["hour", *ROLLUP_COLUMNS]
    date_hierarchy = "hour"
    ordering = ["-hour", "-id"]


@admin.register(DailyRollup)
class DailyRollupAdmin(RollupAdmin):
    list_display = ["day", *ROLLUP_COLUMNS]
    date_hierarchy = "day"
    ordering = ["-day", "-id"]


class LiveStatusInline(admin.StackedInline):
    model = LiveStatus
    can_delete = False
    fields: ClassVar[tuple[str, ...]] = (  # a tuple types as readonly_fields too
        "state", "polled_at", "answered_at", "players", "max_players", "bots", "map",
        "hibernating", "error", "auth_failed_at",
    )  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Server | None = None) -> bool:
        return False


class LiveServerAdmin(ServerAdmin):
    """The server admin with each server's live state (one join, no group-by).

    Registered from here so that the servers app never imports the live state.
    """

    list_display = [*ServerAdmin.list_display, "live_state", "last_answer", "polled_at"]
    list_filter = [*ServerAdmin.list_filter, "live_status__state"]
    list_select_related = [*ServerAdmin.list_select_related, "live_status"]
    inlines = [LiveStatusInline]

    @admin.display(description="Actual state", ordering="live_status__state")
    def live_state(self, server: Server) -> str:
        status = getattr(server, "live_status", None)
        return status.get_state_display() if status else LiveStatus.State.UNKNOWN.label

    @admin.display(description="Last answer")
    def last_answer(self, server: Server) -> str:
        status = getattr(server, "live_status", None)
        if status is None or status.answered_at is None:
            return "never answered"
        ago = timesince(status.answered_at, timezone.now(), depth=1)
        return f"{status.players}/{status.max_players} · {status.map} ({ago} ago)"

    @admin.display(description="Last poll", ordering="live_status__polled_at")
    def polled_at(self, server: Server) -> datetime | None:
        status = getattr(server, "live_status", None)
        return status.polled_at if status else None


admin.site.unregister(Server)
admin.site.register(Server, LiveServerAdmin)
