"""Per-client rate limits of the public API: a token bucket per client address, in the server's memory.

A client past its rate is refused at once (429 with Retry-After), never made to wait: its calls cost
the server nothing further and every other client's bucket is its own, so one busy client cannot
slow the rest. A client also has at most `at_once` calls running: slow calls (a long SQL query, a
sort over a large file) within its rate could otherwise hold every server thread. The buckets live in each server process (with N processes a client gets up to N
times the rate); the least recently seen are forgotten past `MAX_CLIENTS`.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict

from shuzhi.errors import Throttled
from shuzhi.i18n import M_

MAX_CLIENTS = 100_000


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, clock=time.monotonic, at_once: int = 4):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.at_once = at_once
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def start(self, client: str) -> bool:
        """Count a call of `client` as running: False (nothing counted) when it has `at_once` already."""
        with self._lock:
            running = self._running.get(client, 0)
            if running >= self.at_once:
                return False
            self._running[client] = running + 1
            return True

    def finish(self, client: str) -> None:
        """A call `start` counted has ended."""
        with self._lock:
            left = self._running.pop(client, 1) - 1
            if left > 0:
                self._running[client] = left

    def take(self, client: str) -> int | None:
        """Spend one call of `client`: None when allowed, else the seconds until the next is."""
        now = self.clock()
        with self._lock:
            tokens, seen = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - seen) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
        return None if allowed else max(1, math.ceil((1.0 - tokens) / self.rate))


def public_limiter(state) -> RateLimiter:
    """The app's one limiter of public, anonymous use (the CKAN API, downloads, the DCAT exports),
    made on first use from the `ckan` settings: a client's calls on every public face share a bucket."""
    limiter = getattr(state, "ckan_limiter", None)
    if limiter is None:
        ckan = state.settings.ckan
        limiter = state.ckan_limiter = RateLimiter(
            ckan.requests_per_minute, ckan.burst, at_once=ckan.calls_at_once
        )
    return limiter


def client_key(request) -> str:
    """Who is calling, for rate limits and the engine's fair queue: an IPv4 address, or an IPv6
    client's /64 (one subscriber's network: a new address per call is still the same client)."""
    host = request.client.host if request.client else "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network((ip, 64), strict=False))
    return str(getattr(ip, "ipv4_mapped", None) or ip)


def throttle(request) -> None:
    """Spend one public call of the requesting client; Throttled (429, Retry-After) past its rate."""
    retry = public_limiter(request.app.state).take(client_key(request))
    if retry is not None:
        raise Throttled(M_("too many requests: retry in %(retry)s s", retry=retry), retry_after=retry)
