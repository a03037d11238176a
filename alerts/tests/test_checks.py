"""The system check that keeps `down` from crying wolf."""

from __future__ import annotations

import pytest

from alerts.checks import check_down_after

pytestmark = pytest.mark.nodb


def test_it_warns_when_a_lost_poll_or_two_would_mean_down(settings):
    settings.LIVE_STATE_POLL_SECONDS = 5
    settings.ALERT_DOWN_AFTER_SECONDS = 10
    assert [m.id for m in check_down_after(None)] == ["alerts.W001"]
    settings.ALERT_DOWN_AFTER_SECONDS = 60
    assert check_down_after(None) == []
