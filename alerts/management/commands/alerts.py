"""Alert rules from the shell: add, list, test, remove.

Input goes through the same form as the owner page, so bad input is a
CommandError (exit 1) and changes nothing. URLs are printed shortened.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from alerts import services
from alerts.forms import AlertRuleForm
from alerts.models import AlertRule, Event, Format
from left4me.commands import OpsCommand
from left4me.rcon.text import printable
from servers.management.lookup import find_server


class Command(OpsCommand):
    help = (
        "Manage alert rules: alerts add SERVER --event EVENT --url URL [...], "
        "alerts list [SERVER], alerts test RULE_ID, alerts remove RULE_ID."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = actions.add_parser("add", help="add a rule to a server")
        add.add_argument("server", help="server id or name")
        add.add_argument("--event", required=True, choices=list(Event.values))
        add.add_argument("--url", required=True, help="the webhook URL (kept secret)")
        add.add_argument("--format", default=Format.DISCORD, choices=list(Format.values))
        add.add_argument("--threshold", type=int, help="players for players_at_least/at_most")
        add.add_argument("--steam-id", default="", help="the player for player_joined")
        add.add_argument("--secret", default="", help="HMAC key that signs each body")
        listing = actions.add_parser("list", help="list rules (of one server)")
        listing.add_argument("server", nargs="?", help="server id or name")
        test = actions.add_parser("test", help="send a test delivery now and print the result")
        test.add_argument("rule_id", type=int)
        remove = actions.add_parser("remove", help="remove a rule")
        remove.add_argument("rule_id", type=int)

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        getattr(self, f"do_{action}")(**options)

    def do_add(self, *, server: str, **options: Any) -> None:
        target = find_server(server)
        data = {
            "event": options["event"],
            "url": options["url"],
            "format": options["format"],
            "threshold": "" if options["threshold"] is None else str(options["threshold"]),
            "steam_id": options["steam_id"],
            "secret": options["secret"],
        }
        form = AlertRuleForm(data, server=target)
        if not form.is_valid():
            problems = "; ".join(
                f"{name if name != '__all__' else 'rule'}: {' '.join(str(e) for e in errors)}"
                for name, errors in form.errors.items()
            )
            raise CommandError(f"no rule added: {problems}")
        rule = form.save()
        self.stdout.write(f"Added rule {rule.pk}: {self.line(rule)}")

    def do_list(self, *, server: str | None = None, **options: Any) -> None:
        rules = AlertRule.objects.select_related("server").defer("url", "secret").order_by("pk")
        if server:
            rules = rules.filter(server=find_server(server))
        for rule in rules:
            self.stdout.write(f"{rule.pk:>5}  {self.line(rule)}")
        if not rules:
            self.stdout.write("No alert rules.")

    def do_test(self, *, rule_id: int, **options: Any) -> None:
        rule = self.rule(rule_id)
        attempt = services.send_test(rule=rule)
        line = f"rule {rule.pk} → {rule.url_hint}: {attempt.describe()}"
        if attempt.outcome != "sent":
            raise CommandError(line)
        self.stdout.write(line)

    def do_remove(self, *, rule_id: int, **options: Any) -> None:
        rule = self.rule(rule_id)
        services.remove_rule(rule=rule)
        self.stdout.write(f"Removed rule {rule_id}: {self.line(rule)}")

    def rule(self, rule_id: int) -> AlertRule:
        rule = AlertRule.objects.select_related("server").filter(pk=rule_id).first()
        if rule is None:
            raise CommandError(f"no alert rule with id {rule_id}")
        return rule

    def line(self, rule: AlertRule) -> str:
        state = "paused" if rule.paused_reason else "enabled" if rule.enabled else "disabled"
        server = printable(rule.server.name)
        what = f"{rule.describe()} → {rule.url_hint}"
        return f"{server} (#{rule.server_id}): {what} [{rule.format}, {state}]"
