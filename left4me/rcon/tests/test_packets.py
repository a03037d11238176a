"""Packet framing and the incremental decoder (pure bytes, no sockets)."""

from __future__ import annotations

import struct

import pytest

from left4me.rcon import RconError
from left4me.rcon.packets import MAX_BODY, MAX_SIZE, MIN_SIZE, Packet, PacketDecoder, encode


def test_it_frames_a_packet_as_valve_documents():
    assert encode(7, 2, b"status") == (
        struct.pack("<iii", 16, 7, 2) + b"status" + b"\0\0"
    )  # size counts id, type, body and both NULs


@pytest.mark.parametrize(
    ("request_id", "packet_type", "body"),
    [(0, 0, b""), (-1, 2, b""), (2**31 - 1, 3, b"pw"), (5, 0, "héllo 🧟".encode()),
     (9, 0, b"a\0b"), (3, 0, b"x" * MAX_BODY)],
)  # fmt: skip
def test_it_round_trips_a_packet(request_id, packet_type, body):
    assert PacketDecoder().packets(encode(request_id, packet_type, body)) == [
        Packet(request_id, packet_type, body)
    ]


def test_it_splits_coalesced_packets_from_one_feed():
    data = encode(1, 0, b"hello") + encode(2, 2, b"") + encode(3, 0, b"x" * MAX_BODY)
    packets = PacketDecoder().packets(data)
    assert [(p.id, p.type, len(p.body)) for p in packets] == [
        (1, 0, 5),
        (2, 2, 0),
        (3, 0, MAX_BODY),
    ]


def test_it_keeps_a_partial_packet_for_the_next_feed():
    data = encode(1, 0, b"first") + encode(2, 0, b"second")
    decoder = PacketDecoder()
    assert decoder.packets(data[:-3]) == [Packet(1, 0, b"first")]
    assert decoder.next() is None
    assert decoder.packets(data[-3:]) == [Packet(2, 0, b"second")]


def test_it_assembles_packets_fed_a_byte_at_a_time():
    decoder, found = PacketDecoder(), []
    for byte in encode(7, 0, "héllo".encode()) * 2 + encode(8, 2, b""):
        found += decoder.packets(bytes([byte]))
    assert found == [Packet(7, 0, "héllo".encode())] * 2 + [Packet(8, 2, b"")]


def test_it_decodes_many_packets_in_linear_time():
    data = encode(1, 0, b"y" * 100) * 20_000  # 2.2 MB fed in 1 KiB chunks
    decoder, count = PacketDecoder(), 0
    for start in range(0, len(data), 1024):
        count += len(decoder.packets(data[start : start + 1024]))
    assert count == 20_000


@pytest.mark.parametrize("size", [MIN_SIZE, MAX_SIZE])
def test_it_accepts_the_size_limits_themselves(size):
    data = struct.pack("<iii", size, 1, 0) + b"z" * (size - MIN_SIZE) + b"\0\0"
    assert len(PacketDecoder().packets(data)[0].body) == size - MIN_SIZE


@pytest.mark.parametrize("size", [-2_000_000_000, -1, 0, 9, 4097, 65536, 2_000_000_000])
def test_it_rejects_a_size_out_of_range_from_the_size_field_alone(size):
    decoder = PacketDecoder()
    decoder.feed(struct.pack("<i", size)[:3])
    assert decoder.next() is None  # three bytes: nothing to judge yet
    with pytest.raises(RconError, match="out of range"):
        decoder.packets(struct.pack("<i", size)[3:])  # the fourth byte decides at once


def test_it_rejects_a_bad_size_after_a_good_packet():
    with pytest.raises(RconError, match="size 2000000000"):
        PacketDecoder().packets(encode(1, 0, b"ok") + struct.pack("<i", 2_000_000_000))


@pytest.mark.parametrize("tail", [b"ab", b"\0a", b"a\0"])
def test_it_rejects_a_packet_without_both_terminators(tail):
    with pytest.raises(RconError, match="NUL-terminated"):
        PacketDecoder().packets(struct.pack("<iii", 12, 1, 0) + b"xy" + tail)


def test_it_refuses_to_encode_an_oversized_body():
    encode(1, 2, b"x" * MAX_BODY)
    with pytest.raises(RconError, match="exceeds"):
        encode(1, 2, b"x" * (MAX_BODY + 1))
