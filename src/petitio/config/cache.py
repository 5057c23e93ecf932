"""The cache of a deployment: Redis, where an unreachable Redis is a miss, not an error."""

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)


def _or(fallback: Callable[..., Any]) -> Callable[[Callable[..., Any]], Any]:
    def wrap(method: Callable[..., Any]) -> Any:
        @functools.wraps(method)
        def guarded(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                logger.warning("cache unavailable (%s): treated as a miss", type(exc).__name__)
                return fallback(*args, **kwargs)

        return guarded

    return wrap


def _missing(*args: Any, **kwargs: Any) -> Any:
    raise ValueError("cache unavailable")  # what incr() raises for a missing key


class FailOpenRedisCache(RedisCache):
    """Signing and reading go on while Redis is down: every failure is a miss."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
        super().__init__(server, {**params, "OPTIONS": options | params.get("OPTIONS", {})})

    get = _or(lambda key, default=None, version=None: default)(RedisCache.get)
    get_many = _or(lambda keys, version=None: {})(RedisCache.get_many)
    has_key = _or(lambda *a, **k: False)(RedisCache.has_key)
    add = _or(lambda *a, **k: False)(RedisCache.add)
    set = _or(lambda *a, **k: None)(RedisCache.set)
    set_many = _or(lambda data, *a, **k: list(data))(RedisCache.set_many)
    touch = _or(lambda *a, **k: False)(RedisCache.touch)
    delete = _or(lambda *a, **k: False)(RedisCache.delete)
    delete_many = _or(lambda *a, **k: None)(RedisCache.delete_many)
    incr = _or(_missing)(RedisCache.incr)
    clear = _or(lambda: None)(RedisCache.clear)
