"""Where ingestion gives the database what its triggers would otherwise derive row by row: the
facts on a query match (listening.models.MentionFacts) and the authors' mention counts.

Tag facts. The triggers of listening migration 0008 copy the mention's author, date and language onto every
query match and topic tag inserted, with one ``SELECT … FOR SHARE`` of the mention per row,
whatever the writer passed. Ingestion already holds those facts for every match it inserts: its
mention upsert's ``RETURNING`` gives them, for rows this transaction has just inserted or
updated (so locked: no other transaction can change them before it commits, and the trigger
would read exactly these values).

For it the per-row look-up was pure cost: in bench-ingest (pg_stat_statements) the match insert
took 28 us a row with it, 12-14 without. It also cached its plan in PL/pgSQL for the
connection's life, and a plan made while the mention table was nearly empty stayed slow (see
ARCHITECTURE.md, "Celery workers keep their database connection across tasks"). Inside
``facts_given`` the triggers do not fire (migration 0009: their ``WHEN`` reads this
transaction-local setting), so the statement's own values are stored; everywhere else (the ORM,
SQL by hand) the database still overrides whatever it is given. The setting is cleared on the
way out, also after an error, and ``SET LOCAL`` dies with the transaction in any case.

Author counts. ``Author.mentions_seen`` is kept by a statement trigger of listening migration
0006 that, after each insert of mentions, updates their authors again. For ingestion that was a
second version of every author row it had just upserted (19-22 us a mention in bench-ingest,
never a HOT update since ``mentions_seen`` is indexed). Ingestion now adds the count in its
author upsert, every mention of the page counted as new, and after the mention upsert takes back
those that were not inserted (``xmax = 0`` in its ``RETURNING``): re-sightings, or a mention a
concurrent writer stored first, on authors it already holds locked. The count stays exact; a
page of new mentions needs no second statement, and a page of re-sightings costs what the
trigger cost. Inside ``counts_given`` the trigger does not fire (migration 0010); everyone
else is counted by it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

SETTING = "app.tag_facts"
COUNTS_SETTING = "app.author_counts"
GIVEN = "given"


@contextmanager
def _given(cursor, setting: str) -> Iterator[None]:
    cursor.execute("SELECT set_config(%s, %s, true)", [setting, GIVEN])
    try:
        yield
    except BaseException:
        # After a database error the transaction is aborted (or the connection gone) and the
        # setting dies with it (a rolled-back savepoint restores it too): the caller must see
        # that error, not the clean-up's "current transaction is aborted".
        try:
            cursor.execute("SELECT set_config(%s, '', true)", [setting])
        except Exception:  # noqa: BLE001 - the original error is re-raised below
            pass
        raise
    cursor.execute("SELECT set_config(%s, '', true)", [setting])


def facts_given(cursor):
    """Run the tag inserts of the block with the facts they carry (see the module docstring).
    ``cursor`` is any DB-API cursor on the connection that runs them."""
    return _given(cursor, SETTING)


def counts_given(cursor):
    """Run the mention inserts of the block without the author count trigger: the caller counts
    (see the module docstring)."""
    return _given(cursor, COUNTS_SETTING)
