"""`make bench-ingest`: N mentions through the real ingestion pipeline, end to end.

    make bench-ingest                     # N=100000 mentions, TENANTS=3
    make bench-ingest N=20000 TENANTS=2
    python -m listening.bench.ingest --help   # with DATABASE_URL and REDIS_URL set

What runs is what production runs: a database of its own, ``social_crm_bench`` on the server of
DATABASE_URL (dropped if it exists, created and migrated as the owner, dropped at the end unless
KEEP_DB=1), one tenant per brand with the demo's listening queries and a replay account over a
JSONL file of its own in var/bench/ (``listening.demo.generate.iter_records``, another seed and
brand per tenant, so distinct ids), played as fast as asked (``{"rate": 0}``, 500 records a
page), a Celery worker subprocess (prefork, ``--concurrency 2``, queue ``ingest``, production
settings, DEBUG off), and ``fanout_polls`` to start: each poll stores its page and enqueues the
next while there is one, until every cursor is at the end of its file.

Printed while it runs: one line a second (mentions stored, rate, worker RSS). At the end:
mentions/s from the first fetch to the last store (``min(fetched_at)``, ``max(stored_at)``),
p50/p95 of ``stored_at - fetched_at``, the peak RSS of each worker process (psutil, sampled every
0.2 s), and, in the same run, the speed of a plain ``COPY`` of the same stored rows (the columns
the pipeline writes) into a scratch table, and our speed as a fraction of it. Targets: >= 3,000
mentions/s and >= 0.25 of COPY.

PROFILE=var/bench/worker.prof runs the worker with ``--pool solo`` under cProfile instead (one
process; the stats file is written when it stops; read it with ``python -m pstats FILE``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

BENCH_DIR = ROOT / "var" / "bench"
DB_NAME = "social_crm_bench"
TARGET_RATE = 3000.0
TARGET_COPY_RATIO = 0.25
# The columns ingest_page writes into listening_mention (everything but the id).
MENTION_COLUMNS = (
    "tenant_id, platform, account_id, fetched_at, stored_at, external_id, version_id, author_id, text, language, "
    "url, created_at, like_count, share_count, reply_count, view_count, parent_external_id, "
    "conversation_external_id, is_own, is_repost, is_edited, is_deleted, raw"
)


def say(text: str = "") -> None:
    print(text, flush=True)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def arguments() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="python -m listening.bench.ingest")
    parser.add_argument("--n", type=int, default=int(env("N") or 100_000), help="records to replay in all (env N)")
    parser.add_argument("--tenants", type=int, default=int(env("TENANTS") or 3), help="tenants (env TENANTS)")
    parser.add_argument("--concurrency", type=int, default=int(env("CONCURRENCY") or 2),
                        help="worker pool processes (env CONCURRENCY)")
    parser.add_argument("--keep-db", action="store_true", default=env("KEEP_DB") == "1",
                        help=f"keep the {DB_NAME} database afterwards (env KEEP_DB=1)")
    parser.add_argument("--profile", metavar="FILE", default=env("PROFILE") or None,
                        help="run the worker solo under cProfile, stats to FILE (env PROFILE)")
    parser.add_argument("--timeout", type=float, default=float(env("TIMEOUT") or 1800),
                        help="seconds to wait for the replay to finish")
    args = parser.parse_args()
    if args.n < args.tenants or args.tenants < 1:
        parser.error("need at least one record per tenant")
    return args


# --- The files ---------------------------------------------------------------------------------------


def _generator_version() -> str:
    digest = hashlib.sha256()
    for name in ("generate.py", "texts.py"):
        digest.update((ROOT / "listening" / "demo" / name).read_bytes())
    return digest.hexdigest()[:12]


def replay_files(n: int, tenants: int) -> list[tuple[Path, int]]:
    """One JSONL file per tenant (kept in var/bench/ and reused while the generator is the same)."""
    from listening.demo.generate import DEFAULT_BRANDS, dumps, iter_records

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    version, files = _generator_version(), []
    for i in range(tenants):
        count = n // tenants + (1 if i < n % tenants else 0)
        seed = 1000 + i
        brands = DEFAULT_BRANDS[i % len(DEFAULT_BRANDS):] + DEFAULT_BRANDS[:i % len(DEFAULT_BRANDS)]
        path = BENCH_DIR / f"tenant{i + 1}-{count}-seed{seed}-{version}.jsonl"
        if not path.exists():
            started = time.monotonic()
            partial = path.with_suffix(".partial")
            with partial.open("w", encoding="utf-8") as out:
                for record in iter_records(count, seed, brands=brands):
                    out.write(dumps(record) + "\n")
            partial.rename(path)
            say(f"  generated {path.relative_to(ROOT)} ({count:,} records, {path.stat().st_size / 1e6:.0f} MB) "
                f"in {time.monotonic() - started:.1f}s")
        files.append((path, count))
    return files


# --- The database and the processes --------------------------------------------------------------------


def recreate_database(owner_url: str) -> None:
    import psycopg

    with psycopg.connect(with_database(owner_url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def drop_database(owner_url: str) -> None:
    import psycopg

    with psycopg.connect(with_database(owner_url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def forget_redis_keys(redis_url: str, prefix: str) -> None:
    """The bench's keys on a shared Redis (queues, bindings, claims, heartbeats): all under its prefix."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for name in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(name)
    finally:
        client.close()


