"""Per-token rate limit of the API (issue 6 §5), in Redis, applied to every DRF view by
``REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]``.

A fixed window per client: the first request of a window creates the counter with the window's
length as its TTL, each request increments it, and a request over ``API_RATE_LIMIT`` gets 429
with ``Retry-After`` = the counter's remaining TTL (rounded up), i.e. when the next request will
be accepted. One Lua script does INCR, the first EXPIRE and the PTTL read, so concurrent
requests on several web processes can never overshoot the limit nor leave a counter without a
TTL (a crash between INCR and EXPIRE would otherwise throttle that client for ever).

Who is counted:

* an API token: its id (a token is bound to one tenant, so two tenants never share a budget);
* a session: the user *and* the tenant of the URL, so a person who works for two tenants has
  one budget in each and one tenant's traffic cannot spend another's;
* anonymous requests are not throttled here (they get 401 before any work is done).

Redis down or slow must not take the API down: the throttle then lets requests through, logs
the error (once per ``_OPEN_SECONDS``), and does not ask Redis again for that long, so a
black-holed Redis costs one short timeout every few seconds, not one per request.
"""

from __future__ import annotations

import logging
import math
import time
from functools import lru_cache

import redis
from django.conf import settings
from rest_framework.throttling import BaseThrottle

from social_crm.core.redis import key
from social_crm.tenancy.models import ApiToken

logger = logging.getLogger(__name__)

_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""

_TIMEOUT_SECONDS = 0.25  # the API waits at most this for Redis before failing open
_OPEN_SECONDS = 5.0  # after a Redis error, skip Redis for this long


@lru_cache(maxsize=2)
def _client(url: str) -> redis.Redis:
    # Short timeouts of its own: social_crm.core.redis waits 5 s, too long in a request.
    return redis.Redis.from_url(url, socket_timeout=_TIMEOUT_SECONDS, socket_connect_timeout=_TIMEOUT_SECONDS)


_open_until = 0.0  # per process: monotonic time until which Redis is not asked


def hit(name: str, window_seconds: int) -> tuple[int, int]:
    """Count one request on ``name``: (requests in the window so far, milliseconds left in it)."""
    count, ttl_ms = _client(settings.REDIS_URL).eval(_HIT, 1, key("api-rate", name), window_seconds * 1000)
    return int(count), int(ttl_ms)


def client_key(request, view) -> str | None:
    if isinstance(request.auth, ApiToken):
        return f"token:{request.auth.pk}"
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    tenant = getattr(view, "kwargs", {}).get("tenant_slug") or "-"
    return f"user:{user.pk}:{tenant}"


class TokenRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        global _open_until
        self._wait = None
        rate = settings.API_RATE_LIMIT  # (requests, window seconds), or None: off
        name = client_key(request, view)
        if rate is None or name is None or time.monotonic() < _open_until:
            return True
        limit, window = rate
        try:
            count, ttl_ms = hit(name, window)
        except redis.RedisError as exc:
            _open_until = time.monotonic() + _OPEN_SECONDS
            logger.error("API rate limit not enforced for %.0f s: Redis error: %s", _OPEN_SECONDS, exc)
            return True
        if count <= limit:
            return True
        self._wait = max(1, math.ceil(ttl_ms / 1000))
        return False

    def wait(self):
        return self._wait
