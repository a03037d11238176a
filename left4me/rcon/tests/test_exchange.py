"""The sans-I/O query state machine, driven with hand-made server bytes."""

from __future__ import annotations

import pytest

from left4me.rcon import RconAuthError, RconError
from left4me.rcon.exchange import (
    AUTH_ID,
    COMMAND_ID,
    MARKER_ID,
    MAX_REPLY,
    TRAILER_BODY,
    Exchange,
)
from left4me.rcon.packets import PacketDecoder, encode

PASSWORD = "hunter2-very-secret"


def authed(command: str = "status") -> Exchange:
    exchange = Exchange(PASSWORD, command)
    exchange.start()
    sent = exchange.receive(encode(AUTH_ID, 0) + encode(AUTH_ID, 2))
    assert [p.id for p in PacketDecoder().packets(sent)] == [COMMAND_ID, MARKER_ID]
    return exchange


def test_it_sends_auth_then_the_command_and_an_empty_marker():
    exchange = Exchange(PASSWORD, "status")
    [auth] = PacketDecoder().packets(exchange.start())
    assert (auth.id, auth.type, auth.body) == (AUTH_ID, 3, PASSWORD.encode())
    assert exchange.receive(encode(AUTH_ID, 0)) == b""  # the empty packet before the verdict
    command, marker = PacketDecoder().packets(exchange.receive(encode(AUTH_ID, 2)))
    assert (command.type, command.body) == (2, b"status")
    assert (marker.id, marker.type, marker.body) == (MARKER_ID, 0, b"")


def test_it_joins_reply_packets_until_the_mirrored_marker():
    exchange = authed()
    exchange.receive(encode(COMMAND_ID, 0, b"one ") + encode(COMMAND_ID, 0, "twö".encode()))
    assert not exchange.done
    exchange.receive(encode(MARKER_ID, 0))
    assert exchange.done
    assert exchange.reply() == "one twö"
    assert not exchange.trailer_seen
    exchange.drain(encode(MARKER_ID, 0, TRAILER_BODY))
    assert exchange.trailer_seen


def test_it_skips_stray_packets_and_tolerates_junk_after_the_reply():
    exchange = authed()
    exchange.receive(encode(77, 0, b"log line") + encode(COMMAND_ID, 0, b"answer"))
    exchange.receive(encode(MARKER_ID, 0) + b"\xff\xff\xff\x7f garbage")
    assert (exchange.done, exchange.reply(), exchange.trailer_seen) == (True, "answer", True)


def test_it_replaces_invalid_utf8_instead_of_failing():
    exchange = authed()
    exchange.receive(encode(COMMAND_ID, 0, b"caf\xc3") + encode(MARKER_ID, 0))
    assert exchange.reply() == "caf\ufffd"


def test_it_raises_auth_error_on_id_minus_one():
    exchange = Exchange(PASSWORD, "status")
    exchange.start()
    with pytest.raises(RconAuthError) as caught:
        exchange.receive(encode(AUTH_ID, 0) + encode(-1, 2))
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (encode(AUTH_ID, 3), "packet type 3 during authentication"),
        (encode(42, 2), "auth response for unknown id 42"),
    ],
)
def test_it_rejects_a_confused_auth_reply(data, message):
    exchange = Exchange(PASSWORD, "status")
    exchange.start()
    with pytest.raises(RconError, match=message):
        exchange.receive(data)


def test_it_rejects_a_wrong_packet_type_inside_a_reply():
    with pytest.raises(RconError, match="packet type 3 in a reply"):
        authed().receive(encode(COMMAND_ID, 3, b"?"))


def test_it_treats_a_late_minus_one_as_a_dropped_session():
    with pytest.raises(RconAuthError, match="dropped"):
        authed().receive(encode(-1, 2))


def test_it_caps_the_reply_at_one_mebibyte():
    exchange = authed()
    chunk = encode(COMMAND_ID, 0, b"x" * 4000)
    for _ in range(MAX_REPLY // 4000):
        exchange.receive(chunk)  # just under the cap: fine
    with pytest.raises(RconError, match="exceeds"):
        exchange.receive(chunk * 2)


def test_it_caps_bytes_received_even_when_they_are_all_stray():
    exchange = authed()
    chunk = encode(99, 0, b"x" * 4000)
    for _ in range(MAX_REPLY // 4000):
        exchange.receive(chunk)
    with pytest.raises(RconError, match="exceeds"):
        exchange.receive(chunk * 20)
    assert exchange.reply() == ""


def test_it_refuses_bad_commands_and_passwords_without_echoing_them():
    with pytest.raises(RconError, match="NUL"):
        Exchange(PASSWORD, "say a\0b")
    with pytest.raises(RconError, match="password is too long") as caught:
        Exchange("p" * 5000, "status")
    assert "ppp" not in str(caught.value)
    with pytest.raises(RconError, match="exceeds"):
        Exchange(PASSWORD, "say " + "x" * 5000)
