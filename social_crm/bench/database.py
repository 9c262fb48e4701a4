"""A database of its own for a benchmark, on the server of DATABASE_URL: dropped if it exists,
created and migrated as the owner, dropped at the end unless kept. The process then runs with
production settings (DEBUG off) on it, its Redis keys under a prefix of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = "listening.bench.settings"  # production settings + the bench's own broker key prefix


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _admin(owner_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(with_database(owner_url, "postgres"), autocommit=True) as conn:
        conn.execute(statement)


def recreate(owner_url: str, name: str) -> None:
    _admin(owner_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _admin(owner_url, f"CREATE DATABASE {name}")


def drop(owner_url: str, name: str) -> None:
    _admin(owner_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def environment(name: str, **extra: str) -> dict[str, str]:
    """os.environ pointed at the bench database, production settings, a fresh key prefix."""
    env = dict(os.environ)
    env["DATABASE_URL"] = with_database(env["DATABASE_URL"], name)
    if env.get("APP_DATABASE_URL"):
        env["APP_DATABASE_URL"] = with_database(env["APP_DATABASE_URL"], name)
    for variable in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        env.pop(variable, None)  # derived from REDIS_URL, under the bench's key prefix
    env.update(DJANGO_SETTINGS_MODULE=SETTINGS, DJANGO_SECRET_KEY=env.get("DJANGO_SECRET_KEY") or "bench-" + uuid.uuid4().hex,
               CACHE_KEY_PREFIX=f"bench_{uuid.uuid4().hex[:10]}", DJANGO_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
               **extra)
    return env


def migrate(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True)


def forget_redis_keys(redis_url: str, prefix: str) -> None:
    """The bench's keys on a shared Redis (queued tasks, claims, cache): all under its prefix."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)
    finally:
        client.close()