def bench_environment(files: list[tuple[Path, int]]) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = dict(os.environ)
    owner = env["DATABASE_URL"]
    env["DATABASE_URL"] = with_database(owner, DB_NAME)
    if env.get("APP_DATABASE_URL"):
        env["APP_DATABASE_URL"] = with_database(env["APP_DATABASE_URL"], DB_NAME)
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        env.pop(name, None)  # derived from REDIS_URL, under the bench's key prefix
    env.update(
        DJANGO_SETTINGS_MODULE="listening.bench.settings",
        DJANGO_SECRET_KEY=env.get("DJANGO_SECRET_KEY") or "bench-" + uuid.uuid4().hex,
        CACHE_KEY_PREFIX=f"bench_{uuid.uuid4().hex[:10]}",
        CREDENTIALS_KEYS=Fernet.generate_key().decode(),
        REPLAY_DATA_DIRS=str(BENCH_DIR),
        DJANGO_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def seed_tenants(files: list[tuple[Path, int]]) -> list[tuple[int, int, int]]:
    """(tenant id, account id, records) per file, through the real actions."""
    from listening import actions as listening_actions
    from social_crm.tenancy import actions
    from social_crm.tenancy.management.commands.seed_demo import QUERIES

    out = []
    for i, (path, count) in enumerate(files, start=1):
        tenant = actions.tenant_create(name=f"Bench {i}", slug=f"bench-{i}")
        for name, kind, expression in QUERIES:
            listening_actions.query_save(tenant.pk, actor=None, name=name, kind=kind, expression=expression)
        account = listening_actions.account_save(tenant.pk, actor=None, platform="replay", name="Bench replay",
                                                 external_id=str(path), credentials={"rate": 0}, is_own=False)
        out.append((tenant.pk, account.pk, count))
    return out


class Worker:
    def __init__(self, env: dict[str, str], concurrency: int, profile: str | None):
        self.hostname = f"bench-{uuid.uuid4().hex[:8]}@localhost"
        self.log = BENCH_DIR / "worker.log"
        self.profile = profile
        celery = ["-m", "celery", "-A", "social_crm", "worker", "-Q", "ingest", "-n", self.hostname,
                  "--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
        if profile:
            command = [sys.executable, "-m", "cProfile", "-o", str(Path(profile).resolve()), *celery, "--pool", "solo"]
        else:
            command = [sys.executable, *celery, "--pool", "prefork", "--concurrency", str(concurrency)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.peak: dict[int, tuple[str, int]] = {}  # pid -> (role, peak RSS bytes)
        self.cpu: dict[int, float] = {}  # pid -> CPU seconds (user + system) last seen
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, timeout: float = 60) -> None:
        from social_crm.celery import app

        deadline = time.monotonic() + timeout
        while not app.control.ping(destination=[self.hostname], timeout=1):
            if not self.alive() or time.monotonic() > deadline:
                raise SystemExit(f"the worker did not start:\n{self.tail()}")

    def processes(self):
        import psutil

        try:
            main = psutil.Process(self.process.pid)
            return [main, *main.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            for index, proc in enumerate(self.processes()):
                try:
                    rss = proc.memory_info().rss
                    times = proc.cpu_times()
                except psutil.Error:
                    continue
                self.cpu[proc.pid] = times.user + times.system
                role = "main" if index == 0 else f"pool child {proc.pid}"
                if rss > self.peak.get(proc.pid, ("", 0))[1]:
                    self.peak[proc.pid] = (role, rss)
            self._stop.wait(0.2)

    def rss_now(self) -> list[int]:
        import psutil

        out = []
        for proc in self.processes():
            try:
                out.append(proc.memory_info().rss)
            except psutil.Error:
                pass
        return out

    def stop(self) -> None:
        self._stop.set()
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)  # warm shutdown (cProfile writes its file)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


# --- Measuring ------------------------------------------------------------------------------------------


def watch(conn, worker: Worker, accounts: list[tuple[int, int, int]], total: int, timeout: float) -> None:
    """A line a second until every cursor is at the end of its file."""
    ends = {account: count for _tenant, account, count in accounts}
    started = last_time = time.monotonic()
    last_rows = 0
    while True:
        time.sleep(1.0)
        if not worker.alive():
            raise SystemExit(f"the worker exited with {worker.process.returncode}:\n{worker.tail()}")
        rows = conn.execute("SELECT count(*) FROM listening_mention").fetchone()[0]
        offsets = dict(conn.execute(
            "SELECT account_id, (state->>'offset')::int FROM listening_pollcursor").fetchall())
        now = time.monotonic()
        done = sum(min(offsets.get(a, 0), end) for a, end in ends.items())
        rss = worker.rss_now()
        say(f"  {now - started:6.1f}s  {rows:>9,} mentions stored  {(rows - last_rows) / (now - last_time):>7,.0f}/s now  "
            f"{rows / (now - started):>7,.0f}/s avg  records {done:>9,}/{total:,}  "
            f"RSS MB {' '.join(f'{r / 2**20:.0f}' for r in rss)}")
        last_rows, last_time = rows, now
        if all(offsets.get(a) == end for a, end in ends.items()):
            return
        if now - started > timeout:
            raise SystemExit(f"not finished after {timeout:.0f}s; worker log:\n{worker.tail()}")


def copy_speed(conn, rows: int) -> tuple[float, float]:
    """Seconds to COPY the stored mention rows (the columns the pipeline writes) into a bare
    scratch table, and into one with listening_mention's unique key and indexes."""
    data = bytearray()
    with conn.cursor().copy(f"COPY (SELECT {MENTION_COLUMNS} FROM listening_mention) TO STDOUT") as copy:
        for chunk in copy:
            data += chunk
    timings = []
    for name, indexes in (("bench_copy_bare", ()), ("bench_copy_indexed", (
            "CREATE UNIQUE INDEX ON {t} (tenant_id, platform, external_id)",
            "CREATE INDEX ON {t} (tenant_id, created_at DESC)",
            "CREATE INDEX ON {t} (tenant_id, platform, conversation_external_id)"))):
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute(f"CREATE TABLE {name} AS SELECT {MENTION_COLUMNS} FROM listening_mention WITH NO DATA")
        for statement in indexes:
            conn.execute(statement.format(t=name))
        started = time.perf_counter()
        with conn.transaction(), conn.cursor().copy(f"COPY {name} ({MENTION_COLUMNS}) FROM STDIN") as copy:
            view = memoryview(data)
            for offset in range(0, len(view), 1 << 20):
                copy.write(view[offset:offset + (1 << 20)])
        timings.append(time.perf_counter() - started)
        copied = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        assert copied == rows, (name, copied, rows)
        conn.execute(f"DROP TABLE {name}")
    return timings[0], timings[1]


def main() -> int:
    args = arguments()
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        raise SystemExit("DATABASE_URL and REDIS_URL must be set (`make bench-ingest` sets them)")
    owner_url = os.environ["DATABASE_URL"]
    say(f"== bench-ingest: {args.n:,} records for {args.tenants} tenants, worker "
        + ("solo under cProfile" if args.profile else f"prefork x{args.concurrency}") + f", {os.cpu_count()} CPUs")

    say("preparing the replay files in var/bench/ ...")
    files = replay_files(args.n, args.tenants)
    env = bench_environment(files)
    say(f"creating and migrating the {DB_NAME} database ...")
    recreate_database(owner_url)
    worker = None
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True)
        os.environ.update(env)
        import django

        django.setup()
        import psycopg

        from listening.tasks import fanout_polls

        accounts = seed_tenants(files)
        worker = Worker(env, args.concurrency, args.profile)
        worker.wait_ready()
        import psutil

        conn = psycopg.connect(env["DATABASE_URL"], autocommit=True)
        server = conn.execute("SHOW server_version").fetchone()[0]
        say(f"worker ready (PostgreSQL {server}); fan-out ...")
        worker_cpu_before, machine_before = sum(worker.cpu.values()), psutil.cpu_times()
        sent = fanout_polls()
        say(f"fan-out enqueued {sent} polls")
        watch(conn, worker, accounts, args.n, args.timeout)
        time.sleep(0.3)  # one more CPU sample
        machine_after, worker_cpu = psutil.cpu_times(), sum(worker.cpu.values()) - worker_cpu_before
        machine_cpu = (machine_after.user + machine_after.system) - (machine_before.user + machine_before.system)
        worker.stop()

        count, first_fetch, last_store, p50, p95 = conn.execute(
            "SELECT count(*), min(fetched_at), max(stored_at), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM stored_at - fetched_at)), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM stored_at - fetched_at)) "
            "FROM listening_mention").fetchone()
        quarantined, authors, matches = conn.execute(
            "SELECT (SELECT count(*) FROM listening_quarantinedpayload), (SELECT count(*) FROM listening_author), "
            "(SELECT count(*) FROM listening_mentionmatch)").fetchone()
        elapsed = (last_store - first_fetch).total_seconds()
        rate = count / elapsed
        say("copying the same rows with COPY ...")
        copy_bare, copy_indexed = copy_speed(conn, count)
        copy_rate = count / copy_bare
        conn.close()

        say()
        say("== results")
        say(f"records replayed        {args.n:,} in {args.tenants} tenants ({', '.join(p.name for p, _ in files)})")
        say(f"stored                  {count:,} mentions, {authors:,} authors, {matches:,} query matches, "
            f"{quarantined} quarantined")
        say(f"end to end              {elapsed:.1f} s from the first fetch to the last store -> {rate:,.0f} mentions/s "
            f"(target >= {TARGET_RATE:,.0f}: {'met' if rate >= TARGET_RATE else 'MISSED'})")
        say(f"fetch -> stored         p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
        say(f"CPU per mention         worker processes {worker_cpu / count * 1e6:.0f} us, everything else on the "
            f"machine (PostgreSQL, Redis, this script) {(machine_cpu - worker_cpu) / count * 1e6:.0f} us "
            f"({machine_cpu:.1f} CPU-s in all while replaying, {os.cpu_count()} CPUs)")
        peaks = sorted(worker.peak.values(), key=lambda item: item[0] != "main")
        say("peak RSS                " + ", ".join(f"{role} {rss / 2**20:.0f} MB" for role, rss in peaks))
        say(f"COPY of the same rows   {copy_bare:.2f} s -> {copy_rate:,.0f} rows/s into a bare scratch table "
            f"({count / copy_indexed:,.0f} rows/s with listening_mention's unique key and indexes)")
        ratio = rate / copy_rate
        say(f"ours / COPY             {ratio:.2f} (target >= {TARGET_COPY_RATIO}: "
            f"{'met' if ratio >= TARGET_COPY_RATIO else 'MISSED'})")
        if args.profile:
            say(f"worker profile          {args.profile} (python -m pstats {args.profile})")
        return 0
    finally:
        if worker is not None:
            worker.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 (Django may not be set up yet)
            pass
        forget_redis_keys(env["REDIS_URL"], env["CACHE_KEY_PREFIX"])
        if args.keep_db:
            say(f"kept the {DB_NAME} database")
        else:
            drop_database(owner_url)


if __name__ == "__main__":
    sys.exit(main())
