"""The backfill migration gives every pre-existing server its own password."""

from __future__ import annotations

import re

import pytest

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
BEFORE = [("servers", "0002_server_rcon_password")]
AFTER = [("servers", "0004_rcon_password_default")]


@pytest.mark.django_db(transaction=True)
def test_it_backfills_a_distinct_password_for_every_existing_server(migrate_to):
    old_apps = migrate_to(BEFORE)
    User = old_apps.get_model("auth", "User")
    Server = old_apps.get_model("servers", "Server")
    user = User.objects.create(username="legacy")
    for port in range(27015, 27020):
        Server.objects.create(owner=user, name=f"s{port}", host="127.0.0.1", port=port)
    assert set(Server.objects.values_list("rcon_password", flat=True)) == {""}

    new_apps = migrate_to(AFTER)

    passwords = list(
        new_apps.get_model("servers", "Server").objects.values_list("rcon_password", flat=True)
    )
    assert len(passwords) == 5
    assert len(set(passwords)) == 5
    for password in passwords:
        assert len(password) >= 32
        assert URL_SAFE.match(password)


@pytest.mark.django_db(transaction=True)
def test_it_backfills_resolved_addresses_of_literals_once_per_target(migrate_to):
    old = migrate_to([("servers", "0006_live_state_moved_to_livestate")])
    user = old.get_model("auth", "User").objects.create(username="legacy")
    Server = old.get_model("servers", "Server")
    for name, host in (("a", "192.168.1.20"), ("b", "::ffff:192.168.1.20"), ("c", "game.example")):
        Server.objects.create(owner=user, name=name, host=host, port=27015)

    new = migrate_to([("servers", "0008_unique_resolved_address")])

    rows = new.get_model("servers", "Server").objects.order_by("name")
    assert list(rows.values_list("name", "resolved_address")) == [
        ("a", "192.168.1.20"),
        ("b", ""),  # a second spelling of a's target: left for its owner to fix
        ("c", ""),  # a name: resolved when next saved
    ]
