from __future__ import annotations

import re

import pytest

from servers.models import Blueprint
from servers.services import render_server_cfg, rotate_rcon_password

pytestmark = pytest.mark.django_db


def rcon_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lower().startswith("rcon_password")]


def test_it_generates_a_url_safe_password_on_create(make_server):
    first, second = make_server(), make_server()
    assert len(first.rcon_password) >= 32
    assert re.fullmatch(r"[A-Za-z0-9_-]+", first.rcon_password)
    assert first.rcon_password != second.rcon_password


def test_it_puts_the_password_line_last_and_once(owner, make_server):
    blueprint = Blueprint.objects.create(
        owner=owner,
        name="coop",
        config_lines=[
            "hostname My Server",
            'rcon_password "hijack"',
            "  RCON_PASSWORD other",
            "sv_cheats 0\nrcon_password smuggled",
            "mp_gamemode coop",
        ],
    )
    server = make_server(blueprint=blueprint)
    text = render_server_cfg(server=server)
    lines = text.splitlines()
    assert lines[-1] == f'rcon_password "{server.rcon_password}"'
    assert rcon_lines(text) == [lines[-1]]
    assert lines[:3] == ["hostname My Server", "sv_cheats 0", "mp_gamemode coop"]


def test_it_writes_no_password_line_when_the_password_is_empty(make_server):
    server = make_server(rcon_password="")
    assert rcon_lines(render_server_cfg(server=server)) == []


def test_it_renders_without_a_blueprint(make_server):
    server = make_server()
    assert render_server_cfg(server=server) == f'rcon_password "{server.rcon_password}"\n'


def test_it_rotates_to_a_new_stored_password(make_server):
    server = make_server()
    old = server.rcon_password
    rotate_rcon_password(server=server)
    server.refresh_from_db()
    assert server.rcon_password != old
    assert len(server.rcon_password) >= 32


def test_it_rotates_at_most_five_times_in_ten_minutes(make_server):
    from datetime import timedelta

    from django.utils import timezone

    from servers.services import RotationLimited

    server = make_server()
    start = timezone.now()
    for minute in range(5):
        rotate_rcon_password(server=server, now=start + timedelta(minutes=minute))
    password = server.rcon_password
    with pytest.raises(RotationLimited, match="5 times in the last 10 minutes") as limited:
        rotate_rcon_password(server=server, now=start + timedelta(minutes=9))
    assert limited.value.retry_at == start + timedelta(minutes=10)
    server.refresh_from_db()
    assert server.rcon_password == password  # the refused rotation changed nothing
    rotate_rcon_password(server=server, now=start + timedelta(minutes=10, seconds=1))
