from __future__ import annotations

import logging
import pickle
import re
import socket
import threading
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from steamprofiles.steam_api import (
    ErrorKind,
    SteamApiError,
    fetch_player_summaries,
    redact,
    retry_after,
)
from steamprofiles.tests.fake_steam import API_KEY, FIXTURES, SUMMARIES_PATH

pytestmark = pytest.mark.nodb

HOSTS = ["avatars.steamstatic.com", "avatars.akamai.steamstatic.com"]
ALICE, BOB, CAROL = "76561197960287930", "76561197985018726", "76561198034567890"


def fetch(ids=(ALICE, BOB), **kwargs):
    kwargs.setdefault("avatar_hosts", HOSTS)
    return fetch_player_summaries(list(ids), api_key=API_KEY, **kwargs)


def assert_keyless(error: BaseException) -> None:
    assert API_KEY not in str(error)
    assert API_KEY not in repr(error)
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def test_it_asks_with_the_key_and_comma_joined_ids(steam):
    steam.load("summaries_two_players.json")
    found = fetch()
    query = parse_qs(urlsplit(steam.urls[0]).query)
    assert query == {"key": [API_KEY], "steamids": [f"{ALICE},{BOB}"]}
    assert steam.timeouts == [(3.05, 10)]
    assert found[ALICE].persona_name == "Rabscuttle"
    assert found[ALICE].avatar_url == (
        "https://avatars.steamstatic.com/f1dd60a188883caf82d0cbfccfe6aba0af1732d4_medium.jpg"
    )
    assert found[ALICE].profile_url == "https://steamcommunity.com/id/rabscuttle/"


def test_it_keeps_unicode_names_without_control_characters(steam):
    steam.load("summaries_two_players.json")
    assert fetch()[BOB].persona_name == "Crone ☠️"  # BEL dropped, emoji kept
    steam.known.clear()
    steam.load("summaries_odd_entries.json")
    found = fetch([ALICE, BOB, CAROL])
    # Bidi override dropped; the emoji's zero-width joiners and Cyrillic kept.
    assert found[ALICE].persona_name == "evil 👨\u200d👩\u200d👧 Сергей"
    assert found[BOB].persona_name == "x" * 128
    assert found[CAROL].persona_name == ""  # not a string


def test_it_keeps_only_https_avatars_on_allowed_hosts(steam):
    steam.load("summaries_foreign_avatar.json")
    found = fetch()
    assert found[ALICE].avatar_url == ""  # plain http
    assert found[BOB].avatar_url == ""  # foreign host
    assert found[BOB].profile_url == ""  # javascript: URL
    steam.known.clear()
    steam.load("summaries_odd_entries.json")
    found = fetch([ALICE, BOB, CAROL])
    assert [found[i].avatar_url for i in (ALICE, BOB, CAROL)] == ["", "", ""]  # port, user, bad


def test_it_defaults_to_the_avatar_hosts_setting(steam, settings):
    steam.load("summaries_two_players.json")
    settings.STEAM_AVATAR_HOSTS = ["avatars.akamai.steamstatic.com"]
    found = fetch_player_summaries([ALICE, BOB], api_key=API_KEY)
    assert (found[ALICE].avatar_url, bool(found[BOB].avatar_url)) == ("", True)


def test_it_ignores_players_it_did_not_ask_for(steam):
    steam.failures.append((200, {}, (FIXTURES / "summaries_odd_entries.json").read_bytes()))
    assert set(fetch([ALICE])) == {ALICE}


def test_it_returns_nothing_for_an_empty_reply(steam):
    steam.failures.append((200, {}, (FIXTURES / "summaries_empty.json").read_bytes()))
    assert fetch() == {}


def test_it_keeps_private_profiles_steam_still_returns(steam):
    steam.load("summaries_private_profile.json")
    assert fetch([CAROL])[CAROL].persona_name == "quietone"


@pytest.mark.parametrize(
    "ids",
    [[], [str(76561197960265728 + i) for i in range(101)], ["7656119796028793,1"], ["abc"]],
)
def test_it_refuses_bad_batches_without_calling(steam, ids):
    with pytest.raises(ValueError, match="SteamID"):
        fetch(ids)
    assert steam.calls == []


def leaky(cls):
    return cls(
        f"HTTPSConnectionPool: Max retries exceeded with url: {SUMMARIES_PATH}?key={API_KEY}"
    )


