"""The parser cuts text to the columns that store it, so what it compares is what is stored."""

from __future__ import annotations

import pytest

from left4me.rcon.status import MAP_LENGTH, NAME_LENGTH
from livestate.models import LiveStateSnapshot, LiveStatus, PlayerSession

pytestmark = pytest.mark.nodb


def test_the_parser_limits_match_the_columns():
    assert LiveStateSnapshot._meta.get_field("map").max_length == MAP_LENGTH
    assert LiveStatus._meta.get_field("map").max_length == MAP_LENGTH
    assert PlayerSession._meta.get_field("name_at_join").max_length == NAME_LENGTH
