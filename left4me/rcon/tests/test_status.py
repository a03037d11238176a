"""parse_status on realistic L4D2 (and CS:GO-style) replies and on garbage."""

from __future__ import annotations

from pathlib import Path

import pytest

from left4me.rcon import RconError, RosterEntry, Status, parse_status

FIXTURES = Path(__file__).parent / "fixtures"
BASE = 76561197960265728  # SteamID64 of STEAM_0:0:0, written out, not imported
HEADER = "map     : c1m1_hotel\nplayers : 1 humans, 0 bots (4 max) (not hibernating)\n"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode("utf-8")  # bytes, so CRLF stays as is


def steam2(y: int, z: int) -> str:
    return str(BASE + 2 * z + y)


def test_it_reads_a_hibernating_empty_server():
    assert parse_status(fixture("hibernating.txt")) == Status(
        map="c1m1_hotel", players=0, bots=0, max_players=8, hibernating=True, roster=()
    )


def test_it_reads_a_full_coop_game():
    status = parse_status(fixture("coop_full.txt"))
    assert (status.map, status.players, status.bots, status.max_players, status.hibernating) == (
        "c8m4_interior", 4, 0, 4, False,
    )  # fmt: skip
    assert status.roster == (
        RosterEntry("76561197985018726", "Crone", 21, 185),  # 2 * 12376499 + 0
        RosterEntry("76561197960274213", "Ellis's Cousin", 3723, 47),  # 2 * 4242 + 1
        RosterEntry("76561197960265729", "[TAG] Francis", 720, 5),  # no adr column
        RosterEntry(str(BASE + 2 * (2**31 - 1)), "x", 3599, 999),
    )


def test_it_lists_bot_rows_under_a_zero_bots_header_without_counting_them():
    status = parse_status(fixture("coop_with_bots.txt"))
    assert (status.map, status.players, status.bots, status.max_players) == (
        "c2m3_coaster", 2, 0, 4,
    )  # fmt: skip
    assert status.roster == (
        RosterEntry(steam2(0, 12376499), "Crone", 21, 185),
        RosterEntry(steam2(1, 4242), 'Zoey #1 \\"the\\" best', 3723, 47),
    )  # the `rcon from` log line after #end is ignored


def test_it_reads_versus_with_eight_humans_and_crlf_endings():
    text = fixture("versus_crlf.txt")
    assert text.count("\r\n") > 10
    status = parse_status(text)
    assert (status.map, status.players, status.max_players, status.hibernating) == (
        "c5m1_waterfront", 8, 8, False,
    )  # fmt: skip
    assert status.roster == (
        RosterEntry(steam2(0, 1), "A", 36000, 20),  # STEAM_0 is the same account as STEAM_1
        RosterEntry(str(BASE + 22), "B", 3599, 30),  # [U:1:22]
        RosterEntry(steam2(1, 7), "STEAM_1:0:99 00:01 5 0 active", 5, 40),
        RosterEntry(steam2(0, 8), "Тимофей 小明 🧟🔥", 9, 50),
        RosterEntry(steam2(1, 9), "  spaced  out  ", 9, 60),
        RosterEntry(steam2(0, 76561197), 'The "Boss" #1', 123 * 3600 + 45 * 60 + 6, 70),
    )  # STEAM_ID_PENDING and STEAM_ID_LAN clients are humans but not roster entries
    assert all("\r" not in entry.name for entry in status.roster)


def test_it_reads_a_csgo_style_header_and_rows():
    status = parse_status(fixture("csgo_style.txt"))
    assert (status.map, status.players, status.bots, status.max_players) == ("de_dust2", 3, 1, 20)
    assert status.roster == (
        RosterEntry(steam2(1, 55), "sniper", 433, 31),
        RosterEntry(steam2(0, 66), "rusher", 4033, 48),
    )