@pytest.mark.parametrize(
    ("failure", "kind", "retry", "text"),
    [
        ((429, {"Retry-After": "120"}, "too_many_requests_429.html"), "rate-limited", 120.0, "429"),
        ((429, {}, "too_many_requests_429.html"), "rate-limited", None, "rate limit"),
        ((500, {}, "internal_error_500.html"), "server", None, "server error (HTTP 500)"),
        ((503, {"Retry-After": "30"}, ""), "server", 30.0, "HTTP 503"),
        ((403, {}, "forbidden_403.html"), "rejected", None, "Steam rejected the API key"),
        ((401, {}, ""), "rejected", None, "Steam rejected the API key"),
        ((404, {}, ""), "rejected", None, "HTTP 404"),
        ((200, {}, "internal_error_500.html"), "malformed", None, "not the expected JSON"),
        (leaky(requests.ConnectTimeout), "connection", None, "timed out"),
        (leaky(requests.ReadTimeout), "connection", None, "timed out"),
        (leaky(requests.ConnectionError), "connection", None, "unreachable (ConnectionError)"),
        (leaky(requests.exceptions.ChunkedEncodingError), "connection", None, "unreachable"),
    ],
)
def test_it_turns_every_failure_into_a_keyless_error(steam, caplog, failure, kind, retry, text):
    caplog.set_level(logging.DEBUG)
    if isinstance(failure, Exception):
        steam.failures.append(failure)
    else:
        steam.fail(failure[0], headers=failure[1], body=failure[2])
    with pytest.raises(SteamApiError, match=re.escape(text)) as caught:
        fetch()
    assert (caught.value.kind, caught.value.retry_after) == (ErrorKind(kind), retry)
    assert_keyless(caught.value)
    assert API_KEY not in caplog.text


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"response": {}}',
        b'{"response": {"players": {}}}',
        b'{"response": {"players": ["x"]}}',
        b'{"response": {"players": [{"personaname": "no id"}]}}',
        b'{"response": {"players": [{"steamid": 76561197960287930}]}}',
        b'{"response": {"players": [{"steamid": "\xd9\xa1\xd9\xa2"}]}}',  # Arabic-Indic digits
    ],
)
def test_it_rejects_malformed_replies(steam, body):
    steam.failures.append((200, {}, body))
    with pytest.raises(SteamApiError) as caught:
        fetch()
    assert caught.value.kind == ErrorKind.MALFORMED


def test_it_reads_retry_after_as_an_http_date():
    response = requests.Response()
    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    response.headers["Retry-After"] = format_datetime(now.replace(minute=5), usegmt=True)
    assert retry_after(response, now=now) == 300.0


@pytest.mark.parametrize("value", ["", "soon", "-5", "inf", "nan", "Mon, 99 Foo 2026"])
def test_it_ignores_unusable_retry_after(value):
    response = requests.Response()
    response.headers["Retry-After"] = value
    assert retry_after(response) is None


def test_it_pickles_errors_without_losing_the_kind():
    data = pickle.dumps(SteamApiError("x", kind=ErrorKind.SERVER, retry_after=3.0))
    error = pickle.loads(data)  # noqa: S301 (our own bytes)
    assert (str(error), error.kind, error.retry_after) == ("x", ErrorKind.SERVER, 3.0)


def test_it_redacts_keys_from_text():
    assert redact(f"GET /x?key={API_KEY}&steamids=1") == "GET /x?key=[redacted]&steamids=1"
    assert redact(f"'https://h/?KEY={API_KEY}'") == "'https://h/?KEY=[redacted]'"
    assert API_KEY not in str(SteamApiError(f"url ?key={API_KEY}", kind=ErrorKind.SERVER))


# --- A real socket on loopback: requests' and urllib3's own error texts and logs.


class Scripted(BaseHTTPRequestHandler):
    """Answers like Steam, or redirects, or hangs until released."""

    mode = "ok"
    release = threading.Event()

    def do_GET(self) -> None:
        if self.mode == "hang":
            self.release.wait(5)
            return
        if self.mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:9/elsewhere" + self.path)
            self.end_headers()
            return
        body = (FIXTURES / "summaries_two_players.json").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def local_steam():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Scripted.mode = "ok"
    Scripted.release.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}{SUMMARIES_PATH}"
    Scripted.release.set()
    server.shutdown()
    server.server_close()


def test_it_never_logs_the_key_over_a_real_socket(local_steam, caplog):
    caplog.set_level(logging.DEBUG)
    found = fetch(url=local_steam, session=requests.Session())
    assert found[ALICE].persona_name == "Rabscuttle"
    # urllib3 logged the request line, its path cut (alerts/client.py's filter)
    assert '"GET /… HTTP/1.1" 200' in caplog.text
    assert API_KEY not in caplog.text


def test_it_hides_the_key_when_the_connection_is_refused(caplog):
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}{SUMMARIES_PATH}"
    with pytest.raises(SteamApiError, match="unreachable") as caught:
        fetch(url=url, session=requests.Session())
    assert caught.value.kind == ErrorKind.CONNECTION
    assert_keyless(caught.value)
    assert API_KEY not in caplog.text


def test_it_hides_the_key_when_the_read_times_out(local_steam, caplog):
    caplog.set_level(logging.DEBUG)
    Scripted.mode = "hang"
    with pytest.raises(SteamApiError, match="timed out") as caught:
        fetch(url=local_steam, session=requests.Session(), timeout=(1, 0.2))
    assert caught.value.kind == ErrorKind.CONNECTION
    assert_keyless(caught.value)
    assert API_KEY not in caplog.text


def test_it_never_follows_a_redirect_with_the_key(local_steam):
    Scripted.mode = "redirect"
    with pytest.raises(SteamApiError, match="HTTP 302") as caught:
        fetch(url=local_steam, session=requests.Session())
    assert_keyless(caught.value)
