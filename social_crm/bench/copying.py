"""COPY plumbing of the volume seeder: a progress reporter (rows/s), buffered COPY of row tuples,
id blocks and sequences, and "load first, index after" (what pg_restore does).

Everything runs on one psycopg 3 connection of a role that bypasses row-level security (the
superuser or a BYPASSRLS owner): every tenant-owned table forces its policies on its owner too,
and the seeder writes several tenants in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

FLUSH_ROWS = 50_000  # rows buffered per table before they are sent: bounded memory, few statements


class Progress:
    """Counts the rows written and calls ``report`` with a line at most every ``every`` seconds."""

    def __init__(self, report: Callable[[str], None] | None, every: float = 3.0):
        self.report = report or (lambda line: None)
        self.every = every
        self.started = self.last = time.monotonic()
        self.rows = 0
        self.mentions = 0
        self._last_rows = 0

    def add(self, rows: int, stage: str) -> None:
        self.rows += rows
        now = time.monotonic()
        if now - self.last >= self.every:
            rate = (self.rows - self._last_rows) / (now - self.last)
            self.report(f"{now - self.started:7.1f}s  {stage:<28} {self.mentions:>10,} mentions "
                        f"{self.rows:>11,} rows  {rate:>8,.0f} rows/s now  {self.rows / (now - self.started):>8,.0f}"
                        " rows/s avg")
            self.last, self._last_rows = now, self.rows

    def say(self, line: str) -> None:
        self.report(f"{time.monotonic() - self.started:7.1f}s  {line}")


class Tables:
    """One buffer of row tuples per table; a full buffer is sent with one COPY (psycopg formats
    the tuples in C). All statements run in the caller's transaction."""

    def __init__(self, conn, columns: dict[str, Sequence[str]], progress: Progress):
        self.conn, self.columns, self.progress = conn, columns, progress
        self.buffers: dict[str, list[tuple]] = {table: [] for table in columns}
        self.counts: dict[str, int] = dict.fromkeys(columns, 0)

    def add(self, table: str, row: tuple) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= FLUSH_ROWS:
            self.flush(table)

    def flush(self, table: str) -> None:
        rows = self.buffers[table]
        if not rows:
            return
        with self.conn.cursor().copy(f"COPY {table} ({', '.join(self.columns[table])}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        self.counts[table] += len(rows)
        self.progress.add(len(rows), f"COPY {table}")
        self.buffers[table] = []

    def flush_all(self) -> None:
        for table in self.buffers:
            self.flush(table)


def next_id(conn, table: str) -> int:
    """The first free id of ``table``: past both its rows and its identity sequence."""
    sequence = sequence_of(conn, table)
    row = conn.execute(
        f"SELECT coalesce(max(id), 0), (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END "
        f"FROM {sequence}) FROM {table}").fetchone()
    return max(row[0], row[1]) + 1


def sequence_of(conn, table: str) -> str:
    return conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table]).fetchone()[0]


def advance_sequence(conn, table: str) -> None:
    """After rows were copied with explicit ids, the app's next INSERT gets a fresh one."""
    conn.execute(f"SELECT setval(%s, greatest((SELECT coalesce(max(id), 0) FROM {table}), 1))",
                 [sequence_of(conn, table)])


@contextmanager
def indexes_deferred(conn, tables: list[str], progress: Progress) -> Iterator[None]:
    """Drop the foreign keys touching ``tables`` and their indexes (primary and unique keys
    included), let the caller load, then create them all again from their saved definitions:
    sorted index builds and one validating join per foreign key instead of per-row upkeep.

    Must run inside the caller's transaction: if anything fails, the rollback restores every
    index and constraint as it was. A recreated unique key or foreign key checks every row
    loaded, so the seeder cannot leave a duplicate or an orphan (or a reference to another
    tenant's row: the foreign keys are the composite same-tenant ones) behind."""
    oids = [r[0] for r in conn.execute("SELECT unnest(%s::text[])::regclass::oid", [tables]).fetchall()]
    foreign = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND (conrelid = ANY(%s) OR confrelid = ANY(%s)) ORDER BY oid", [oids, oids]).fetchall()
    keys = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype IN ('p', 'u') AND conrelid = ANY(%s) ORDER BY contype, oid", [oids]).fetchall()
    indexes = conn.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = ANY(%s) "
        "AND indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE contype IN ('p', 'u')) ORDER BY indexrelid",
        [oids]).fetchall()
    for table, name, _definition in foreign:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        conn.execute(f"DROP INDEX {name}")
    for table, name, _definition in keys:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    progress.say(f"dropped {len(foreign)} foreign keys, {len(keys)} keys and {len(indexes)} indexes of "
                 f"{len(tables)} tables for the load")
    yield
    started = time.monotonic()
    conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
    for table, name, definition in keys:
        conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _name, definition in indexes:
        conn.execute(definition)
    progress.say(f"recreated {len(keys)} keys and {len(indexes)} indexes in {time.monotonic() - started:.1f}s")
    started = time.monotonic()
    for table, name, definition in foreign:
        conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    progress.say(f"recreated and validated {len(foreign)} foreign keys in {time.monotonic() - started:.1f}s")
