"""A password whose key is gone costs its own server a clear error, and no one else anything."""

from __future__ import annotations

import pytest
from django.db import connection

from left4me import crypto
from livestate.models import LiveStatus
from livestate.services import UNDECRYPTABLE_TEXT
from livestate.tests.helpers import ALICE, BOB, at

pytestmark = pytest.mark.django_db(transaction=True)


def player(name: str, who: str) -> dict:
    return {"name": name, "password": "pw",
            "events": [{"at": 0, "kind": "join", "steam_id_64": who, "name": name}]}  # fmt: skip


def test_one_undecryptable_password_blinds_no_other_server(polled_fleet):
    fleet = polled_fleet([player("first", ALICE), player("lost", ALICE), player("last", BOB)])
    lost = fleet.servers["lost"]
    with connection.cursor() as cursor:  # encrypted with a key no longer configured
        cursor.execute(
            "UPDATE servers_server SET rcon_password = %s WHERE id = %s",
            [crypto.Keyring([crypto.generate_key()]).encrypt("pw"), lost.pk],
        )

    report = fleet.poll(5)

    assert (report.polled, report.failed) == (3, 1)
    for name in ("first", "last"):
        status = LiveStatus.objects.get(server__name=name)
        assert (status.state, status.answered_at, status.players) == ("running", at(5), 1)
    status = LiveStatus.objects.get(server=lost)
    assert (status.state, status.error) == ("error", UNDECRYPTABLE_TEXT)
    assert status.auth_failed_at is None  # no login was tried, so no auth back-off
    assert (fleet.fake("lost").queries, fleet.fake("lost").auth_failures) == (0, 0)
