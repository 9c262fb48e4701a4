"""/healthz: database, Redis and worker heartbeat as JSON; 200 when all are up, else 503."""

from __future__ import annotations

import time

from django.db import connections
from django.http import JsonResponse
from django.db import transaction
from django.views.decorators.cache import never_cache

from . import heartbeat


def _timed(check):
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # a health check reports every failure, whatever its type
        detail, ok = f"{type(exc).__name__}: {exc}"[:300], False
    return {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1), "detail": detail}


def _database():
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _redis():
    heartbeat.client().ping()
    return "ok"


@never_cache
@transaction.non_atomic_requests(using="default")
def healthz(request):
    checks = {"database": _timed(_database), "redis": _timed(_redis)}
    if checks["redis"]["ok"]:
        def _workers():
            state = heartbeat.read()
            if not state["workers"]:
                raise RuntimeError("no worker heartbeat in the last 3 intervals")
            return state

        checks["worker"] = _timed(_workers)
    else:
        checks["worker"] = {"ok": False, "ms": 0, "detail": "unknown: Redis is down"}
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503)


