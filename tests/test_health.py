"""/healthz without a Celery worker and without Redis: 503 with a JSON body that says which
check failed, never a 500."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings

from social_crm.core import heartbeat

CHECKS = {"database", "redis", "worker"}


@pytest.fixture
def no_worker_heartbeat():
    """Remove every worker heartbeat under this test run's key prefix."""
    r = heartbeat.client()
    for k in list(r.scan_iter(match=heartbeat.key("worker", "*"), count=1000)):
        r.delete(k)
    assert heartbeat.read()["workers"] == {}


def assert_shape(body: dict) -> None:
    assert set(body) == {"status", "checks"}
    assert set(body["checks"]) == CHECKS
    for name, check in body["checks"].items():
        assert set(check) == {"ok", "ms", "detail"}, name
        assert isinstance(check["ok"], bool), name
        assert isinstance(check["ms"], (int, float)) and check["ms"] >= 0, name


@pytest.mark.django_db
def test_healthz_is_503_with_worker_not_ok_when_no_worker_heartbeat_exists(client, no_worker_heartbeat):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert_shape(body)
    assert body["status"] == "fail"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True
    assert body["checks"]["worker"]["ok"] is False
    assert "no worker heartbeat" in body["checks"]["worker"]["detail"]


@pytest.mark.django_db
def test_healthz_turns_200_as_soon_as_a_worker_heartbeat_is_written(client, no_worker_heartbeat):
    """The other side of the test above: the heartbeat key alone decides the worker check."""
    heartbeat.beat_worker("pytest-health@localhost")
    try:
        response = client.get("/healthz")
    finally:
        heartbeat.client().delete(heartbeat.key("worker", "pytest-health@localhost"))

    body = response.json()
    assert response.status_code == 200, body
    assert_shape(body)
    assert body["status"] == "ok"
    assert set(body["checks"]["worker"]["detail"]["workers"]) == {"pytest-health@localhost"}


@pytest.mark.django_db
def test_healthz_is_503_with_redis_not_ok_when_redis_is_unreachable(client):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert_shape(body)
    assert body["status"] == "fail"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False
    assert "ConnectionError" in body["checks"]["redis"]["detail"]
    assert body["checks"]["worker"]["ok"] is False
    assert "Redis is down" in body["checks"]["worker"]["detail"]


HEALTHZ_IN_A_FRESH_PROCESS = """
import json, django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
response = Client(raise_request_exception=False).get("/healthz")
print(json.dumps({"status": response.status_code, "type": response["Content-Type"],
                  "body": response.content.decode(errors="replace")}))
"""


def test_healthz_is_503_json_not_500_when_the_database_is_unreachable():
    """Both database aliases point at a closed port; the request must still reach the view
    (no ATOMIC_REQUESTS transaction opened before it) and answer 503 with database not ok."""
    env = {k: v for k, v in os.environ.items() if k not in {"APP_DATABASE_URL", "DATABASE_URL_FILE", "APP_DATABASE_URL_FILE"}}
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL="postgres://postgres@127.0.0.1:1/social_crm",
               REDIS_URL=settings.REDIS_URL)
    done = subprocess.run([sys.executable, "-c", HEALTHZ_IN_A_FRESH_PROCESS], env=env, cwd=settings.BASE_DIR,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["status"] == 503, result["body"][:500]
    assert result["type"] == "application/json"
    body = json.loads(result["body"])
    assert_shape(body)
    assert body["status"] == "fail"
    assert body["checks"]["database"]["ok"] is False
    assert "OperationalError" in body["checks"]["database"]["detail"]
    assert body["checks"]["redis"]["ok"] is True
