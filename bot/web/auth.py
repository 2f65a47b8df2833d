"""The dashboard's defences around sign-in: same-origin POSTs with a CSRF token, server-side
sessions, and a bounded throttle on failed sign-ins.

- Every POST (sign-in and sign-out too) must come from the dashboard's own origin (the
  `Origin` header, else the `Referer`; a POST with neither is refused) and carry a CSRF token:
  before sign-in, the value of a `peerbot_csrf` cookie set with the form (double submit;
  SameSite=Strict, HttpOnly); after, the token stored with the session. This stops login
  CSRF (signing a coordinator into the attacker's account) and forced sign-out.
- The session cookie is a random id whose SHA-256 names a `dashboard_session` row; sign-out
  deletes the row and revoking a token deletes its sessions, so both take effect at once.
- Failed sign-ins (a wrong token posted or presented as `Bearer`) are counted in memory per
  client address and overall, over a sliding window; past either limit the answer is 429
  with `Retry-After` until the window has moved on. The memory is bounded: at most
  `MAX_ADDRESSES` addresses are tracked (the least recently failing are dropped) and each
  keeps at most `PER_ADDRESS` timestamps. The counts are per process; tokens are 256-bit
  random values, so the throttle is a brake on noise and abuse, not what keeps them secret.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web

CSRF_COOKIE = "peerbot_csrf"
CSRF_FIELD = "csrf"
WINDOW_SECONDS = 15 * 60
PER_ADDRESS = 5
OVERALL = 50
MAX_ADDRESSES = 10_000
_FORM = re.compile(r"<form\b[^>]*\bmethod=\"post\"[^>]*>", re.IGNORECASE)


@dataclass
class FailedSignIns:
    """Failed sign-ins per client address and overall, over a sliding window (bounded)."""

    per_address: int = PER_ADDRESS
    overall: int = OVERALL
    window: float = WINDOW_SECONDS
    max_addresses: int = MAX_ADDRESSES
    _by_address: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)
    _all: deque[float] = field(default_factory=deque)

    def _trim(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()

    def retry_after(self, address: str, now: float | None = None) -> int:
        """Seconds until this address may try again; 0 when it may now."""
        now = time.monotonic() if now is None else now
        self._trim(self._all, now)
        mine = self._by_address.get(address)
        if mine is not None:
            self._trim(mine, now)
        waits = []
        if len(self._all) >= self.overall:
            waits.append(self._all[len(self._all) - self.overall] + self.window - now)
        if mine is not None and len(mine) >= self.per_address:
            waits.append(mine[len(mine) - self.per_address] + self.window - now)
        return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, address: str, now: float | None = None) -> None:
        """Count one failure of this address."""
        now = time.monotonic() if now is None else now
        self._all.append(now)
        while len(self._all) > self.overall:
            self._all.popleft()
        mine = self._by_address.pop(address, None) or deque(maxlen=self.per_address)
        mine.append(now)
        self._by_address[address] = mine  # most recent last
        while len(self._by_address) > self.max_addresses:
            self._by_address.popitem(last=False)

    def tracked(self) -> int:
        """How many addresses are remembered (never more than `max_addresses`)."""
        return len(self._by_address)


def client_address(request: web.Request) -> str:
    """The peer address of the connection (a proxy's, behind one: the overall limit holds)."""
    return request.remote or "unknown"


def _own_origins(request: web.Request) -> set[str]:
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    hosts = {request.host}
    forwarded = request.headers.get("X-Forwarded-Host")
    if forwarded:
        hosts.add(forwarded.split(",")[0].strip())
    return {f"{s}://{h}".lower() for h in hosts for s in {scheme, request.scheme}}


def same_origin(request: web.Request) -> bool:
    """Whether a POST comes from a page of this dashboard (Origin, else Referer)."""
    origin = request.headers.get("Origin")
    if origin == "null" and request.headers.get("Sec-Fetch-Site") == "same-origin":
        # a browser hides the origin of a page that asked for no referrer, but tells (in a
        # header no page can set) that the request comes from the same origin
        return True
    if origin is None:
        referer = request.headers.get("Referer")
        if not referer:
            return False
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin.lower() in _own_origins(request)


def csrf_matches(expected: str | None, given: object) -> bool:
    """Constant-time comparison of the form's CSRF token with the expected one."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def new_csrf() -> str:
    """A fresh random CSRF token."""
    return secrets.token_urlsafe(32)


def with_csrf(html: str, token: str) -> str:
    """Add the CSRF token as a hidden field to every POST form of a page."""
    hidden = f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">'
    return _FORM.sub(lambda m: m.group(0) + hidden, html)


def secure_request(request: web.Request) -> bool:
    """Whether cookies should be marked Secure (HTTPS here or at the proxy)."""
    return request.secure or request.headers.get("X-Forwarded-Proto") == "https"
