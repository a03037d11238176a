"""The backfill migration gives every pre-existing server its own password."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
BEFORE = [("servers", "0002_server_rcon_password")]
AFTER = [("servers", "0004_rcon_password_default")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_latest():
    """Leave the schema as every other test expects it, whatever this test did."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.usefixtures("back_to_latest")
@pytest.mark.django_db(transaction=True)
def test_it_backfills_a_distinct_password_for_every_existing_server():
    old_apps = migrate(BEFORE)
    User = old_apps.get_model("auth", "User")
    Server = old_apps.get_model("servers", "Server")
    user = User.objects.create(username="legacy")
    for port in range(27015, 27020):
        Server.objects.create(owner=user, name=f"s{port}", host="127.0.0.1", port=port)
    assert set(Server.objects.values_list("rcon_password", flat=True)) == {""}

    new_apps = migrate(AFTER)

    passwords = list(
        new_apps.get_model("servers", "Server").objects.values_list("rcon_password", flat=True)
    )
    assert len(passwords) == 5
    assert len(set(passwords)) == 5
    for password in passwords:
        assert len(password) >= 32
        assert URL_SAFE.match(password)
