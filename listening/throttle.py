"""Redis-side guards of the poll pipeline.

* ``tenant_slot``: at most TENANT_MAX_CONCURRENT_POLLS polls of one tenant run at once, so one
  noisy brand cannot take every worker. A counting semaphore in a sorted set (member = token,
  score = expiry), acquired atomically by a Lua script; expired holders (a killed worker) are
  dropped on the next acquire, so a crash cannot leak a slot for longer than its lease.
* ``claim_stream`` / ``release_stream``: one poll in flight per (account, query, stream). The
  beat fan-out only enqueues a poll it could claim, so a slow platform never piles up tasks.
Losing Redis loses only these guards and queued messages; the cursors in PostgreSQL are the
truth, and the next fan-out re-enqueues every stream from where it stopped.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager

import redis
from django.conf import settings

from social_crm.core.redis import client, key

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""

SLOT_LEASE_SECONDS = 300  # longer than any single poll (one page) may take
STREAM_CLAIM_SECONDS = 900


class NoSlot(Exception):
    pass


@contextmanager
def tenant_slot(tenant_id: int, limit: int | None = None):
    limit = limit or settings.TENANT_MAX_CONCURRENT_POLLS
    r, name, token = client(), key("tenant-polls", tenant_id), uuid.uuid4().hex
    now = time.time()
    got = r.eval(_ACQUIRE, 1, name, now, limit, now + SLOT_LEASE_SECONDS, token, SLOT_LEASE_SECONDS)
    if not got:
        raise NoSlot(tenant_id)
    try:
        yield
    finally:
        try:
            r.zrem(name, token)
        except redis.RedisError:
            pass  # Redis is gone: the lease expires by itself (SLOT_LEASE_SECONDS)


def _stream_key(account_id: int, query_id: int | None, stream: str) -> str:
    return key("poll", account_id, query_id or 0, stream)


def claim_stream(account_id: int, query_id: int | None, stream: str, seconds: int = STREAM_CLAIM_SECONDS) -> bool:
    return bool(client().set(_stream_key(account_id, query_id, stream), "1", nx=True, ex=seconds))


def extend_stream(account_id: int, query_id: int | None, stream: str, seconds: int) -> None:
    client().set(_stream_key(account_id, query_id, stream), "1", ex=max(int(seconds), 1))


def release_stream(account_id: int, query_id: int | None, stream: str) -> None:
    client().delete(_stream_key(account_id, query_id, stream))
