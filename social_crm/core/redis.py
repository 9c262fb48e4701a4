from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=2)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)


def client() -> redis.Redis:
    """One pooled client per process for our own keys (locks, semaphores, heartbeats)."""
    return _client(settings.REDIS_URL)


def key(*parts) -> str:
    return ":".join([settings.CACHES["default"]["KEY_PREFIX"], *map(str, parts)])
