"""The care durations and breach flags as stored generated columns of the conversation, and the
care index of the conversations opened in a range carrying them instead of their inputs.

analytics/care.py computed, for every conversation of the range, both durations
(``date_part('epoch', GREATEST(end - first_message_at, interval '0'))``) and two jsonb
containments (``sla_breaches @> '["first_response"]'``): about a quarter of its statement at
90 days on the bench tenant (107,452 conversations: 108 -> 81 ms for the statement and its
rows). PostgreSQL now computes them once per write of the row. Like the care facts (0005) they
are not fields of the Django model: the ORM never writes them (it could not: they are
generated) and never reads them.

* ``care_fr_seconds``: first response time in seconds (NULL when not answered), from
  ``care_answered_at``, the earlier of ``first_response_at`` and the first sent reply (0005);
* ``care_res_seconds``: resolution time in seconds (NULL when not resolved);
* ``care_fr_breached`` / ``care_res_breached``: the SLA check recorded that breach.

A reply dated before the opening (clock skew between platforms) counts as 0. Adding stored
generated columns rewrites the table under an exclusive lock (8.6 s for the bench's 675,000
conversations): run it in a quiet moment on a big install.
"""

from django.db import migrations

DURATIONS_SQL = """
ALTER TABLE inbox_conversation
    ADD COLUMN care_fr_seconds float8 GENERATED ALWAYS AS (
        CASE WHEN care_answered_at IS NOT NULL
             THEN date_part('epoch', GREATEST(care_answered_at - first_message_at, interval '0')) END) STORED,
    ADD COLUMN care_res_seconds float8 GENERATED ALWAYS AS (
        CASE WHEN resolved_at IS NOT NULL
             THEN date_part('epoch', GREATEST(resolved_at - first_message_at, interval '0')) END) STORED,
    ADD COLUMN care_fr_breached boolean GENERATED ALWAYS AS (sla_breaches @> '["first_response"]'::jsonb) STORED,
    ADD COLUMN care_res_breached boolean GENERATED ALWAYS AS (sla_breaches @> '["resolution"]'::jsonb) STORED;
DROP INDEX conversation_care_opened_idx;
CREATE INDEX conversation_care_opened_idx ON inbox_conversation (tenant_id, first_message_at)
    INCLUDE (department_id, assignee_id, status, resolved_at, care_fr_seconds, care_res_seconds, care_fr_breached,
             care_res_breached, care_sentiment_before, care_sentiment_after, first_response_due_at, resolution_due_at);
"""

UNDURATIONS_SQL = """
DROP INDEX conversation_care_opened_idx;
ALTER TABLE inbox_conversation DROP COLUMN care_fr_seconds, DROP COLUMN care_res_seconds,
    DROP COLUMN care_fr_breached, DROP COLUMN care_res_breached;
CREATE INDEX conversation_care_opened_idx ON inbox_conversation (tenant_id, first_message_at)
    INCLUDE (department_id, assignee_id, status, resolved_at, care_answered_at, care_sentiment_before,
             care_sentiment_after, first_response_due_at, resolution_due_at, sla_breaches);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('inbox', '0006_message_facts'),
    ]

    operations = [
        migrations.RunSQL(DURATIONS_SQL, UNDURATIONS_SQL),
    ]
