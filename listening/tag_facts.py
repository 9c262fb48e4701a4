"""Writers that give a tag row its mention's facts themselves (listening.models.MentionFacts).

The triggers of listening migration 0008 copy the mention's author, date and language onto every
query match and topic tag inserted, with one ``SELECT … FOR SHARE`` of the mention per row,
whatever the writer passed. Ingestion already holds those facts for every match it inserts: its
mention upsert's ``RETURNING`` gives them, for rows this transaction has just inserted or
updated (so locked: no other transaction can change them before it commits, and the trigger
would read exactly these values).

For it the per-row look-up was pure cost: in bench-ingest (pg_stat_statements) the match insert
took 28 us a row with it, 10 without. It also cached its plan in PL/pgSQL for the connection's
life, and a plan made while the mention table was nearly empty stayed slow (see ARCHITECTURE.md,
"Celery workers open a database connection per task"). Inside ``facts_given`` the triggers do not fire
(migration 0009: their ``WHEN`` reads this transaction-local setting), so the statement's own
values are stored; everywhere else (the ORM, SQL by hand) the database still overrides whatever
it is given. The setting is cleared on the way out, also after an
error, and ``SET LOCAL`` dies with the transaction in any case.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

SETTING = "app.tag_facts"
GIVEN = "given"


@contextmanager
def facts_given(cursor) -> Iterator[None]:
    """Run the tag inserts of the block with the facts they carry (see the module docstring).
    ``cursor`` is any DB-API cursor on the connection that runs them."""
    cursor.execute("SELECT set_config(%s, %s, true)", [SETTING, GIVEN])
    try:
        yield
    finally:
        cursor.execute("SELECT set_config(%s, '', true)", [SETTING])
