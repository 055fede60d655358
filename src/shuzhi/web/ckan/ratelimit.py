"""Per-client rate limits of the public API: a token bucket per client address, in the server's memory.

A client past its rate is refused at once (429 with Retry-After), never made to wait: its calls cost
the server nothing further and every other client's bucket is its own, so one busy client cannot
slow the rest. The buckets live in each server process (with N processes a client gets up to N
times the rate); the least recently seen are forgotten past `MAX_CLIENTS`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

MAX_CLIENTS = 100_000


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, clock=time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

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
