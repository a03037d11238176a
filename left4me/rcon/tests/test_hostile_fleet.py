"""Hostile fake servers, seen through our real clients: they harm no one but themselves.

Each hostile mode is queried over loopback with both clients. A reply the
panel must not store raises a typed RconError; a reply that parses comes out
with its map and names cleaned and cut. Every test first checks that the
fleet really sent the hostile bytes, so a tamed fleet cannot make it pass.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from typing import Any

import pytest

from left4me.rcon import RconError, RconProtocolError, Status, aquery_status, query
from left4me.rcon.exchange import MAX_REPLY
from left4me.rcon.fleet import random_fleet, render_status
from left4me.rcon.fleet.server import BIDI_NAMES, HOSTILE_MODES, LONG_MAP, NUL_MAP, NUL_NAMES
from left4me.rcon.status import MAP_LENGTH, NAME_LENGTH
from left4me.rcon.tests.helpers import CLIENTS, HOST, Client, players, spec
from left4me.rcon.tests.test_fleet import ROOT, wait_for_listing

TIMEOUT = 2.0  # loopback answers in milliseconds; this only bounds a broken run
UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}
REJECTED = ["huge_counts", "flood_roster", "not_rcon", "huge_reply"]
PARSED = ["nul_text", "bidi_names", "long_map", "new_ids"]


def hostile(mode: str, **fields) -> dict:
    return spec(mode, failure=mode, **fields)


def raw(handle, name: str) -> str:
    return query(HOST, handle.server(name).port, "pw", "status", timeout=TIMEOUT)


def status(client: Client, handle, name: str) -> Status:
    return client.query_status(HOST, handle.server(name).port, "pw", timeout=TIMEOUT)


def assert_clean(answer: Status) -> None:
    for text, limit in [(answer.map, MAP_LENGTH), *((e.name, NAME_LENGTH) for e in answer.roster)]:
        assert len(text) <= limit
        assert not {unicodedata.category(ch) for ch in text} & UNSAFE, repr(text)


def test_it_covers_every_hostile_mode():
    assert sorted(REJECTED + PARSED) == sorted(HOSTILE_MODES)


@pytest.mark.parametrize("client", CLIENTS.values(), ids=CLIENTS.keys())
@pytest.mark.parametrize("mode", ["huge_counts", "flood_roster", "huge_reply"])
def test_it_rejects_a_reply_no_server_could_send(fleet, client, mode):
    handle = fleet(hostile(mode, events=players(2)))
    for _ in range(2):  # flood_roster alternates its header: both must be refused
        with pytest.raises(RconProtocolError):
            status(client, handle, mode)


def test_it_claims_forty_thousand_humans(fleet):
    handle = fleet(hostile("huge_counts"))
    assert "players : 40000 humans, 0 bots (4 max)" in raw(handle, "huge_counts")


def test_it_floods_with_new_ids_under_both_headers(fleet):
    handle = fleet(hostile("flood_roster", flood_players=300))
    replies = [raw(handle, "flood_roster") for _ in range(2)]
    headers = {r.split("players : ")[1].split(" humans")[0] for r in replies}
    ids = [{line.split('"')[2].split()[0] for line in r.splitlines()[9:-2]} for r in replies]
    assert headers == {"300", "4"}
    assert [len(i) for i in ids] == [300, 300]
    assert not ids[0] & ids[1]


def test_it_sends_a_reply_well_over_the_cap(fleet):
    handle = fleet(hostile("huge_reply"))
    assert len(render_status(handle.server("huge_reply"), 0).encode()) > 1.4 * MAX_REPLY
    with pytest.raises(RconProtocolError, match="exceeds"):  # our cap, not a parse error
        raw(handle, "huge_reply")


@pytest.mark.parametrize("client", CLIENTS.values(), ids=CLIENTS.keys())
def test_it_greets_with_another_protocol(fleet, client):
    handle = fleet(hostile("not_rcon"))
    for _ in range(2):  # HTTP, then AMQP
        with pytest.raises(RconProtocolError, match="size"):
            status(client, handle, "not_rcon")
    assert handle.server("not_rcon").queries == 2


@pytest.mark.parametrize("client", CLIENTS.values(), ids=CLIENTS.keys())
def test_it_cleans_nul_and_control_characters(fleet, client):
    handle = fleet(hostile("nul_text"))
    lines = raw(handle, "nul_text").split("\n")
    map_line = next(line for line in lines if line.startswith("map"))
    rows = "".join(line for line in lines if line.startswith("# "))
    assert {"\x00", "\x1b"} <= set(map_line) & set(rows)
    assert NUL_MAP in map_line
    assert all(name in rows for name in NUL_NAMES)
    answer = status(client, handle, "nul_text")
    assert_clean(answer)
    assert answer.map == "c1m1_hotel[31m"
    assert [e.name for e in answer.roster] == ["ZoeyAdmin", "[31mRED[0m", "bellbackdel", "tabhere"]


@pytest.mark.parametrize("client", CLIENTS.values(), ids=CLIENTS.keys())
def test_it_cleans_bidi_and_zero_width_names(fleet, client):
    handle = fleet(hostile("bidi_names"))
    text = raw(handle, "bidi_names")
    assert "\u202e" in text
    assert "\u200b" in text
    answer = status(client, handle, "bidi_names")
    assert_clean(answer)
    assert [e.name for e in answer.roster] == ["exe.tsil", "admin", "Zoey", "Nick"]
    assert len(BIDI_NAMES) == len(answer.roster) == answer.players


@pytest.mark.parametrize("client", CLIENTS.values(), ids=CLIENTS.keys())
def test_it_cuts_a_long_map_the_same_way_every_poll(fleet, client):
    handle = fleet(hostile("long_map", events=players(2)))
    sent = [line for line in raw(handle, "long_map").split("\n") if line.startswith("map")]
    assert sent == [f"map     : {LONG_MAP}"]
    assert len(LONG_MAP) == 200
    answers = [status(client, handle, "long_map") for _ in range(2)]
    assert [a.map for a in answers] == [LONG_MAP[:MAP_LENGTH]] * 2
    assert_clean(answers[0])
    assert len(answers[0].roster) == 2


@pytest.mark.parametrize("client", CLIENTS.values(), ids=CLIENTS.keys())
def test_it_makes_up_new_ids_every_query(fleet, client):
    handle = fleet(hostile("new_ids", max_players=8))
    first, second = status(client, handle, "new_ids"), status(client, handle, "new_ids")
    for answer in (first, second):
        assert_clean(answer)
        assert len(answer.roster) == answer.players == answer.max_players == 8
    assert not {e.steam_id_64 for e in first.roster} & {e.steam_id_64 for e in second.roster}


def test_it_harms_no_one_but_itself(fleet):
    """Every hostile mode, queried at once with a good server: the good one still answers."""
    handle = fleet(spec("good", events=players(3)), *(hostile(m) for m in HOSTILE_MODES))
    handle.set_clock(30)

    async def every() -> list[Status | BaseException]:
        names = ["good", *HOSTILE_MODES]
        return await asyncio.gather(
            *(aquery_status(HOST, handle.server(n).port, "pw", timeout=TIMEOUT) for n in names),
            return_exceptions=True,
        )

    started = time.monotonic()
    good, *answers = asyncio.run(every())
    assert time.monotonic() - started < TIMEOUT  # nobody waited for a timeout
    assert isinstance(good, Status)
    assert [(e.name, e.connected_seconds) for e in good.roster] == [(f"p{i}", 30) for i in range(3)]
    outcomes = dict(zip(HOSTILE_MODES, answers, strict=True))
    assert {m for m, a in outcomes.items() if isinstance(a, RconError)} == set(REJECTED)
    assert all(isinstance(outcomes[m], Status) for m in PARSED)


def test_it_mixes_hostile_servers_into_a_random_fleet():
    mix: dict[str, Any] = {
        "seed": 4,
        "refused_ratio": 0.05,
        "blackhole_ratio": 0.1,
        "hostile": 16,
        "horizon": 60,
    }
    servers = random_fleet(116, **mix)
    failures = Counter(s.failure for s in servers)
    assert failures == {"": 85, "blackhole": 10, "refused": 5} | dict.fromkeys(HOSTILE_MODES, 2)
    assert [s.failure for s in servers[:58]].count("") < 58  # spread, not bunched at the end
    again = random_fleet(116, **mix)
    assert [(s.name, s.failure) for s in again] == [(s.name, s.failure) for s in servers]
    with pytest.raises(ValueError, match="hostile"):
        random_fleet(3, hostile=4)


def test_it_runs_hostile_servers_from_the_command_line(tmp_path):
    listing = tmp_path / "servers.json"
    fleet = subprocess.Popen(
        [sys.executable, "-m", "left4me.rcon.fleet", "--servers", "10", "--hostile", "8",
         "--horizon", "60", "--servers-out", str(listing)],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        rows = wait_for_listing(listing, fleet)
        seen: Counter[str] = Counter()
        for row in rows:
            try:
                CLIENTS["sync"].query_status(
                    row["host"], row["port"], row["password"], timeout=TIMEOUT
                )
                seen["answered"] += 1
            except RconError:
                seen[row["failure"]] += 1
    finally:
        fleet.send_signal(signal.SIGINT)
        fleet.wait(timeout=10)
    assert Counter(row["failure"] for row in rows) == {"": 2} | dict.fromkeys(HOSTILE_MODES, 1)
    assert seen == {"answered": 2 + len(PARSED)} | dict.fromkeys(REJECTED, 1)
