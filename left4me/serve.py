"""The web server: waitress serving left4me.wsgi, with limits fit for a public panel.

`python -m left4me.serve --listen HOST:PORT` is what the Procfile (quick start),
the Dockerfile and compose run, so all three get the same limits.

Why waitress: its asyncore loop reads and buffers a whole request before a
worker thread sees it, so a client that trickles its headers (slowloris) costs
one socket, not one of the few threads; gunicorn's sync workers let four such
clients take the site down. What bounds slow clients here is the connection
limit; in front of the public internet compose's Caddy cuts them off first
(its read timeouts), and waitress only ever sees whole requests.

Why a module and not `waitress-serve` flags: waitress has no access log, the
knobs are read from the environment like every other setting (strictly: a
typo stops start-up), and TRUSTED_PROXY is checked to be an address.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import time
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any
from urllib.parse import quote

from left4me.env import EnvError, env_int, env_str

DEFAULT_THREADS = 8  # requests run at once; each holds a database connection meanwhile
DEFAULT_CONNECTION_LIMIT = 500  # open sockets, slow or idle ones included (1 fd each)
CHANNEL_TIMEOUT_SECONDS = 30  # an idle keep-alive socket is closed after this (Caddy's is 20 s)
CLEANUP_INTERVAL_SECONDS = 5  # how often idle sockets are looked for
MAX_REQUEST_HEADER_BYTES = 32 * 1024  # request line + headers: cookies of a panel are small
MAX_REQUEST_BODY_BYTES = 1024 * 1024  # the largest form is a blueprint's config lines
PROXY_HEADERS = "x-forwarded-for x-forwarded-proto"

access_log = logging.getLogger("left4me.access")
log = logging.getLogger("left4me.serve")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def trusted_proxy() -> str | None:
    """TRUSTED_PROXY: the one address whose X-Forwarded-For/-Proto are believed.

    waitress compares it with the peer's address as a string, so a host name
    would silently never match and "*" would let any client pick its address
    (and dodge the login throttle, which counts REMOTE_ADDR): both refused.
    """
    raw = env_str("TRUSTED_PROXY").strip()
    if not raw:
        return None
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise EnvError(f"TRUSTED_PROXY must be one IP address, got {raw!r}") from None


def server_options(*, listen: str) -> dict[str, Any]:
    """waitress's adjustments, from the constants above and the WEB_* variables."""
    options: dict[str, Any] = {
        "listen": listen,
        "threads": env_int("WEB_THREADS", DEFAULT_THREADS, minimum=1),
        "connection_limit": env_int("WEB_CONNECTION_LIMIT", DEFAULT_CONNECTION_LIMIT, minimum=1),
        "channel_timeout": CHANNEL_TIMEOUT_SECONDS,
        "cleanup_interval": CLEANUP_INTERVAL_SECONDS,
        "max_request_header_size": MAX_REQUEST_HEADER_BYTES,
        "max_request_body_size": MAX_REQUEST_BODY_BYTES,
        "asyncore_use_poll": True,  # select() fails past 1024 descriptors
        "clear_untrusted_proxy_headers": True,  # nobody else's X-Forwarded-* reaches Django
    }
    proxy = trusted_proxy()
    if proxy:
        options |= {
            "trusted_proxy": proxy,
            "trusted_proxy_count": 1,  # the proxy's own hop: the address it saw
            "trusted_proxy_headers": PROXY_HEADERS,
        }
    return options


class AccessLog:
    """One INFO line per request on "left4me.access": client, method, path, status, time.

    The query string is left out (it can carry tokens), and so are bytes that
    could forge a log line (the path is percent-encoded again). The time is
    until the response starts: Django renders before it does.
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        status = "500"  # what waitress answers if the application raises

        def start(status_line: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            nonlocal status
            status = status_line.split(" ", 1)[0]
            return start_response(status_line, headers, *exc_info)

        try:
            return self.app(environ, start)
        finally:
            access_log.info(
                '%s "%s %s" %s %.0fms %s',
                environ.get("REMOTE_ADDR", "-"),
                quote(environ.get("REQUEST_METHOD", "-"), safe=""),
                printable_path(environ),
                status,
                (time.perf_counter() - started) * 1000,
                environ.get("wsgi.url_scheme", "-"),
            )


def printable_path(environ: dict[str, Any]) -> str:
    """The path as the client sent it, percent-encoded: no spaces or control characters."""
    raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    return quote(raw.encode("latin-1", "replace"), safe="/:@!$&'()*+,;=-._~%")


def stop(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (compose, the quick start's supervisor): leave run() so waitress closes."""
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m left4me.serve", description=__doc__)
    parser.add_argument(
        "--listen", default="127.0.0.1:8000", help="HOST:PORT (default %(default)s)"
    )
    args = parser.parse_args(argv)
    options = server_options(listen=args.listen)

    from waitress import create_server  # type: ignore[import-untyped]

    from left4me.wsgi import application  # sets Django up, logging included

    server = create_server(AccessLog(application), **options)
    signal.signal(signal.SIGTERM, stop)
    log.info(
        "serving on http://%s (%d threads, at most %d connections, trusted proxy: %s)",
        args.listen,
        options["threads"],
        options["connection_limit"],
        options.get("trusted_proxy", "none"),
    )
    try:
        server.run()
    finally:
        server.close()


if __name__ == "__main__":
    main()