def test_it_reads_a_header_without_the_hibernation_part():
    status = parse_status(fixture("no_hibernation_part.txt"))
    assert (status.players, status.bots, status.max_players, status.hibernating) == (1, 3, 4, False)
    assert status.roster == (RosterEntry(str(BASE + 123456789), "solo", 11045, 80),)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("players : 1 humans, 0 bots (4 max) (not hibernating)", (1, 0, 4, False)),
        ("players : 1 human, 2 bots (8 max) (hibernating)", (1, 2, 8, True)),
        ("players : 0 humans, 1 bot (4 max) (hibernating) (unreserved)", (0, 1, 4, True)),
        ("players : 3 humans, 0 bots (20/0 max) (not hibernating)", (3, 0, 20, False)),
        ("players : 0 humans, 0 bots (4 max)", (0, 0, 4, False)),
    ],
)
def test_it_reads_player_header_variants(line, expected):
    status = parse_status(f"map     : c1m1_hotel\n{line}\n#end\n")
    assert (status.players, status.bots, status.max_players, status.hibernating) == expected


@pytest.mark.parametrize(
    ("uniqueid", "steam_id_64"),
    [
        ("STEAM_0:0:0", "76561197960265728"),
        ("STEAM_1:1:0", "76561197960265729"),
        ("STEAM_0:1:12345", "76561197960290419"),  # base + 2 * 12345 + 1
        ("STEAM_1:1:12345", "76561197960290419"),  # the universe digit does not matter
        ("[U:1:24691]", "76561197960290419"),  # the same account in Steam3 form
        ("[U:1:1]", "76561197960265729"),
    ],
)
def test_it_converts_steam_ids_to_64_bit(uniqueid, steam_id_64):
    row = f'# 2 1 "p" {uniqueid} 00:01 5 0 active 30000 1.2.3.4:27005\n'
    assert parse_status(HEADER + row + "#end\n").roster[0].steam_id_64 == steam_id_64


@pytest.mark.parametrize(
    ("connected", "seconds"),
    [("00:00", 0), ("0:09", 9), ("59:59", 3599), ("1:00:00", 3600), ("10:00:00", 36000),
     ("123:04:05", 443_045)],
)  # fmt: skip
def test_it_reads_connected_times(connected, seconds):
    row = f'# 2 1 "p" STEAM_1:0:1 {connected} 5 0 active 30000\n'
    assert parse_status(HEADER + row).roster[0].connected_seconds == seconds


@pytest.mark.parametrize(
    "row",
    [
        '#27 "Coach" BOT active',
        '# 4 "Ellis" BOT active',
        '# 5 4 "Nick" BOT active',
        '# 7 6 "joining" STEAM_ID_PENDING 00:01 0 0 connecting 30000 1.2.3.4:27005',
        '# 8 7 "lan" STEAM_ID_LAN 00:10 10 0 active 30000 192.168.1.5:27005',
    ],
)
def test_it_skips_clients_without_a_steam_id(row):
    status = parse_status(HEADER + row + '\n# 9 8 "real" STEAM_1:0:5 00:01 5 0 active 30000\n')
    assert [entry.name for entry in status.roster] == ["real"]


def test_it_ignores_everything_after_end():
    text = fixture("hibernating.txt") + '# 9 "late" STEAM_1:0:1 00:01 5 0 active\n'
    assert parse_status(text).roster == ()


def test_it_keeps_names_that_look_like_rows():
    name = 'a" STEAM_1:0:3 00:02 7 0 active 30000 # 3 2 "b'
    row = f'# 2 1 "{name}" [U:1:77] 00:03 9 0 active 30000 1.2.3.4:27005\n'
    assert parse_status(HEADER + row).roster == (RosterEntry(str(BASE + 77), name, 3, 9),)


GARBAGE = [
    ("", "map"),
    ("players : 1 humans, 0 bots (4 max)\n", "map"),
    ("map     : c1m1_hotel\nhostname: no players line here\n", "players"),
    ("map : x\nplayers : lots (many max)\n", "players"),
    (HEADER + '# 2 1 "A" STEAM_1:0:1 99:99 5 0 active 30000\n', "99:99"),
    (HEADER + '# 2 1 "A" STEAM_1:0:1 00:60 5 0 active 30000\n', "00:60"),
    (HEADER + '# 2 1 "A" STEAM_1:0:1 soon 5 0 active 30000\n', "soon"),
    (HEADER + "# 2 1 no quotes here STEAM_1:0:1 00:01 5 0 active\n", "no quotes here"),
    (HEADER + '# 2 1 "A" STEAM_1:0:1 00:01 ping 0 active\n', "ping"),
    (HEADER + '# 2 1 "A" STEAM_1:0:1 00:01 ² 0 active\n', "²"),  # isdigit() but not int()
]


