"""The one place that judges alert input: owner page, admin and `manage.py alerts` use it.

Bad input gets a message that names the field and changes nothing. A URL is
checked like a server's host (SPEC 13): canonical host, resolved within 2 s,
every address allowed by the outbound policy; it is checked again at send.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from alerts import destinations, services
from alerts.models import THRESHOLD_EVENTS, AlertRule, Event, Format
from left4me.rcon.status import STEAM_ID64_BASE, steam_id_64
from servers.addresses import AddressRefused, InvalidHost, check_address
from servers.models import Server

MAX_RULES_PER_SERVER = 20
MAX_PLAYERS = 255  # SPEC 13: no count above this is ever stored
REFUSED_TEXT = (
    "The panel may not connect to this address (loopback, link-local, multicast or "
    "reserved). An administrator can allow a network with OUTBOUND_ALLOWED_NETWORKS."
)


def clean_url(url: str) -> str:
    """The URL as given, once its host resolves to allowed addresses only."""
    try:
        destination = destinations.parse(url)
        check_address(destination.host)
    except destinations.InvalidDestination as error:
        raise ValidationError(str(error)) from None
    except InvalidHost as error:
        raise ValidationError(str(error)) from None
    except AddressRefused:
        raise ValidationError(REFUSED_TEXT) from None
    return url.strip()


def clean_steam_id(text: str) -> str:
    """A SteamID64 from 7656119…, STEAM_0:1:23 or [U:1:47]; "" when empty."""
    text = text.strip()
    if not text:
        return ""
    if text.isdigit() and len(text) == 17 and int(text) > STEAM_ID64_BASE:
        return text
    converted = steam_id_64(text.upper() if text.lower().startswith("steam_") else text)
    if converted is None:
        raise ValidationError("Enter a SteamID64 (17 digits, 7656119…), STEAM_0:Y:Z or [U:1:W].")
    return converted


def event_errors(event: str, threshold: int | None, steam_id: str) -> dict[str, str]:
    """What an event needs: a threshold for the players events, a SteamID to watch a player."""
    errors = {}
    if event in THRESHOLD_EVENTS and threshold is None:
        errors["threshold"] = "Give the number of players this alert is about."
    if event == Event.PLAYER_JOINED and not steam_id:
        errors["steam_id"] = "Give the SteamID of the player to watch."
    return errors


class AlertRuleForm(forms.Form):
    """A new rule on `server`."""

    event = forms.ChoiceField(choices=Event.choices)
    url = forms.CharField(
        label="Webhook URL",
        max_length=destinations.MAX_URL_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Discord: channel settings → Integrations → Webhooks → Copy URL. "
        "Shown only shortened once saved.",
    )
    format = forms.ChoiceField(choices=Format.choices, initial=Format.DISCORD)
    threshold = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_PLAYERS,
        help_text="For the players events: the count that triggers the alert.",
    )  # fmt: skip
    steam_id = forms.CharField(
        label="SteamID", required=False, max_length=40,
        help_text="For “player joined”: the player to watch.",
    )  # fmt: skip
    secret = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Optional: signs each JSON body (X-Left4me-Signature: sha256=HMAC).",
    )

    def __init__(self, *args: Any, server: Server, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server = server

    def clean_url(self) -> str:
        return clean_url(self.cleaned_data["url"])

    def clean_steam_id(self) -> str:
        return clean_steam_id(self.cleaned_data["steam_id"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        errors = event_errors(
            data.get("event", ""), data.get("threshold"), data.get("steam_id", "")
        )
        for name, message in errors.items():
            self.add_error(name, message)
        if AlertRule.objects.filter(server=self.server).count() >= MAX_RULES_PER_SERVER:
            raise ValidationError(f"A server has at most {MAX_RULES_PER_SERVER} alerts.")
        return data

    def save(self) -> AlertRule:
        data = self.cleaned_data
        return services.create_rule(
            server=self.server,
            event=data["event"],
            url=data["url"],
            format=data["format"],
            threshold=data.get("threshold"),
            steam_id_64=data.get("steam_id", ""),
            secret=data.get("secret", ""),
        )


class AdminRuleForm(forms.ModelForm):
    """Staff edit a rule without ever seeing its URL or secret: they may replace them."""

    new_url = forms.CharField(
        label="Replace URL", required=False, max_length=destinations.MAX_URL_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the current URL (shown shortened above).",
    )  # fmt: skip
    new_secret = forms.CharField(
        label="Replace secret", required=False, max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )  # fmt: skip
    clear_secret = forms.BooleanField(label="Remove the secret", required=False)

    class Meta:
        model = AlertRule
        fields = ["server", "event", "format", "threshold", "steam_id_64", "enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["threshold"].validators.append(_at_most_players)
        if self.instance.pk is None:
            self.fields["new_url"].required = True
            self.fields["new_url"].label = "URL"

    def clean_new_url(self) -> str:
        url = self.cleaned_data["new_url"]
        return clean_url(url) if url.strip() else ""

    def clean_steam_id_64(self) -> str:
        return clean_steam_id(self.cleaned_data["steam_id_64"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        errors = event_errors(
            data.get("event", ""), data.get("threshold"), data.get("steam_id_64", "")
        )
        for name, message in errors.items():
            self.add_error("steam_id_64" if name == "steam_id" else name, message)
        return data

    def save(self, commit: bool = True) -> AlertRule:
        rule = super().save(commit=False)
        data = self.cleaned_data
        if data.get("new_url"):
            services.set_url(rule, data["new_url"])
        if data.get("clear_secret"):
            rule.secret = ""
        elif data.get("new_secret"):
            rule.secret = data["new_secret"]
        if rule.event not in THRESHOLD_EVENTS:
            rule.threshold = None
        if rule.event != Event.PLAYER_JOINED:
            rule.steam_id_64 = ""
        if rule.pk is None:
            rule.session_floor = services.latest_session_id()
        if commit:
            rule.save()
        return rule


def _at_most_players(value: int | None) -> None:
    if value is not None and value > MAX_PLAYERS:
        raise ValidationError(f"At most {MAX_PLAYERS}.")
