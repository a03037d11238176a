from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from left4me.rcon import RconError
from left4me.rcon.exchange import Exchange
from left4me.rcon.packets import MAX_BODY, PacketDecoder, encode


def test_it_round_trips_coalesced_packets():
    data = encode(1, 0, b"hello") + encode(2, 2, b"") + encode(3, 0, b"x" * MAX_BODY)
    packets = PacketDecoder().packets(data)
    assert [(p.id, p.type, len(p.body)) for p in packets] == [
        (1, 0, 5),
        (2, 2, 0),
        (3, 0, MAX_BODY),
    ]


def test_it_assembles_packets_fed_a_byte_at_a_time():
    decoder, found = PacketDecoder(), []
    for byte in encode(7, 0, "héllo".encode()) * 2:
        found += decoder.packets(bytes([byte]))
    assert [p.body.decode() for p in found] == ["héllo", "héllo"]


@pytest.mark.parametrize("size", [-1, 0, 9, 4097, 2_000_000_000])
def test_it_rejects_a_size_out_of_range_from_the_size_field_alone(size):
    with pytest.raises(RconError, match="out of range"):
        PacketDecoder().packets(struct.pack("<i", size))


def test_it_rejects_a_packet_without_terminators():
    with pytest.raises(RconError, match="NUL-terminated"):
        PacketDecoder().packets(struct.pack("<iii", 10, 1, 0) + b"ab")


def test_it_refuses_to_encode_an_oversized_body():
    with pytest.raises(RconError):
        encode(1, 2, b"x" * (MAX_BODY + 1))


@settings(max_examples=300, deadline=500)
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=64))
def test_it_only_ever_raises_rcon_error_on_random_bytes(data, step):
    exchange = Exchange("pw", "status")
    exchange.start()
    try:
        for start in range(0, len(data), step):
            exchange.receive(data[start : start + step])
    except RconError:
        pass


@settings(max_examples=200, deadline=500)
@given(
    st.lists(st.tuples(st.integers(-3, 5), st.integers(-2, 4), st.binary(max_size=40)), max_size=8)
)
def test_it_only_ever_raises_rcon_error_on_random_packet_streams(packets):
    exchange = Exchange("pw", "status")
    exchange.start()
    stream = b"".join(encode(i, t, body) for i, t, body in packets)
    with contextlib.suppress(RconError):
        exchange.receive(stream)
