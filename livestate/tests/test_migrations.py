"""Moving each server's live state from its own columns into LiveStatus loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

BEFORE = [("servers", "0005_rcon_auth_backoff"), ("livestate", "0001_initial")]
AFTER = [("servers", "0006_live_state_moved_to_livestate")]
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_it_moves_state_back_off_and_last_answer_into_live_status(migrate_to):
    old = migrate_to(BEFORE)
    user = old.get_model("auth", "User").objects.create(username="legacy")
    Server, Snapshot = (
        old.get_model("servers", "Server"),
        old.get_model("livestate", "LiveStateSnapshot"),
    )
    answering = Server.objects.create(
        owner=user, name="a", port=27015, actual_state="running", actual_state_updated_at=T0
    )
    for minutes, players in ((10, 1), (5, 3)):
        Snapshot.objects.create(
            server=answering, started_at=T0 - timedelta(minutes=minutes),
            last_seen_at=T0 - timedelta(minutes=minutes - 1), players=players, max_players=8,
            bots=2, map=f"c{players}m1", hibernating=False,
        )  # fmt: skip
    banned = Server.objects.create(
        owner=user, name="b", port=27016, actual_state="auth_failed", last_error="RCON password rejected",
        rcon_auth_failed_at=T0, rcon_auth_failed_fingerprint="abcd",
    )  # fmt: skip

    new = migrate_to(AFTER)

    LiveStatus = new.get_model("livestate", "LiveStatus")
    latest = new.get_model("livestate", "LiveStateSnapshot").objects.order_by("-id").first()
    a = LiveStatus.objects.get(server_id=answering.pk)
    assert (a.state, a.polled_at, a.answered_at) == ("running", T0, T0 - timedelta(minutes=4))
    assert (a.players, a.max_players, a.bots, a.map, a.snapshot_id) == (3, 8, 2, "c3m1", latest.pk)
    b = LiveStatus.objects.get(server_id=banned.pk)
    assert (b.state, b.error, b.answered_at, b.snapshot_id) == (
        "auth_failed",
        "RCON password rejected",
        None,
        None,
    )
    assert (b.auth_failed_at, b.auth_failed_fingerprint) == (T0, "abcd")
    assert not hasattr(new.get_model("servers", "Server")(), "actual_state")
