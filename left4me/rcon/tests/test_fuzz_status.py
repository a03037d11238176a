"""parse_status on random and mangled text: a Status or an RconError, nothing else."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from left4me.rcon import RconError, Status, parse_status

VALID = [p.read_text(encoding="utf-8") for p in (Path(__file__).parent / "fixtures").glob("*.txt")]


def parse_or_error(text: str) -> None:
    with contextlib.suppress(RconError):
        assert isinstance(parse_status(text), Status)


@settings(max_examples=300, deadline=500)
@given(st.text(max_size=800))
def test_it_survives_random_text(text):
    parse_or_error(text)


@settings(max_examples=300, deadline=500)
@given(st.sampled_from(VALID), st.integers(0, 2000), st.integers(0, 2000), st.text(max_size=30))
def test_it_survives_cut_and_spliced_status(text, start, length, insert):
    parse_or_error(text[:start] + insert + text[start + length :])


@settings(max_examples=200, deadline=500)
@given(st.sampled_from(VALID), st.lists(st.integers(0, 3000), max_size=10), st.characters())
def test_it_survives_character_swaps(text, positions, char):
    chars = list(text)
    for position in positions:
        if position < len(chars):
            chars[position] = char
    parse_or_error("".join(chars))