@pytest.mark.parametrize(("text", "excerpt"), GARBAGE)
def test_it_rejects_garbage_with_a_short_excerpt(text, excerpt):
    with pytest.raises(RconError) as caught:
        parse_status(text)
    message = str(caught.value)
    assert excerpt in message
    assert len(message) <= 140


def test_it_shortens_a_huge_offending_line():
    with pytest.raises(RconError) as caught:
        parse_status(HEADER + '# 2 1 "' + "x" * 5000 + '" STEAM_1:0:1 broken\n')
    assert "xxxxxxxxxx" in str(caught.value)
    assert len(str(caught.value)) <= 140


def test_it_shortens_a_huge_reply_without_a_header():
    with pytest.raises(RconError, match="map") as caught:
        parse_status("Unknown command " + "y" * 100_000)
    assert len(str(caught.value)) <= 140


@pytest.mark.parametrize(
    "text",
    [
        "\x01" * 500,
        "map : x\n" + "\U000114da" * 500,
        HEADER + '# 2 1 "' + "\x7f" * 500 + '" STEAM_1:0:1 broken\n',
    ],
)
def test_it_keeps_the_excerpt_short_when_escapes_inflate_it(text):
    with pytest.raises(RconError) as caught:
        parse_status(text)
    assert len(str(caught.value)) <= 140


@pytest.mark.parametrize(
    "text",
    [
        "map : x\nplayers : " + "9" * 5000 + " humans, 0 bots (4 max)\n",
        'map : x\nplayers : 1 humans, 0 bots (4 max)\n# 2 1 "A" STEAM_1:0:1 00:01 '
        + "9" * 5000
        + " 0 active\n",
        "map : x\nplayers : \u0663 humans, 0 bots (4 max)\n",  # an Arabic-Indic digit
    ],
)
def test_it_rejects_numbers_int_cannot_take_with_rcon_error(text):
    with pytest.raises(RconError):
        parse_status(text)


# Untrusted replies (SPEC section 13): clamped, cleaned, or invalid as a whole.


def reply(header: str = "players : 1 humans, 0 bots (4 max)", *rows: str, map: str = "c1m1_hotel"):
    return "\n".join([f"map     : {map}", header, "# userid name uniqueid", *rows, "#end"])


def row(n: int, name: str = "p") -> str:
    return f'# {n} {n} "{name}" STEAM_1:0:{n} 00:30 50 0 active'


@pytest.mark.parametrize(
    "header",
    ["players : 40000 humans, 0 bots (4 max)", "players : 1 humans, 256 bots (4 max)",
     "players : 1 humans, 0 bots (300 max)"],
)  # fmt: skip
def test_it_rejects_counts_above_255(header):
    with pytest.raises(RconError, match="above 255"):
        parse_status(reply(header))


def test_it_takes_counts_of_255():
    status = parse_status(reply("players : 255 humans, 255 bots (255 max)"))
    assert (status.players, status.bots, status.max_players) == (255, 255, 255)


def test_it_rejects_a_roster_longer_than_the_header_allows():
    rows = [row(n) for n in range(1, 14)]  # 13 > max(1, 4) + 8
    with pytest.raises(RconError, match="over 12 players listed, at most 12 possible"):
        parse_status(reply("players : 1 humans, 0 bots (4 max)", *rows))
    assert len(parse_status(reply("players : 1 humans, 0 bots (4 max)", *rows[:12])).roster) == 12


def test_it_never_takes_more_than_255_rows():
    rows = [row(n) for n in range(1, 257)]
    with pytest.raises(RconError, match="at most 255"):
        parse_status(reply("players : 255 humans, 0 bots (255 max)", *rows))


def test_it_cleans_nul_control_and_bidi_characters_from_names_and_map():
    text = reply(
        "players : 1 humans, 0 bots (4 max)",
        row(1, "Ev\u202eil\x00\x1b[31mName\u200b"),
        map="c1m1\x00_ho\u202etel\x07",
    )
    status = parse_status(text)
    assert status.map == "c1m1_hotel"
    assert status.roster[0].name == "Evil[31mName"


def test_it_cuts_map_and_names_to_their_columns_before_anyone_compares_them():
    status = parse_status(
        reply("players : 1 humans, 0 bots (4 max)", row(1, "n" * 300), map="m" * 99)
    )
    assert status.map == "m" * 64
    assert status.roster[0].name == "n" * 128
