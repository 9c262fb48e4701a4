"""Per-conversation care facts kept by the database: the brand's first answer and the sentiment
of the customer just before and just after it (analytics/care.py reads them).

``care_answered_at``: the earlier of ``first_response_at`` and the first outbound message
delivered (``delivery_status = 'sent'``, at ``sent_at``, else ``created_at``).
``care_sentiment_before`` / ``care_sentiment_after``: the sentiment of the last inbound message
created before that answer and of the first one created after it (NULL when there is none, or
when its mention has no label).

They used to be looked up per conversation at read time; on the bench tenant (365k
conversations) that was most of a 1.9 s care query at 90 days. Now every write that can change
them recomputes them for the conversations it touched, in the same statement:

* statement-level triggers on ``inbox_message`` (INSERT, UPDATE, DELETE, with transition tables:
  one set-based UPDATE whatever the number of rows, COPY included);
* row-level triggers on ``inbox_conversation`` when ``first_response_at`` changes;
* a row-level trigger on ``listening_mention`` when ``sentiment`` changes (re-tagging, a
  reviewer's correction) that refreshes the conversation of its inbound message.

The columns are NOT fields of the Django model, on purpose: ``Conversation.save()`` writes every
field it knows from the values it loaded, and a stale instance would overwrite what a trigger had
just computed. Undeclared, the ORM never writes them (its INSERTs leave them NULL and the
triggers fill them). The functions run as the caller, so row-level security applies to them as
to the write that fired them. ARCHITECTURE.md "Care facts" says why this is not a rollup
refreshed from Python like the others.
"""

from django.db import migrations, models

