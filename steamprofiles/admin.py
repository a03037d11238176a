"""Staff view of the Steam profile cache, with a "refresh now" action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from steamprofiles import services
from steamprofiles.models import SteamProfile

# One admin request should not hold a web worker for minutes of Steam calls.
MAX_REFRESH_IDS = 500


@admin.register(SteamProfile)
class SteamProfileAdmin(admin.ModelAdmin):
    list_display = ["avatar", "persona_name", "steam_id_64", "resolved", "fetched_at"]
    list_display_links = ["persona_name", "steam_id_64"]
    list_filter = ["resolved"]
    search_fields = ["steam_id_64", "persona_name"]
    readonly_fields = [f.name for f in SteamProfile._meta.fields]
    ordering = ["-fetched_at"]
    actions = ["refresh_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows come from Steam only

    @admin.display(description="Avatar")
    def avatar(self, profile: SteamProfile) -> str:
        url = profile.safe_avatar_url
        if not url:
            return ""
        return format_html(
            '<img src="{}" width="32" height="32" alt="" referrerpolicy="no-referrer">', url
        )

    @admin.action(description="Refresh now (ignores the cache TTL)", permissions=["change"])
    def refresh_now(self, request: HttpRequest, queryset: QuerySet[SteamProfile]) -> None:
        ids = list(queryset.order_by().values_list("pk", flat=True)[: MAX_REFRESH_IDS + 1])
        if len(ids) > MAX_REFRESH_IDS:
            message = f"Select at most {MAX_REFRESH_IDS} profiles to refresh at once."
            self.message_user(request, message, messages.ERROR)
            return
        report = services.refresh_steam_profiles(steam_ids=ids)
        counts = f"Refreshed {report.stored} profile(s); {report.unresolved} unresolved."
        if report.problem:
            prefix = f"{counts} " if report.stored or report.unresolved else ""
            self.message_user(request, prefix + report.problem, messages.ERROR)
            return
        self.message_user(request, counts, messages.SUCCESS)
