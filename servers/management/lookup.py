"""Resolve the SERVER argument of management commands."""

from __future__ import annotations

from django.core.management.base import CommandError

from servers.models import Server


def find_server(ref: str) -> Server:
    """A server by id, or by name when the name is unique; a clear error otherwise."""
    if ref.isdigit():
        server = Server.objects.filter(pk=int(ref)).first()
        if server:
            return server
    matches = list(Server.objects.filter(name=ref)[:2])
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise CommandError(f"several servers are named {ref!r}; use the id instead")
    raise CommandError(f"no server with id or name {ref!r}")
