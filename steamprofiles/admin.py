"""Staff view of the Steam profile cache, with a "refresh now" action."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html

from steamprofiles import services
from steamprofiles.models import SteamProfile
from steamprofiles.steam_api import allowed_avatar


@admin.register(SteamProfile)
class SteamProfileAdmin(admin.ModelAdmin):
    list_display = ["avatar", "persona_name", "steam_id_64", "resolved", "fetched_at"]
    list_display_links = ["persona_name", "steam_id_64"]
    list_filter = ["resolved"]
    search_fields = ["steam_id_64", "persona_name"]
    readonly_fields = [f.name for f in SteamProfile._meta.fields]
    actions = ["refresh_now"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="")
    def avatar(self, profile: SteamProfile) -> str:
        url = allowed_avatar(profile.avatar_url, settings.STEAM_AVATAR_HOSTS)
        return format_html('<img src="{}" width="32" height="32" alt="">', url) if url else ""

    @admin.action(description="Refresh now (ignores the cache TTL)")
    def refresh_now(self, request, queryset) -> None:
        report = services.refresh_steam_profiles(
            steam_ids=list(queryset.values_list("pk", flat=True))
        )
        if report.skipped or report.error:
            self.message_user(request, report.skipped or report.error, messages.ERROR)
            return
        self.message_user(
            request,
            f"Refreshed {report.stored} profile(s); {report.unresolved} unresolved.",
            messages.SUCCESS,
        )
