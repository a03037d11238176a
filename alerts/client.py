"""POST one webhook body to exactly the address the outbound policy allowed.

The host is resolved and every address it resolves to checked against the
policy at each send (DNS may have changed since the rule was saved); the
connection then goes to the checked address, never to a second lookup's:
- http:// connects to the IP and sends the name in `Host`;
- https:// connects to the IP too, and gives the name to TLS (SNI and the
  certificate check) through a pinned adapter, so a DNS answer that
  changes between the check and the connect cannot redirect the request.
No redirects are followed, no proxy from the environment is used, the
response body is never read, and nothing from a requests exception (whose
text holds the URL, token included) reaches a message: every failure is a
`SendError` in our words.

Framework-free: the caller hands in the policy and the CA bundle.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from alerts.destinations import Destination, InvalidDestination, parse
from left4me import outbound

TIMEOUT = (3.0, 5.0)  # connect, read
RESOLVE_SECONDS = 2.0
USER_AGENT = "left4me-alerts (self-hosted L4D2 panel)"


class ErrorKind(StrEnum):
    INVALID = "invalid"
    REFUSED = "refused"
    DNS = "dns"
    CONNECT = "connect"
    TIMEOUT = "timeout"
    TLS = "tls"
    REDIRECT = "redirect"
    REJECTED = "rejected"
    SERVER = "server"
    RATE_LIMITED = "rate_limited"


RETRYABLE = frozenset(
    {ErrorKind.DNS, ErrorKind.CONNECT, ErrorKind.TIMEOUT, ErrorKind.TLS, ErrorKind.SERVER,
     ErrorKind.RATE_LIMITED}
)  # fmt: skip


class SendError(Exception):
    """A delivery that did not go through, described only by text we wrote."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status_code = status_code
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


@dataclass(frozen=True, slots=True)
class Sent:
    status_code: int
    address: str
    seconds: float


class _PinnedTLSAdapter(HTTPAdapter):
    """Connects to the URL's IP but speaks TLS for `hostname` (SNI, certificate check)."""

    def __init__(self, hostname: str) -> None:
        self._hostname = hostname  # before super().__init__, which builds the pool manager
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **pool_kwargs: Any) -> None:
        pool_kwargs.update(server_hostname=self._hostname, assert_hostname=self._hostname)
        super().init_poolmanager(*args, **pool_kwargs)


class _RedactRequestLines(logging.Filter):
    """urllib3 logs each request line (path and token) at DEBUG: keep only its start."""

    _LINE = re.compile(r'("(?:POST|GET|PUT|HEAD|DELETE|PATCH|OPTIONS) )(/[^ "]*)')

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._LINE.sub(lambda m: m[1] + m[2][:1] + "…", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactRequestLines())


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    policy: outbound.Policy,
    verify: bool | str = True,
) -> Sent:
    """Send `body`; Sent on a 2xx answer, else SendError."""
    try:
        destination = parse(url)
    except InvalidDestination:
        raise SendError(
            "the stored URL is not valid (replace it)", kind=ErrorKind.INVALID
        ) from None
    address = _checked_address(destination.host, policy)
    started = time.perf_counter()
    response = _send(destination, address, body, headers, verify)
    try:
        _check_status(response)
    finally:
        response.close()
    return Sent(response.status_code, address, time.perf_counter() - started)


def _checked_address(host: str, policy: outbound.Policy) -> str:
    try:
        return outbound.resolve_now(host, policy=policy, timeout=RESOLVE_SECONDS)
    except outbound.AddressRefused:
        raise SendError(
            "the destination's address is not one the panel may connect to", kind=ErrorKind.REFUSED
        ) from None
    except outbound.InvalidHost:
        raise SendError("the destination's host does not resolve", kind=ErrorKind.DNS) from None
    except TimeoutError:
        raise SendError("looking up the destination's host timed out", kind=ErrorKind.DNS) from None


def _send(
    destination: Destination, address: str, body: bytes, headers: dict[str, str], verify: bool | str
) -> requests.Response:
    session = requests.Session()
    session.trust_env = False  # no proxy or .netrc from the environment
    ip = f"[{address}]" if ":" in address else address
    if destination.scheme == "https":
        session.mount("https://", _PinnedTLSAdapter(destination.host))
    url = f"{destination.scheme}://{ip}:{destination.port}{destination.target}"
    sent_headers = {"User-Agent": USER_AGENT, **headers, "Host": destination.netloc}
    try:
        return session.post(
            url, data=body, headers=sent_headers, timeout=TIMEOUT, allow_redirects=False,
            stream=True, verify=verify,
        )  # fmt: skip
    except requests.exceptions.SSLError:
        message = "the TLS handshake failed (is the certificate valid for the host?)"
        raise SendError(message, kind=ErrorKind.TLS) from None
    except requests.exceptions.ConnectTimeout:
        message = f"connecting timed out after {TIMEOUT[0]:g} s"
        raise SendError(message, kind=ErrorKind.TIMEOUT) from None
    except requests.exceptions.ReadTimeout:
        message = f"no answer within {TIMEOUT[1]:g} s"
        raise SendError(message, kind=ErrorKind.TIMEOUT) from None
    except requests.exceptions.ConnectionError:
        raise SendError("the connection failed or was refused", kind=ErrorKind.CONNECT) from None
    except Exception as error:
        message = f"the request failed ({type(error).__name__})"
        raise SendError(message, kind=ErrorKind.CONNECT) from None
    finally:
        session.close()


def _check_status(response: requests.Response) -> None:
    code = response.status_code
    if 200 <= code < 300:
        return
    if code == 429:
        raise SendError(
            "the destination is rate-limiting us (HTTP 429)",
            kind=ErrorKind.RATE_LIMITED,
            status_code=code,
            retry_after=retry_after(response.headers.get("Retry-After", "")),
        )
    if 300 <= code < 400:
        message = f"the destination redirected (HTTP {code}); redirects are not followed"
        raise SendError(message, kind=ErrorKind.REDIRECT, status_code=code)
    if code >= 500:
        message = f"the destination failed (HTTP {code})"
        raise SendError(message, kind=ErrorKind.SERVER, status_code=code)
    message = f"the destination refused the delivery (HTTP {code})"
    raise SendError(message, kind=ErrorKind.REJECTED, status_code=code)


def retry_after(value: str, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After value (delta-seconds or HTTP-date), if usable."""
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
