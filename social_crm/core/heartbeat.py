"""Liveness of the Celery side, read by /healthz.

* Each worker process writes ``<prefix>:heartbeat:worker:<hostname>`` every
  WORKER_HEARTBEAT_SECONDS from a daemon thread started on ``worker_ready``; the key expires
  after three missed beats, so a dead worker disappears by itself.
* Beat's ``beat_heartbeat`` task (run by a worker) writes ``<prefix>:heartbeat:beat``.
"""

from __future__ import annotations

import threading
import time

import redis
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings

_stop = threading.Event()


def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def key(*parts: str) -> str:
    return ":".join([settings.CACHES["default"]["KEY_PREFIX"], "heartbeat", *parts])


def beat_worker(hostname: str) -> None:
    client().set(key("worker", hostname), str(time.time()), ex=settings.WORKER_HEARTBEAT_SECONDS * 3)


def beat_beat() -> None:
    client().set(key("beat"), str(time.time()), ex=3600)


def read() -> dict:
    r = client()
    now = time.time()
    workers = {}
    for k in r.scan_iter(match=key("worker", "*"), count=100):
        value = r.get(k)
        if value is not None:
            workers[k.decode().rsplit(":", 1)[-1]] = round(now - float(value), 1)
    beat = r.get(key("beat"))
    return {"workers": workers, "beat_age_seconds": round(now - float(beat), 1) if beat else None}


@worker_ready.connect
def _start(sender=None, **kwargs):
    hostname = getattr(sender, "hostname", "worker")

    def loop():
        while not _stop.is_set():
            try:
                beat_worker(hostname)
            except redis.RedisError:
                pass  # Redis down: /healthz reports it; keep trying
            _stop.wait(settings.WORKER_HEARTBEAT_SECONDS)

    threading.Thread(target=loop, name="heartbeat", daemon=True).start()


@worker_shutdown.connect
def _stop_heartbeat(sender=None, **kwargs):
    _stop.set()
    try:
        client().delete(key("worker", getattr(sender, "hostname", "worker")))
    except redis.RedisError:
        pass
