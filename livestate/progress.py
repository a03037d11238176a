"""Is the panel polling? Stamps of progress and the judgement read from them.

Polling is stalled when no chunk finished for STALLED_PERIODS poll periods:
then every badge would go stale at once, and the pages and /healthz say the
panel is not polling instead of blaming each game server.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction

from livestate.models import PollProgress

KEY = "poll"
STALLED_PERIODS = 3


class Polling(NamedTuple):
    finished_at: datetime | None
    dispatched_at: datetime | None
    age_seconds: float | None  # since the last finished chunk; None: never
    stalled: bool

    @property
    def message(self) -> str:
        if not self.stalled:
            return ""
        if self.finished_at is None:
            return "The panel has not polled any server yet."
        return f"The panel is not polling: live data is {round(self.age_seconds or 0)} s old."


def stalled_after() -> timedelta:
    return timedelta(seconds=STALLED_PERIODS * settings.LIVE_STATE_POLL_SECONDS)


def _stamp(**fields: datetime) -> None:
    if PollProgress.objects.filter(key=KEY).update(**fields):
        return
    try:
        with transaction.atomic():
            PollProgress.objects.create(key=KEY, **fields)
    except IntegrityError:  # another process created it meanwhile
        PollProgress.objects.filter(key=KEY).update(**fields)


def record_dispatch(*, now: datetime, nothing_to_poll: bool) -> None:
    """A tick was dispatched; with nothing to poll it is also finished."""
    _stamp(dispatched_at=now, **({"finished_at": now} if nothing_to_poll else {}))


def record_finished(*, now: datetime) -> None:
    """A chunk stored its results."""
    _stamp(finished_at=now)


def polling_state(*, now: datetime) -> Polling:
    row = PollProgress.objects.filter(key=KEY).values_list("finished_at", "dispatched_at").first()
    finished, dispatched = row if row else (None, None)
    if finished is None:
        return Polling(None, dispatched, None, stalled=True)
    age = max(0.0, (now - finished).total_seconds())
    return Polling(finished, dispatched, age, stalled=age > stalled_after().total_seconds())