CARE_SQL = """
ALTER TABLE inbox_conversation
    ADD COLUMN care_answered_at timestamptz,
    ADD COLUMN care_sentiment_before text,
    ADD COLUMN care_sentiment_after text;

CREATE FUNCTION inbox_care_refresh(p_tenants bigint[], p_ids bigint[]) RETURNS void
LANGUAGE sql VOLATILE AS $$
    WITH touched AS (
        -- MATERIALIZED below: a CTE read once is inlined, and each reference to one of its
        -- look-up columns would then run the look-up again.
        SELECT DISTINCT t.tenant_id, t.id
          FROM unnest(p_tenants, p_ids) AS t(tenant_id, id)
         WHERE t.id IS NOT NULL
    ), answered AS MATERIALIZED (
        SELECT c.tenant_id, c.id,
               LEAST(c.first_response_at,
                     (SELECT min(COALESCE(o.sent_at, o.created_at)) FROM inbox_message o
                       WHERE o.tenant_id = c.tenant_id AND o.conversation_id = c.id
                         AND o.direction = 'out' AND o.delivery_status = 'sent')) AS answered_at
          FROM inbox_conversation c
          JOIN touched t ON t.tenant_id = c.tenant_id AND t.id = c.id
    ), facts AS MATERIALIZED (
        SELECT a.tenant_id, a.id, a.answered_at,
               CASE WHEN a.answered_at IS NOT NULL THEN
                 (SELECT mt.sentiment FROM inbox_message m JOIN listening_mention mt
                         ON mt.tenant_id = m.tenant_id AND mt.id = m.mention_id
                   WHERE m.tenant_id = a.tenant_id AND m.conversation_id = a.id AND m.direction = 'in'
                     AND m.created_at < a.answered_at
                   ORDER BY m.created_at DESC, m.id DESC LIMIT 1) END AS before,
               CASE WHEN a.answered_at IS NOT NULL THEN
                 (SELECT mt.sentiment FROM inbox_message m JOIN listening_mention mt
                         ON mt.tenant_id = m.tenant_id AND mt.id = m.mention_id
                   WHERE m.tenant_id = a.tenant_id AND m.conversation_id = a.id AND m.direction = 'in'
                     AND m.created_at > a.answered_at
                   ORDER BY m.created_at ASC, m.id ASC LIMIT 1) END AS after
          FROM answered a
    )
    UPDATE inbox_conversation c
       SET care_answered_at = f.answered_at,
           care_sentiment_before = NULLIF(f.before, ''),
           care_sentiment_after = NULLIF(f.after, '')
      FROM facts f
     WHERE c.tenant_id = f.tenant_id AND c.id = f.id
       AND (c.care_answered_at, c.care_sentiment_before, c.care_sentiment_after)
           IS DISTINCT FROM (f.answered_at, NULLIF(f.before, ''), NULLIF(f.after, ''));
$$;

-- inbox_message: every statement, with the rows it wrote. An UPDATE only counts when a column the
-- facts read changed (claiming, approval or retries of a draft change none of them).
CREATE FUNCTION inbox_care_messages_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM inbox_care_refresh(array_agg(tenant_id), array_agg(conversation_id)) FROM care_new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM inbox_care_refresh(array_agg(tenant_id), array_agg(conversation_id)) FROM care_old_rows;
    ELSE
        PERFORM inbox_care_refresh(array_agg(x.tenant_id), array_agg(x.conversation_id))
          FROM (SELECT n.tenant_id, n.conversation_id FROM care_new_rows n JOIN care_old_rows o ON o.id = n.id
                 WHERE (n.conversation_id, n.direction, n.delivery_status, n.sent_at, n.created_at, n.mention_id)
                       IS DISTINCT FROM (o.conversation_id, o.direction, o.delivery_status, o.sent_at, o.created_at, o.mention_id)
                UNION ALL
                SELECT o.tenant_id, o.conversation_id FROM care_new_rows n JOIN care_old_rows o ON o.id = n.id
                 WHERE n.conversation_id IS DISTINCT FROM o.conversation_id) AS x;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER message_care_insert AFTER INSERT ON inbox_message
    REFERENCING NEW TABLE AS care_new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION inbox_care_messages_changed();
CREATE TRIGGER message_care_update AFTER UPDATE ON inbox_message
    REFERENCING OLD TABLE AS care_old_rows NEW TABLE AS care_new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION inbox_care_messages_changed();
CREATE TRIGGER message_care_delete AFTER DELETE ON inbox_message
    REFERENCING OLD TABLE AS care_old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION inbox_care_messages_changed();

-- inbox_conversation: its own first_response_at (set when a reply is published, or by an import).
CREATE FUNCTION inbox_care_conversation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM inbox_care_refresh(ARRAY[NEW.tenant_id], ARRAY[NEW.id]);
    RETURN NULL;
END $$;
CREATE TRIGGER conversation_care_insert AFTER INSERT ON inbox_conversation
    FOR EACH ROW WHEN (NEW.first_response_at IS NOT NULL)
    EXECUTE FUNCTION inbox_care_conversation_changed();
CREATE TRIGGER conversation_care_update AFTER UPDATE OF first_response_at ON inbox_conversation
    FOR EACH ROW WHEN (OLD.first_response_at IS DISTINCT FROM NEW.first_response_at)
    EXECUTE FUNCTION inbox_care_conversation_changed();

-- listening_mention: a new label on a mention that is an inbound message of a conversation.
CREATE FUNCTION inbox_care_mention_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM inbox_care_refresh(array_agg(m.tenant_id), array_agg(m.conversation_id))
       FROM inbox_message m
      WHERE m.tenant_id = NEW.tenant_id AND m.mention_id = NEW.id AND m.direction = 'in';
    RETURN NULL;
END $$;
CREATE TRIGGER mention_care_sentiment AFTER UPDATE OF sentiment ON listening_mention
    FOR EACH ROW WHEN (OLD.sentiment IS DISTINCT FROM NEW.sentiment)
    EXECUTE FUNCTION inbox_care_mention_changed();

-- The care indexes: each part of analytics/care.py's statement reads one of them, index-only
-- when the pages are all-visible. Conversations opened in a range, with everything counted:
CREATE INDEX conversation_care_opened_idx ON inbox_conversation (tenant_id, first_message_at)
    INCLUDE (department_id, assignee_id, status, resolved_at, care_answered_at, care_sentiment_before,
             care_sentiment_after, first_response_due_at, resolution_due_at, sla_breaches);
-- Breached targets due in a range, conversations open (or resolved after) the backlog moment:
CREATE INDEX conversation_care_fr_breach_idx ON inbox_conversation (tenant_id, first_response_due_at)
    INCLUDE (first_message_at, department_id, assignee_id) WHERE sla_breaches @> '["first_response"]'::jsonb;
CREATE INDEX conversation_care_res_breach_idx ON inbox_conversation (tenant_id, resolution_due_at)
    INCLUDE (first_message_at, department_id, assignee_id) WHERE sla_breaches @> '["resolution"]'::jsonb;
CREATE INDEX conversation_care_open_idx ON inbox_conversation (tenant_id, first_message_at)
    INCLUDE (department_id, assignee_id) WHERE status IN ('new', 'open', 'pending');
CREATE INDEX conversation_care_resolved_idx ON inbox_conversation (tenant_id, resolved_at)
    INCLUDE (first_message_at, department_id, assignee_id) WHERE status IN ('resolved', 'closed');

-- The conversations already stored (every tenant: row-level security is forced on the owner too).
SELECT set_config('app.cross_tenant', 'on', true);
SELECT inbox_care_refresh(array_agg(tenant_id), array_agg(id)) FROM inbox_conversation
 WHERE first_response_at IS NOT NULL
    OR EXISTS (SELECT 1 FROM inbox_message o WHERE o.tenant_id = inbox_conversation.tenant_id
                  AND o.conversation_id = inbox_conversation.id AND o.direction = 'out' AND o.delivery_status = 'sent');
SELECT set_config('app.cross_tenant', '', true);
"""

UNCARE_SQL = """
DROP INDEX conversation_care_resolved_idx, conversation_care_open_idx, conversation_care_res_breach_idx,
    conversation_care_fr_breach_idx, conversation_care_opened_idx;
DROP TRIGGER mention_care_sentiment ON listening_mention;
DROP FUNCTION inbox_care_mention_changed();
DROP TRIGGER conversation_care_update ON inbox_conversation;
DROP TRIGGER conversation_care_insert ON inbox_conversation;
DROP FUNCTION inbox_care_conversation_changed();
DROP TRIGGER message_care_delete ON inbox_message;
DROP TRIGGER message_care_update ON inbox_message;
DROP TRIGGER message_care_insert ON inbox_message;
DROP FUNCTION inbox_care_messages_changed();
DROP FUNCTION inbox_care_refresh(bigint[], bigint[]);
ALTER TABLE inbox_conversation
    DROP COLUMN care_answered_at, DROP COLUMN care_sentiment_before, DROP COLUMN care_sentiment_after;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('inbox', '0004_replies'),
        ('listening', '0006_author_mentions_seen'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='conversation',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['new', 'open', 'pending', 'resolved', 'closed'])), name='conversation_status_known'),
        ),
        migrations.RunSQL(CARE_SQL, UNCARE_SQL),
    ]
