"""Read-only staff views of what polling recorded."""

from __future__ import annotations

from django.contrib import admin

from livestate.models import LiveStateSnapshot, PlayerSession


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by the poller only; staff look, they do not edit."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
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

    def lookups(self, request, model_admin):
        return [("yes", "Open (playing now)"), ("no", "Closed")]

    def queryset(self, request, queryset):
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
