"""A real Celery worker process, on a queue of its own, against the committed test database.

The worker is started once per module (on first use) with the test database in its
environment, answers a ping before any test sends it work, and is stopped (SIGTERM, then kill)
when the module is done, before the test database is dropped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from social_crm.celery import app as celery_app
from social_crm.core import heartbeat
from social_crm.tenancy import actions
from social_crm.tenancy.models import AuditEvent, Invitation, Tenant
from social_crm.tenancy.scope import dangerously_cross_tenant, tenant_context
from social_crm.tenancy.tasks import expire_invitations, visible_departments

pytestmark = pytest.mark.celery_worker

committed = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

START_TIMEOUT = 60
TASK_TIMEOUT = 60


@dataclass
class Worker:
    process: subprocess.Popen
    hostname: str
    queue: str
    log: Path
    application_name: str = ""  # of its database sessions (PGAPPNAME), to find them in pg_stat_activity

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no output)"

    def run(self, task, *args):
        """Send ``task`` to this worker's queue only and wait for its result."""
        assert self.process.poll() is None, f"the Celery worker died:\n{self.output()}"
        return task.apply_async(args, queue=self.queue).get(timeout=TASK_TIMEOUT)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def _worker_slot():
    """Holds the module's worker; stops it when the module is done."""
    slot: dict[str, Worker] = {}
    yield slot
    worker = slot.get("worker")
    if worker is not None:
        _stop(worker.process)


@pytest.fixture
def celery_worker(_worker_slot, django_db_setup, test_database_env, tmp_path_factory) -> Worker:
    worker = _worker_slot.get("worker")
    if worker is None:
        run_id = uuid.uuid4().hex[:12]
        queue, hostname = f"pytest-{run_id}", f"pytest-{run_id}@localhost"
        env = dict(test_database_env)
        env["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE", "tests.settings")
        # The worker must write its heartbeat where this process (and /healthz) reads it.
        env["CACHE_KEY_PREFIX"] = settings.CACHES["default"]["KEY_PREFIX"]
        env["PYTHONUNBUFFERED"] = "1"
        env["PGAPPNAME"] = f"celery-{run_id}"
        log = tmp_path_factory.mktemp("celery") / "worker.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "social_crm", "worker", "--pool", "solo",
                 "--concurrency", "1", "-Q", queue, "-n", hostname, "--without-gossip", "--without-mingle",
                 "--loglevel", "WARNING"],
                env=env, cwd=settings.BASE_DIR, stdout=out, stderr=subprocess.STDOUT,
            )
        worker = _worker_slot["worker"] = Worker(process, hostname, queue, log, env["PGAPPNAME"])
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"the Celery worker exited with {process.returncode} before answering:\n{worker.output()}")
            if celery_app.control.ping(destination=[hostname], timeout=1):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not answer a ping within {START_TIMEOUT}s:\n{worker.output()}")
    assert worker.process.poll() is None, f"the Celery worker died:\n{worker.output()}"
    return worker


def _expire(*invitation_ids: int) -> None:
    with dangerously_cross_tenant("test: put invitations of both tenants past their date"):
        updated = Invitation.objects.filter(pk__in=invitation_ids).update(expires_at=timezone.now() - timedelta(days=1))
    assert updated == len(invitation_ids)


def _invitations(*invitation_ids: int) -> dict[int, Invitation]:
    with dangerously_cross_tenant("test: read invitations of both tenants"):
        return {i.pk: i for i in Invitation.objects.filter(pk__in=invitation_ids)}


def _expired_audit_events(tenant_id: int) -> list[dict]:
    with tenant_context(tenant_id):
        return list(AuditEvent.objects.filter(tenant_id=tenant_id, action="invitation.expired").values_list("data", flat=True))


@committed
def test_visible_departments_run_by_the_worker_for_a_returns_exactly_a_s_slugs(celery_worker, committed_world):
    a, b = committed_world.a.tenant.pk, committed_world.b.tenant.pk
    actions.department_save(b, actor=None, name="Globex only", slug="globex-only")

    in_a = celery_worker.run(visible_departments, a)
    in_b = celery_worker.run(visible_departments, b)

    # A list, not a set: a leak of B's same-slug rows would show up as duplicates.
    assert in_a == ["customer-service", "legal"]
    assert "globex-only" not in in_a
    assert in_b == ["customer-service", "globex-only", "legal"]


def _sessions_of(worker: Worker) -> set[int]:
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [worker.application_name])
        return {row[0] for row in cursor.fetchall()}


