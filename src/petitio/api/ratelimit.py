"""Fixed-window rate limits kept in Django's cache.

Works with every cache backend: the window's counter is created with
``cache.add`` and moved with ``cache.incr``, both atomic in the local-memory
cache (per process) and in Redis (shared by every web process).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.core.cache import cache


def clock() -> float:
    """The current time; tests replace it to stay inside one window."""
    return time.time()


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the current window ends


def rate_limit_hit(*, bucket: str, limit: int, period: int = 60) -> RateDecision:
    """Count one request against ``bucket``; allowed while the window holds ``limit`` or fewer."""
    now = clock()
    window = int(now // period)
    key = f"petitio:ratelimit:{bucket}:{window}"
    cache.add(key, 0, timeout=period + 5)
    try:
        used = cache.incr(key)
    except ValueError:  # the counter expired between add and incr
        cache.add(key, 1, timeout=period + 5)
        used = 1
    retry_after = max(1, math.ceil((window + 1) * period - now))
    return RateDecision(
        allowed=used <= limit,
        limit=limit,
        remaining=max(0, limit - used),
        retry_after=retry_after,
    )
