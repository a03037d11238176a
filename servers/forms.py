"""Owner-facing forms. Validation errors name the field and change nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError

from left4me.rcon.text import clean
from servers.addresses import AddressRefused, InvalidHost, canonical_host, check_address
from servers.models import Blueprint, Server

if TYPE_CHECKING:
    from django.contrib.auth.models import User


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
        name = clean(self.cleaned_data["name"], 64).strip()  # no control or bidi characters
        if not name:
            raise ValidationError("Give the server a name.")
        clash = Server.objects.filter(owner=self.owner, name__iexact=name)
        if clash.exclude(pk=self.instance.pk).exists():
            raise ValidationError("You already have a server with this name.")
        return name

    def clean_host(self) -> str:
        """One spelling per target, resolved and checked against the outbound policy."""
        try:
            host = canonical_host(self.cleaned_data["host"])
            self.resolved_address = check_address(host)
        except InvalidHost as error:
            raise ValidationError(str(error)) from None
        except AddressRefused:
            raise ValidationError(
                "The panel may not connect to this address (loopback, link-local, multicast "
                "or reserved). An administrator can allow a network with "
                "OUTBOUND_ALLOWED_NETWORKS."
            ) from None
        return host

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data, though typed as possibly None
        cleaned = self.cleaned_data
        host, port = cleaned.get("host"), cleaned.get("port")
        if host and port:
            others = Server.objects.exclude(pk=self.instance.pk).filter(port=port)
            same = others.filter(host=host) | others.filter(resolved_address=self.resolved_address)
            if same.exists():
                self.add_error("port", f"{host}:{port} is already used by another server.")
        return cleaned

    def save(self, commit: bool = True) -> Server:
        self.instance.owner = self.owner
        self.instance.resolved_address = self.resolved_address
        return super().save(commit=commit)
