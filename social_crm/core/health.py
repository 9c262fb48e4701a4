"""/healthz: database, Redis and worker heartbeat as JSON; 200 when all are up, else 503."""

from __future__ import annotations

import logging
import time

from django.db import connections, transaction
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from . import heartbeat
from .db import APP_ALIAS, OWNER_ALIAS


logger = logging.getLogger(__name__)


class HealthProblem(Exception):
    """A failure whose message is ours and safe to show."""


def _timed(check):
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # a health check reports every failure, whatever its type
        # The page is public: say what kind of failure, log the message (it may name hosts).
        logger.warning("health check %s failed: %s", check.__name__, exc)
        detail, ok = (str(exc) if isinstance(exc, HealthProblem) else type(exc).__name__), False
    return {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1), "detail": detail}


def _database():
    with connections[APP_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _redis():
    heartbeat.client().ping()
    return "ok"


@never_cache
# Both aliases have ATOMIC_REQUESTS: without these, Django would open (connect and BEGIN) a
# transaction on each before the view runs, and an unreachable database would be a 500.
@transaction.non_atomic_requests(using=APP_ALIAS)
@transaction.non_atomic_requests(using=OWNER_ALIAS)
def healthz(request):
    checks = {"database": _timed(_database), "redis": _timed(_redis)}
    if checks["redis"]["ok"]:
        def _workers():
            state = heartbeat.read()
            if not state["workers"]:
                raise HealthProblem("no worker heartbeat in the last 3 intervals")
            return state

        checks["worker"] = _timed(_workers)
    else:
        checks["worker"] = {"ok": False, "ms": 0, "detail": "unknown: Redis is down"}
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503)


