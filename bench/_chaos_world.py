"""The chaos run's fake fleet: scripted players, so every session's truth is known.

Six servers, each with two players who join in the first seconds and never
leave (one session each for the whole run, whatever is killed meanwhile),
and three who come and go at times spread over the run, one of them twice
(two sessions, never merged into one). The first server answers `status`
after 1 s, so a chunk is still polling when a fault lands mid-tick.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from left4me.rcon.fleet import Event, FakeServer, FleetHandle, Timeline
from left4me.rcon.status import STEAM_ID64_BASE

SERVERS = 6
STAYERS = 2
SLOW_SECONDS = 1.0  # under the 2 s query timeout with room for a loaded machine
STORED_WITHIN = 3.0  # seconds from a server's answer to the end of its chunk (about 1 s)
MAPS = ["c1m1_hotel", "c2m1_highway", "c5m1_waterfront", "c8m1_apartment"]


def steam_id(server: int, player: int) -> str:
    return str(STEAM_ID64_BASE + 1000 * (server + 1) + player)


def scripted_servers(length: float) -> list[FakeServer]:
    """The fleet for a run whose fleet clock lasts about `length` seconds."""
    servers = []
    for i in range(SERVERS):
        events = [Event(1.0 + k, "join", steam_id(i, k), f"Stayer {i}.{k}") for k in range(STAYERS)]
        for j in range(3):
            join = length * (0.08 + 0.25 * j + 0.03 * i)
            leave = join + length * (0.12 + 0.04 * ((i + j) % 3))
            who = steam_id(i, 10 + j)
            events += [Event(join, "join", who, f"Visitor {i}.{j}"), Event(leave, "leave", who)]
            if j == 0:  # back later: a second session, never merged with the first
                back = leave + length * 0.1
                events += [Event(back, "join", who, f"Visitor {i}.{j}"),
                           Event(back + length * 0.1, "leave", who)]  # fmt: skip
        servers.append(FakeServer(
            name=f"chaos-{i + 1}", password=secrets.token_urlsafe(24),
            timeline=Timeline(map=MAPS[i % len(MAPS)], events=events), max_players=8,
            failure="slow" if i == 0 else "", slow_seconds=SLOW_SECONDS, answers=[],
        ))  # fmt: skip
    return servers


def register(servers: list[FakeServer]) -> None:
    """Panel servers owned by the quick start's demo login, as `simulate_servers` adds them."""
    from django.contrib.auth import get_user_model

    from servers.models import Server

    owner = get_user_model().objects.get(username="demo")
    for fake in servers:
        Server.objects.create(
            owner=owner, name=fake.name, host="127.0.0.1", port=fake.port,
            rcon_password=fake.registered_password, desired_state=Server.DesiredState.RUNNING,
            listed=True,
        )  # fmt: skip


@dataclass
class Sessions:
    """The session checks: the truth judge's counts, plus direct checks that need no judge."""

    summary: str = ""
    splits: int = 0
    merges: int = 0
    phantoms: int = 0
    missed: int = 0
    stayers_split: list[str] = field(default_factory=list)  # not exactly one open session
    duplicate_open: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def stored_answers(
    fleet: FleetHandle, origin: datetime, finished: list[float]
) -> dict[str, list[float]]:
    """The fleet's `status` answers whose poll reached the database.

    The truth judge takes every answer as seen by the panel; an answer given
    to a chunk whose pool child was killed before it stored anything was not,
    and would make a correct session look late. An answer counts when a chunk
    finished (a PollProgress.finished_at, epoch seconds) within STORED_WITHIN.
    """
    ends = sorted(f - origin.timestamp() for f in finished)
    return {
        server: [a for a in answers if any(a <= end <= a + STORED_WITHIN for end in ends)]
        for server, answers in fleet.answers().items()
    }


def check_sessions(
    fleet: FleetHandle, origin: datetime, interval: float, finished: list[float]
) -> Sessions:
    """Judge what the stack stored against what the fleet played.

    Call it once polling has stopped: an answer whose result is still on its
    way to the database would otherwise look like a missed leave.
    """
    from django.db.models import Count

    from livestate.models import PlayerSession
    from livestate.truth import judge, recorded_sessions, stints_from_truth

    verdict = judge(
        stints_from_truth(fleet.truth()), recorded_sessions(origin),
        stored_answers(fleet, origin, finished),
        interval=interval,
    )  # fmt: skip
    result = Sessions(verdict.summary(), verdict.splits, verdict.merges, verdict.phantoms,
                      verdict.missed, problems=verdict.problems[:10])  # fmt: skip
    for i, server in enumerate(fleet.servers):
        for k in range(STAYERS):
            rows = PlayerSession.objects.filter(
                server__name=server.name, steam_id_64=steam_id(i, k)
            )
            if rows.count() != 1 or rows.open().count() != 1:
                result.stayers_split.append(f"{server.name} {steam_id(i, k)}: {rows.count()}")
    doubled = (
        PlayerSession.objects.open().values("server__name", "steam_id_64")
        .annotate(n=Count("pk")).filter(n__gt=1)
    )  # fmt: skip
    result.duplicate_open = [f"{d['server__name']} {d['steam_id_64']}: {d['n']}" for d in doubled]
    return result
