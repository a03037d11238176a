"""parse_status on realistic L4D2 replies and on garbage."""

from __future__ import annotations

from pathlib import Path

import pytest

from left4me.rcon import RconError, RosterEntry, parse_status

FIXTURES = Path(__file__).parent / "fixtures"
BASE = 76561197960265728


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8", newline="")


def test_it_reads_a_coop_game_with_bots_under_a_zero_bots_header():
    status = parse_status(fixture("coop_with_bots.txt"))
    assert (status.map, status.players, status.bots, status.max_players) == (
        "c2m3_coaster",
        2,
        0,
        4,
    )
    assert status.hibernating is False
    assert status.roster == (
        RosterEntry(str(BASE + 2 * 12376499), "Crone", 21, 185),
        RosterEntry(str(BASE + 2 * 4242 + 1), 'Zoey #1 \\"the\\" best', 3723, 47),
    )


def test_it_reads_a_hibernating_empty_server():
    status = parse_status(fixture("hibernating.txt"))
    assert (status.map, status.players, status.max_players, status.hibernating) == (
        "c1m1_hotel", 0, 8, True,
    )  # fmt: skip
    assert status.roster == ()


def test_it_anchors_rows_on_their_tail_not_on_quotes():
    roster = parse_status(fixture("versus_crlf.txt")).roster
    by_name = {entry.name: entry for entry in roster}
    assert by_name["A"] == RosterEntry(str(BASE + 2), "A", 36000, 20)
    assert by_name["B"].steam_id_64 == str(BASE + 22)
    assert by_name["B"].connected_seconds == 59 * 60 + 59
    trap = by_name["STEAM_1:0:99 00:01 5 0 active"]
    assert (trap.steam_id_64, trap.connected_seconds, trap.ping) == (str(BASE + 15), 5, 40)
    assert by_name["Тимофей 小明 🧟"].connected_seconds == 9
    assert "   " in by_name
    assert len(roster) == 5  # PENDING, LAN and the bot are not players


@pytest.mark.parametrize(
    ("line", "players", "max_players", "hibernating"),
    [
        ("players : 1 humans, 0 bots (4 max) (not hibernating)", 1, 4, False),
        ("players : 1 human, 2 bots (8 max) (hibernating)", 1, 8, True),
        ("players : 3 humans, 0 bots (20/0 max) (not hibernating)", 3, 20, False),
        ("players : 0 humans, 0 bots (4 max)", 0, 4, False),
        ("players : 2 (16 max)", 2, 16, False),
    ],
)
def test_it_reads_player_header_variants(line, players, max_players, hibernating):
    status = parse_status(f"map     : c1m1_hotel\n{line}\n#end\n")
    assert (status.players, status.max_players, status.hibernating) == (
        players, max_players, hibernating,
    )  # fmt: skip


def test_it_ignores_everything_after_end():
    text = fixture("hibernating.txt") + '# 9 "late" STEAM_1:0:1 00:01 5 0 active\n'
    assert parse_status(text).roster == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("players : 1 humans, 0 bots (4 max)\n", "no map line"),
        ("map : c1m1_hotel\n", "no players line"),
        ("", "no map line"),
        (
            'map : x\nplayers : 0 humans, 0 bots (4 max)\n# 2 1 "A" STEAM_1:0:1 99:99 5 0 active\n',
            "unparseable client row",
        ),
        (
            "map : x\nplayers : 0 humans, 0 bots (4 max)\n# 2 1 no quotes here\n",
            "unparseable client row",
        ),
        (
            'map : x\nplayers : 0 humans, 0 bots (4 max)\n# 2 "A" STEAM_1:0:1 00:01 ping 0 active\n',
            "unparseable client row",
        ),
    ],
)
def test_it_rejects_garbage_with_a_short_excerpt(text, message):
    with pytest.raises(RconError, match=message) as caught:
        parse_status(text)
    assert len(str(caught.value)) < 140


def test_it_shortens_a_huge_offending_line():
    text = "map : x\nplayers : 0 humans, 0 bots (4 max)\n# 2 " + "x" * 5000 + "\n"
    with pytest.raises(RconError) as caught:
        parse_status(text)
    assert len(str(caught.value)) < 140
