"""Staff views of alert rules and deliveries. A URL or secret is never shown whole.

The change form shows the shortened URL read-only and offers "Replace URL";
deliveries are read-only (they are a log).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from alerts import services
from alerts.forms import AdminRuleForm
from alerts.models import AlertRule, Delivery


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AdminRuleForm
    list_display = [
        "id", "server", "event", "threshold", "steam_id_64", "url_hint", "format", "enabled",
        "paused_reason",
    ]  # fmt: skip
    list_filter = ["event", "format", "enabled"]
    search_fields = ["server__name", "server__owner__username", "destination", "steam_id_64"]
    list_select_related = ["server"]
    autocomplete_fields = ["server"]
    readonly_fields = ["url_hint", "has_secret", "paused_reason", "failing_since", "created_at"]
    fields = [
        "server", "event", "format", "threshold", "steam_id_64", "enabled", "url_hint",
        "new_url", "has_secret", "new_secret", "clear_secret", "paused_reason", "failing_since",
        "created_at",
    ]  # fmt: skip
    actions = ["resume_rules", "send_tests"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AlertRule]:
        return super().get_queryset(request).defer("url", "secret")

    @admin.display(boolean=True, description="Secret set")
    def has_secret(self, rule: AlertRule) -> bool:
        return bool(rule.pk and AlertRule.objects.filter(pk=rule.pk).exclude(secret="").exists())

    @admin.action(description="Resume (clear the pause and alert again)")
    def resume_rules(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        for rule in queryset:
            services.resume_rule(rule=rule)
        self.message_user(request, f"Resumed {queryset.count()} rule(s).", messages.SUCCESS)

    @admin.action(description="Queue a test delivery")
    def send_tests(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        for rule in queryset.select_related("server"):
            services.queue_test(rule=rule)
        self.message_user(request, "Test deliveries queued.", messages.SUCCESS)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id", "rule", "event", "status", "attempts", "occurred_at", "sent_at", "last_status_code",
        "last_error",
    ]  # fmt: skip
    list_filter = ["status", "event"]
    search_fields = ["rule__server__name", "destination", "event_key"]
    list_select_related = ["rule", "rule__server"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).defer("rule__url", "rule__secret")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
