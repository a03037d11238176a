"""Staff read reachability runs and rollups in the admin; nobody edits them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from livestate.models import DailyRollup, HourlyRollup, ReachabilityRun

pytestmark = pytest.mark.django_db

T = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)


def changelist(staff_client, model: str, **query) -> str:
    page = staff_client.get(reverse(f"admin:livestate_{model}_changelist"), query)
    assert page.status_code == 200
    return page.content.decode().split("result_list")[1]


def test_it_lists_reachability_runs_by_server_and_outcome(staff_client, make_server):
    alpha, beta = make_server(name="alpha"), make_server(name="beta")
    ReachabilityRun.objects.create(
        server=alpha, outcome="unreachable", started_at=T, last_seen_at=T
    )
    ReachabilityRun.objects.create(server=beta, outcome="answered", started_at=T, last_seen_at=T)
    assert "alpha" in changelist(staff_client, "reachabilityrun", outcome="unreachable")
    assert "beta" not in changelist(staff_client, "reachabilityrun", outcome="unreachable")
    assert "alpha" not in changelist(staff_client, "reachabilityrun", q="beta")
    add = reverse("admin:livestate_reachabilityrun_add")
    assert staff_client.get(add).status_code == 403


def test_it_lists_rollups_with_average_and_uptime(staff_client, make_server):
    server = make_server(name="alpha")
    values = {"player_seconds": 5400, "answered_seconds": 1800, "expected_seconds": 3600,
              "peak": 7, "unique_players": 5}  # fmt: skip
    hourly = HourlyRollup.objects.create(server=server, hour=T, **values)
    DailyRollup.objects.create(server=server, day=date(2026, 11, 27), **values)
    for model in ("hourlyrollup", "dailyrollup"):
        rows = changelist(staff_client, model, q="alpha")
        assert "3.0" in rows  # average players
        assert "50.0%" in rows  # uptime
    change = reverse("admin:livestate_hourlyrollup_change", args=[hourly.pk])
    assert staff_client.post(change, {"peak": 99}).status_code == 403