@committed
def test_the_worker_keeps_its_connection_across_tasks_and_replaces_one_the_server_killed(celery_worker, committed_world):
    """social_crm.celery.close_old_connections: one session for many tasks (Celery alone would
    open one a task), and a session PostgreSQL ended between two tasks (a restart, an admin's
    pg_terminate_backend) costs the next task nothing but a reconnection."""
    a, b = committed_world.a.tenant.pk, committed_world.b.tenant.pk
    celery_worker.run(visible_departments, a)
    first = _sessions_of(celery_worker)
    assert len(first) == 1
    for tenant_id in (b, a, b):
        celery_worker.run(visible_departments, tenant_id)
    assert _sessions_of(celery_worker) == first

    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [next(iter(first))])
        assert cursor.fetchone()[0] is True
    # The kept session is gone: the next task reconnects and still sees only its tenant's rows.
    assert celery_worker.run(visible_departments, b) == ["customer-service", "legal"]
    assert celery_worker.run(visible_departments, a) == ["customer-service", "legal"]
    second = _sessions_of(celery_worker)
    assert len(second) == 1 and second != first


@committed
def test_expire_invitations_in_the_worker_revokes_only_the_tenant_s_invitations_and_is_idempotent(
    celery_worker, committed_world
):
    a, b = committed_world.a.tenant.pk, committed_world.b.tenant.pk
    inv_a, inv_b = committed_world.a.invitation.pk, committed_world.b.invitation.pk
    _expire(inv_a, inv_b)

    assert celery_worker.run(expire_invitations, a) == [inv_a]

    rows = _invitations(inv_a, inv_b)
    assert rows[inv_a].revoked_at is not None and rows[inv_a].status == "revoked"
    assert rows[inv_b].revoked_at is None and rows[inv_b].accepted_at is None, "B's invitation was touched by A's task"
    assert _expired_audit_events(a) == [{"count": 1}]
    assert _expired_audit_events(b) == []

    # Idempotent: a second run finds nothing and writes nothing.
    revoked_at = rows[inv_a].revoked_at
    assert celery_worker.run(expire_invitations, a) == []
    assert _invitations(inv_a)[inv_a].revoked_at == revoked_at
    assert _expired_audit_events(a) == [{"count": 1}]

    # B's invitation was eligible all along: B's own task revokes it.
    assert celery_worker.run(expire_invitations, b) == [inv_b]
    assert _invitations(inv_b)[inv_b].revoked_at is not None


@committed
def test_a_task_for_a_deactivated_or_missing_tenant_returns_none_and_touches_nothing(celery_worker, committed_world):
    a, b = committed_world.a.tenant.pk, committed_world.b.tenant.pk
    inv_a = committed_world.a.invitation.pk
    _expire(inv_a)
    assert Tenant.objects.filter(pk=a).update(is_active=False) == 1
    with dangerously_cross_tenant("test: count every audit event"):
        audit_before = AuditEvent.objects.count()
    missing = Tenant.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000

    assert celery_worker.run(expire_invitations, a) is None
    assert celery_worker.run(visible_departments, a) is None
    assert celery_worker.run(expire_invitations, missing) is None

    assert _invitations(inv_a)[inv_a].revoked_at is None
    with dangerously_cross_tenant("test: count every audit event"):
        assert AuditEvent.objects.count() == audit_before
    # The same worker still serves an active tenant: the None above is the skip, not a failure.
    assert celery_worker.run(visible_departments, b) == ["customer-service", "legal"]


def _worker_prefix(hostname: str) -> str:
    """The cache key prefix under which the worker wrote its heartbeat (found by hostname)."""
    suffix = ":heartbeat:worker:" + hostname
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        keys = [k.decode() for k in heartbeat.client().scan_iter(match="*" + suffix, count=1000)]
        if keys:
            assert len(keys) == 1, keys
            return keys[0][: -len(suffix)]
        time.sleep(0.2)
    pytest.fail(f"no heartbeat key *{suffix} in Redis")


@pytest.mark.django_db
def test_the_worker_heartbeat_is_in_redis_and_healthz_answers_200_while_the_worker_runs(celery_worker, client):
    prefix = _worker_prefix(celery_worker.hostname)
    # tests/settings.py draws a random KEY_PREFIX per process (it ignores CACHE_KEY_PREFIX), so
    # the worker may write under another prefix than this process; read where it wrote. When
    # the prefixes agree this override changes nothing.
    caches = {"default": {**settings.CACHES["default"], "KEY_PREFIX": prefix}}
    with override_settings(CACHES=caches):
        state = heartbeat.read()
        response = client.get("/healthz")

    assert celery_worker.hostname in state["workers"]
    assert 0 <= state["workers"][celery_worker.hostname] < 3 * settings.WORKER_HEARTBEAT_SECONDS
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {"database": True, "redis": True, "worker": True}
    assert celery_worker.hostname in body["checks"]["worker"]["detail"]["workers"]
