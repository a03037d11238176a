"""Owner-facing forms. Validation errors name the field and change nothing."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError

from servers.models import Blueprint, Server

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def validate_host(value: str) -> str:
    """Accept an IPv4/IPv6 address or a DNS hostname, nothing else."""
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or not all(_HOSTNAME_LABEL.match(label) for label in labels):
        raise ValidationError("Enter an IP address or a hostname such as game.example.org.")
    return value.lower()


class ServerForm(forms.ModelForm):
    class Meta:
        model = Server
        fields = ["name", "host", "port", "blueprint", "desired_state", "listed", "players_public"]
        help_texts = {
            "port": "The game port; RCON listens on the same TCP port.",
            "desired_state": "Only servers meant to be running are polled.",
        }

    def __init__(self, *args: Any, owner: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner
        blueprint = cast(forms.ModelChoiceField, self.fields["blueprint"])
        blueprint.queryset = Blueprint.objects.filter(owner=owner)
        self.fields["port"].widget.attrs.update(min=1, max=65535)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Give the server a name.")
        clash = Server.objects.filter(owner=self.owner, name__iexact=name)
        if clash.exclude(pk=self.instance.pk).exists():
            raise ValidationError("You already have a server with this name.")
        return name

    def clean_host(self) -> str:
        return validate_host(self.cleaned_data["host"])

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data, though typed as possibly None
        cleaned = self.cleaned_data
        host, port = cleaned.get("host"), cleaned.get("port")
        if host and port:
            clash = Server.objects.filter(host=host, port=port).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("port", f"{host}:{port} is already used by another server.")
        return cleaned

    def save(self, commit: bool = True) -> Server:
        self.instance.owner = self.owner
        return super().save(commit=commit)
