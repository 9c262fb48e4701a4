"""Care metrics: how fast and how well the brand answers, computed in PostgreSQL from the inbox.

Definitions (README "Care metrics"):

* A conversation is *opened* at its first inbound message (``Conversation.first_message_at``);
  "conversations in the range" are those opened in it. The range is ``start`` .. ``end``
  inclusive, as local dates in ``tz``.
* *First response time*: the brand's first answer minus the opening. The first answer is the
  earlier of ``Conversation.first_response_at`` and the first outbound message delivered
  (``delivery_status = 'sent'``, at ``sent_at``); drafts waiting for approval, queued, failed or
  rejected replies are not answers. Median, p90 (``percentile_cont``, interpolated) and count of
  the conversations in the range that have one.
* *Resolution time*: ``resolved_at`` minus the opening, for conversations in the range that are
  resolved or closed now (a reopened conversation loses its ``resolved_at``).
* These are raw elapsed durations: business hours are NOT applied. The SLA timers
  (inbox/sla.py) already count business time, and their breaches are reported beside.
* *SLA breaches*: breaches recorded by ``inbox.sla.check_breaches`` whose target time
  (``first_response_due_at`` / ``resolution_due_at``) falls in the range, whenever the
  conversation was opened.
* *Backlog*: conversations opened before the end of the range (or now, if sooner) that were not
  resolved or closed at that moment: not done now, or done after it. A conversation resolved,
  reopened and still open counts as open over its whole life (the inbox keeps only the last
  resolution).
* *By department / by agent*: the same figures grouped by the conversation's current
  department and assignee ("No department" / "Unassigned" for none).
* *Sentiment shift*: for each conversation in the range with a first answer, the sentiment of
  its last inbound message before the answer and of its first inbound message after it; only
  conversations where both messages carry a label (negative, neutral, positive) are counted.

Every function takes the tenant id first, runs in ``tenant_context`` (row-level security) and
also filters on the tenant in SQL. Everything is one statement (the total, the departments and
the agents are GROUPING SETS of one scan); nothing is looped over in Python except the result
rows.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

from inbox.models import Conversation, Message
from listening.models import Mention, MentionMatch, MentionTopic
from social_crm.accounts.models import User
from social_crm.core.db import APP_ALIAS
from social_crm.tenancy.models import Department
from social_crm.tenancy.scope import tenant_context

SENTIMENTS = ("positive", "neutral", "negative")
_DONE = ("resolved", "closed")


@dataclass(frozen=True)
class CareFilters:
    department_id: int | None = None
    platform: str | None = None
    language: str | None = None  # the detected language of the opening message: fr, en, other
    query_ids: tuple[int, ...] = field(default_factory=tuple)  # any inbound message matched one of them
    topic_id: int | None = None  # any inbound message has this topic


def local_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """[start 00:00, (end + 1 day) 00:00) in ``tz``: inclusive local dates as aware datetimes."""
    zone = zoneinfo.ZoneInfo(tz)
    return (datetime.combine(start, time(0), tzinfo=zone), datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone))


def _t(model) -> str:
    return model._meta.db_table


def _where(tenant_id: int, filters: CareFilters) -> tuple[str, dict]:
    msg, mention = _t(Message), _t(Mention)
    clauses, params = ["c.tenant_id = %(tenant)s"], {"tenant": tenant_id}
    if filters.department_id is not None:
        clauses.append("c.department_id = %(department)s")
        params["department"] = filters.department_id
    if filters.platform:
        clauses.append("c.platform = %(platform)s")
        params["platform"] = filters.platform
    if filters.language:
        clauses.append(f"""(SELECT mt.detected_language FROM {msg} m JOIN {mention} mt
                               ON mt.tenant_id = m.tenant_id AND mt.id = m.mention_id
                             WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id AND m.direction = 'in'
                             ORDER BY m.created_at, m.id LIMIT 1) = %(language)s""")
        params["language"] = filters.language
    for table, column, key, value in ((_t(MentionMatch), "query_id", "queries", list(filters.query_ids)),
                                      (_t(MentionTopic), "topic_id", "topic", [filters.topic_id])):
        if value and value != [None]:
            clauses.append(f"""EXISTS (SELECT 1 FROM {msg} m JOIN {table} x
                                         ON x.tenant_id = m.tenant_id AND x.mention_id = m.mention_id
                                        WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id
                                          AND m.direction = 'in' AND x.{column} = ANY(%({key})s))""")
            params[key] = value
    return " AND ".join(clauses), params


def _base_cte(tenant_id: int, start: date, end: date, tz: str, filters: CareFilters, now: datetime | None):
    """The conversations of the tenant that pass the filters, with the facts every table needs."""
    lower, upper = local_bounds(start, end, tz)
    where, params = _where(tenant_id, filters)
    params.update(lower=lower, upper=upper, backlog_at=min(upper, now or timezone.now()))
    # MATERIALIZED: answered_at is read by several expressions below, and an inlined CTE would
    # run its look-up once for each of them. It is only looked up for conversations opened in
    # the range, the only ones whose first response counts.
    sql = f"""
    WITH conv AS MATERIALIZED (
      SELECT c.id, c.department_id, c.assignee_id, c.first_message_at AS opened_at, c.resolved_at,
             c.first_message_at >= %(lower)s AND c.first_message_at < %(upper)s AS in_range,
             CASE WHEN c.first_message_at >= %(lower)s AND c.first_message_at < %(upper)s THEN
               LEAST(c.first_response_at,
                     (SELECT min(COALESCE(o.sent_at, o.created_at)) FROM {_t(Message)} o
                       WHERE o.tenant_id = c.tenant_id AND o.conversation_id = c.id
                         AND o.direction = 'out' AND o.delivery_status = 'sent')) END AS answered_at,
             (c.sla_breaches @> '["first_response"]'::jsonb
              AND c.first_response_due_at >= %(lower)s AND c.first_response_due_at < %(upper)s)::int AS fr_breach,
             (c.sla_breaches @> '["resolution"]'::jsonb
              AND c.resolution_due_at >= %(lower)s AND c.resolution_due_at < %(upper)s)::int AS res_breach,
             (c.first_message_at < %(backlog_at)s
              AND NOT (c.status IN ('resolved', 'closed')
                       AND (c.resolved_at IS NULL OR c.resolved_at <= %(backlog_at)s)))::int AS in_backlog
        FROM {_t(Conversation)} c
       WHERE {where}
         -- Only rows that can count somewhere: opened in the range, a target due in it, or open
         -- at the backlog moment. The per-row look-ups above then run on those rows alone.
         AND ((c.first_message_at >= %(lower)s AND c.first_message_at < %(upper)s)
              OR (c.first_response_due_at >= %(lower)s AND c.first_response_due_at < %(upper)s)
              OR (c.resolution_due_at >= %(lower)s AND c.resolution_due_at < %(upper)s)
              OR (c.first_message_at < %(backlog_at)s
                  AND (c.status NOT IN ('resolved', 'closed') OR c.resolved_at > %(backlog_at)s)))
    ), timed AS (
      SELECT conv.*,
             -- GREATEST skips NULLs: test for the end first. A reply dated before the opening
             -- (clock skew between platforms) counts as 0, not as a negative time.
             CASE WHEN in_range AND answered_at IS NOT NULL
                  THEN extract(epoch FROM GREATEST(answered_at - opened_at, interval '0')) END AS fr_seconds,
             CASE WHEN in_range AND resolved_at IS NOT NULL
                  THEN extract(epoch FROM GREATEST(resolved_at - opened_at, interval '0')) END AS res_seconds
        FROM conv
    )"""
    return sql, params


_FIGURES = """
      percentile_cont(0.5) WITHIN GROUP (ORDER BY fr_seconds) AS fr_median,
      percentile_cont(0.9) WITHIN GROUP (ORDER BY fr_seconds) AS fr_p90,
      count(fr_seconds) AS fr_count,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY res_seconds) AS res_median,
      percentile_cont(0.9) WITHIN GROUP (ORDER BY res_seconds) AS res_p90,
      count(res_seconds) AS res_count,
      coalesce(sum(fr_breach), 0) AS fr_breaches, coalesce(sum(res_breach), 0) AS res_breaches,
      coalesce(sum(in_backlog), 0) AS backlog, count(*) FILTER (WHERE in_range) AS conversations"""


def _fetch(sql: str, params: dict) -> list[dict]:
    with connections[APP_ALIAS].cursor() as cursor:
        # The correlated look-ups inflate the planner's cost past jit_above_cost, and compiling
        # took ~1.1 s of a 1.3 s query on 98k conversations (EXPLAIN ANALYZE). SET LOCAL: this
        # transaction only (the caller's tenant_context).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _seconds(value) -> float | None:
    return None if value is None else float(value)


def _sentiment_sql() -> str:
    """Per answered conversation of the range: the label just before and just after the answer."""
    msg, mention = _t(Message), _t(Mention)

    def pick(op: str, order: str) -> str:
        return f"""(SELECT mt.sentiment FROM {msg} m JOIN {mention} mt
                       ON mt.tenant_id = m.tenant_id AND mt.id = m.mention_id
                     WHERE m.tenant_id = %(tenant)s AND m.conversation_id = timed.id AND m.direction = 'in'
                       AND m.created_at {op} timed.answered_at
                     ORDER BY m.created_at {order}, m.id {order} LIMIT 1)"""

    return f""", shift AS (
      SELECT {pick('<', 'DESC')} AS before, {pick('>', 'ASC')} AS after
        FROM timed WHERE in_range AND answered_at IS NOT NULL
    ), shift_both AS (
      SELECT * FROM shift WHERE before IN ('positive', 'neutral', 'negative')
                           AND after IN ('positive', 'neutral', 'negative')
    )"""


def _figures(tenant_id: int, *, start, end, tz, filters, now, shift: bool) -> list[dict]:
    """One statement: the figures over all conversations (grouping 'total'), per department and
    per agent (GROUPING SETS over the one scan), groups with something to show only, and, with
    ``shift``, the sentiment-shift counts (on every row; read from the total)."""
    cte, params = _base_cte(tenant_id, start, end, tz, filters, now)
    shift_cte, shift_columns = "", ""
    if shift:
        shift_cte = _sentiment_sql()
        shift_columns = ", (SELECT count(*) FROM shift_both) AS shift_conversations, " + ", ".join(
            f"(SELECT count(*) FROM shift_both WHERE {side} = '{label}') AS {side}_{label}"
            for side in ("before", "after") for label in SENTIMENTS)
    sql = f"""{cte}{shift_cte}, figures AS (
      SELECT CASE WHEN GROUPING(timed.department_id) = 0 THEN 'department'
                  WHEN GROUPING(timed.assignee_id) = 0 THEN 'agent' ELSE 'total' END AS kind,
             CASE WHEN GROUPING(timed.department_id) = 0 THEN timed.department_id
                  WHEN GROUPING(timed.assignee_id) = 0 THEN timed.assignee_id END AS group_id,
             {_FIGURES}
        FROM timed GROUP BY GROUPING SETS ((), (timed.department_id), (timed.assignee_id))
    )
    SELECT f.*, CASE f.kind WHEN 'department' THEN d.name
                                WHEN 'agent' THEN COALESCE(NULLIF(u.full_name, ''), u.email) END AS name
           {shift_columns}
      FROM figures f
      LEFT JOIN {_t(Department)} d ON f.kind = 'department' AND d.tenant_id = %(tenant)s AND d.id = f.group_id
      LEFT JOIN {_t(User)} u ON f.kind = 'agent' AND u.id = f.group_id
     WHERE f.kind = 'total' OR f.conversations > 0 OR f.backlog > 0 OR f.fr_breaches + f.res_breaches > 0
     ORDER BY f.kind, f.conversations DESC, name NULLS FIRST, f.group_id NULLS FIRST"""
    with tenant_context(tenant_id):
        return _fetch(sql, params)


def _summary(rows: list[dict], shift: bool) -> dict:
    row = next(r for r in rows if r["kind"] == "total")
    out = {
        "first_response": {"median_seconds": _seconds(row["fr_median"]), "p90_seconds": _seconds(row["fr_p90"]),
                           "count": row["fr_count"]},
        "resolution": {"median_seconds": _seconds(row["res_median"]), "p90_seconds": _seconds(row["res_p90"]),
                       "count": row["res_count"]},
        "sla_breaches": {"first_response": int(row["fr_breaches"]), "resolution": int(row["res_breaches"])},
        "backlog": int(row["backlog"]),
    }
    if shift:
        out["sentiment_shift"] = {
            "conversations": row["shift_conversations"],
            **{side: {label: row[f"{side}_{label}"] for label in SENTIMENTS} for side in ("before", "after")},
        }
    return out


def care_summary(tenant_id: int, *, start: date, end: date, tz: str, filters: CareFilters = CareFilters(),
                 now: datetime | None = None) -> dict:
    """The headline figures and the sentiment shift."""
    rows = _figures(tenant_id, start=start, end=end, tz=tz, filters=filters, now=now, shift=True)
    return _summary(rows, shift=True)


def _table_row(key: str, row: dict, none_name: str) -> dict:
    return {
        key: row["group_id"],
        "name": row["name"] if row["group_id"] is not None else none_name,
        "first_response_median_seconds": _seconds(row["fr_median"]),
        "first_response_p90_seconds": _seconds(row["fr_p90"]),
        "resolution_median_seconds": _seconds(row["res_median"]),
        "sla_breaches": int(row["fr_breaches"]) + int(row["res_breaches"]),
        "backlog": int(row["backlog"]),
        "conversations": row["conversations"],
    }


def _departments(rows: list[dict]) -> list[dict]:
    return [_table_row("department_id", r, _("No department")) for r in rows if r["kind"] == "department"]


def _agents(rows: list[dict]) -> list[dict]:
    return [_table_row("user_id", r, _("Unassigned")) for r in rows if r["kind"] == "agent"]


def care_by_department(tenant_id: int, *, start: date, end: date, tz: str, filters: CareFilters = CareFilters(),
                       now: datetime | None = None) -> list[dict]:
    """Per current department (None: no department), busiest first."""
    return _departments(_figures(tenant_id, start=start, end=end, tz=tz, filters=filters, now=now, shift=False))


def care_by_agent(tenant_id: int, *, start: date, end: date, tz: str, filters: CareFilters = CareFilters(),
                  now: datetime | None = None) -> list[dict]:
    """Per current assignee (None: unassigned), busiest first. Names: full name, else e-mail."""
    return _agents(_figures(tenant_id, start=start, end=end, tz=tz, filters=filters, now=now, shift=False))


def care_metrics(tenant_id: int, *, start: date, end: date, tz: str, filters: CareFilters = CareFilters(),
                 now: datetime | None = None) -> dict:
    """Everything of the care JSON (the analytics contract): one statement, one scan."""
    rows = _figures(tenant_id, start=start, end=end, tz=tz, filters=filters, now=now or timezone.now(), shift=True)
    summary = _summary(rows, shift=True)
    shift = summary.pop("sentiment_shift")
    return {**summary, "by_department": _departments(rows), "by_agent": _agents(rows), "sentiment_shift": shift}
