"""Staff view of the Steam profile cache, with a "refresh now" action, and
forgetting players on request (privacy.forget_player).

"Forget these players" is an action on profiles and on sessions; both lead to
one confirmation page under the profile admin (`forget/`), which also takes
SteamIDs typed in: a player without a cached profile can be forgotten too.
The session admin gets the action here, by registering a subclass, because
livestate sits below this app and must not import it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from livestate.admin import PlayerSessionAdmin
from livestate.models import PlayerSession
from servers.admin import AdminHttpRequest
from steamprofiles import privacy, services
from steamprofiles.forms import MAX_FORGET_IDS, ForgetPlayersForm
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
    actions = ["refresh_now", "forget_players"]
    change_list_template = "admin/steamprofiles/steamprofile_change_list.html"

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

    def has_forget_permission(self, request: HttpRequest) -> bool:
        return can_forget(request)

    @admin.action(description="Forget these players (sessions and profile)", permissions=["forget"])
    def forget_players(
        self, request: HttpRequest, queryset: QuerySet[SteamProfile]
    ) -> HttpResponse | None:
        return forget_redirect(self, request, queryset)

    def get_urls(self) -> list[URLPattern]:
        forget = path(
            "forget/",
            self.admin_site.admin_view(self.forget_view),
            name="steamprofiles_steamprofile_forget",
        )
        return [forget, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {"can_forget": can_forget(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    def forget_view(self, request: AdminHttpRequest) -> HttpResponse:
        """Type or receive SteamIDs, see what would go, confirm with a POST."""
        if not can_forget(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else request.GET
        form = ForgetPlayersForm(data if "ids" in data else None)
        if form.is_valid() and request.method == "POST":
            return self.forget_now(request, form.cleaned_data["ids"])
        previews = (
            [privacy.footprint(i) for i in form.cleaned_data["ids"]] if form.is_valid() else []
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Forget players",
            "form": form,
            "previews": previews,
            "ids": " ".join(p.steam_id_64 for p in previews),
            "anything": any(not p.empty for p in previews),
            "playing": [p for p in previews if p.playing_on],
        }
        return TemplateResponse(request, "admin/steamprofiles/forget_players.html", context)

    def forget_now(self, request: AdminHttpRequest, ids: list[str]) -> HttpResponse:
        reports = [privacy.forget_player(i, actor=request.user) for i in ids]
        for report in reports:
            if report.empty:
                self.message_user(request, f"Nothing stored for {report.steam_id_64}.")
                continue
            self.message_user(
                request,
                f"Forgot player {report.steam_id_64}: erased {report.summary()}.",
                messages.SUCCESS,
            )
            if report.playing_on:
                self.message_user(request, still_playing(report), messages.WARNING)
        return redirect("admin:steamprofiles_steamprofile_changelist")


def can_forget(request: HttpRequest) -> bool:
    """Forgetting deletes sessions and profiles: it takes both delete permissions."""
    return request.user.has_perms(
        ["livestate.delete_playersession", "steamprofiles.delete_steamprofile"]
    )


def still_playing(report: privacy.ForgetReport) -> str:
    servers = ", ".join(report.playing_on)
    return (
        f"{report.steam_id_64} was playing on {servers}: the next poll records them again. "
        "Forget them again once they left (or the server owner keeps them off)."
    )


def forget_redirect(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
) -> HttpResponse | None:
    """To the confirmation page with the selection's SteamIDs (a whole player each)."""
    ids = list(
        queryset.order_by("steam_id_64")
        .values_list("steam_id_64", flat=True)
        .distinct()[: MAX_FORGET_IDS + 1]
    )
    if len(ids) > MAX_FORGET_IDS:
        message = f"Select at most {MAX_FORGET_IDS} players to forget at once."
        model_admin.message_user(request, message, messages.ERROR)
        return None
    url = reverse("admin:steamprofiles_steamprofile_forget")
    return HttpResponseRedirect(f"{url}?{urlencode({'ids': ' '.join(ids)})}")


class ForgettablePlayerSessionAdmin(PlayerSessionAdmin):
    """The read-only session admin, plus "forget these players"."""

    actions = ["forget_players"]

    def has_forget_permission(self, request: HttpRequest) -> bool:
        return can_forget(request)

    @admin.action(
        description="Forget these players (every session and profile)", permissions=["forget"]
    )
    def forget_players(
        self, request: HttpRequest, queryset: QuerySet[PlayerSession]
    ) -> HttpResponse | None:
        return forget_redirect(self, request, queryset)


admin.site.unregister(PlayerSession)
admin.site.register(PlayerSession, ForgettablePlayerSessionAdmin)
