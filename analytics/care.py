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
rows. The first answer and the labels around it are not looked up here: the database keeps them
on the conversation (``care_answered_at``, ``care_sentiment_before``, ``care_sentiment_after``,
inbox/migrations/0005_care_facts.py, by the definitions above), and the statement reads them
with everything else from the care indexes of the same migration.
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
    """The conversations of the tenant that pass the filters, one row each with the facts every
    table needs (``timed``): all of them for those opened in the range, the counted flag alone for
    the others (a breached target due in the range, open at the backlog moment).

    Each part is read from an index that carries what it needs (inbox migration 0005, "care
    indexes"), so the usual case is index-only: the first answer and the sentiment around it are
    the conversation's own columns, kept by the database's triggers. A conversation appears once
    per flag it raises outside the range: the flags are summed, never the rows."""
    lower, upper = local_bounds(start, end, tz)
    where, params = _where(tenant_id, filters)
    params.update(lower=lower, upper=upper, backlog_at=min(upper, now or timezone.now()))
    conversation = _t(Conversation)
    fr_due = """c.sla_breaches @> '["first_response"]'::jsonb
                AND c.first_response_due_at >= %(lower)s AND c.first_response_due_at < %(upper)s"""
    res_due = """c.sla_breaches @> '["resolution"]'::jsonb
                 AND c.resolution_due_at >= %(lower)s AND c.resolution_due_at < %(upper)s"""
    # Open at the backlog moment: opened before it and not done then (an open status, or
    # resolved after it). The statuses are exactly these five (conversation_status_known).
    open_now = "c.status IN ('new', 'open', 'pending')"
    done_later = "c.status IN ('resolved', 'closed') AND c.resolved_at > %(backlog_at)s"
    opened = "c.first_message_at >= %(lower)s AND c.first_message_at < %(upper)s"
    outside = "NOT (c.first_message_at >= %(lower)s AND c.first_message_at < %(upper)s)"
    before_backlog = "c.first_message_at < %(backlog_at)s"

    def others(condition: str, flag: str) -> str:
        flags = ", ".join(f"{int(name == flag)}" for name in ("fr_breach", "res_breach", "in_backlog"))
        return f"""
      SELECT c.department_id, c.assignee_id, false, NULL::float8, NULL::float8, {flags}, NULL::text, NULL::text
        FROM {conversation} c WHERE {where} AND {outside} AND {condition}"""

    # date_part (float8), not extract (numeric since PostgreSQL 14): the percentiles sort these,
    # and numeric made the whole statement 1.5 times slower at 90 days on the bench tenant.
    # GREATEST skips NULLs: test for the end first. A reply dated before the opening (clock skew
    # between platforms) counts as 0, not as a negative time.
    sql = f"""
    WITH timed (department_id, assignee_id, in_range, fr_seconds, res_seconds, fr_breach, res_breach,
                in_backlog, sentiment_before, sentiment_after) AS (
      SELECT c.department_id, c.assignee_id, true,
             CASE WHEN c.care_answered_at IS NOT NULL
                  THEN date_part('epoch', GREATEST(c.care_answered_at - c.first_message_at, interval '0')) END,
             CASE WHEN c.resolved_at IS NOT NULL
                  THEN date_part('epoch', GREATEST(c.resolved_at - c.first_message_at, interval '0')) END,
             ({fr_due})::int, ({res_due})::int,
             ({before_backlog} AND ({open_now} OR ({done_later})))::int,
             CASE WHEN c.care_answered_at IS NOT NULL THEN c.care_sentiment_before END,
             CASE WHEN c.care_answered_at IS NOT NULL THEN c.care_sentiment_after END
        FROM {conversation} c WHERE {where} AND {opened}
      UNION ALL {others(fr_due, "fr_breach")}
      UNION ALL {others(res_due, "res_breach")}
      UNION ALL {others(f"{open_now} AND {before_backlog}", "in_backlog")}
      UNION ALL {others(f"{done_later} AND {before_backlog}", "in_backlog")}
    )"""
    return sql, params


_LABELS = "('positive', 'neutral', 'negative')"
_FIGURES = f"""
      percentile_cont(0.5) WITHIN GROUP (ORDER BY fr_seconds) AS fr_median,
      percentile_cont(0.9) WITHIN GROUP (ORDER BY fr_seconds) AS fr_p90,
      count(fr_seconds) AS fr_count,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY res_seconds) AS res_median,
      percentile_cont(0.9) WITHIN GROUP (ORDER BY res_seconds) AS res_p90,
      count(res_seconds) AS res_count,
      coalesce(sum(fr_breach), 0) AS fr_breaches, coalesce(sum(res_breach), 0) AS res_breaches,
      coalesce(sum(in_backlog), 0) AS backlog, count(*) FILTER (WHERE in_range) AS conversations,
      -- Sentiment shift: answered conversations of the range whose both labels are known.
      count(*) FILTER (WHERE sentiment_before IN {_LABELS} AND sentiment_after IN {_LABELS}) AS shift_conversations,
      {", ".join(f"count(*) FILTER (WHERE sentiment_{side} = '{label}' AND sentiment_{other} IN {_LABELS}) AS {side}_{label}"
                 for side, other in (("before", "after"), ("after", "before")) for label in SENTIMENTS)}"""


def _fetch(sql: str, params: dict) -> list[dict]:
    with connections[APP_ALIAS].cursor() as cursor:
        # JIT compiled for ~1.1 s of a 1.3 s query on 98k conversations (EXPLAIN ANALYZE, when
        # the facts were still looked up per row); the filters' look-ups can still push the
        # cost past jit_above_cost. SET LOCAL: this transaction only (the caller's tenant_context).
        cursor.execute("SET LOCAL jit = off")
        # The percentiles sort every group's times (twice per grouping set); 4 MB spilled them
        # to disk at 90 days on the bench tenant. One statement per request: bounded.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql, params)
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _seconds(value) -> float | None:
    return None if value is None else float(value)


def _figures(tenant_id: int, *, start, end, tz, filters, now) -> list[dict]:
    """One statement: the figures over all conversations (grouping 'total'), per department and
    per agent (GROUPING SETS over the one scan), groups with something to show only; the
    sentiment-shift counts are on every row (read from the total)."""
    cte, params = _base_cte(tenant_id, start, end, tz, filters, now)
    sql = f"""{cte}, figures AS (
      SELECT CASE WHEN GROUPING(timed.department_id) = 0 THEN 'department'
                  WHEN GROUPING(timed.assignee_id) = 0 THEN 'agent' ELSE 'total' END AS kind,
             CASE WHEN GROUPING(timed.department_id) = 0 THEN timed.department_id
                  WHEN GROUPING(timed.assignee_id) = 0 THEN timed.assignee_id END AS group_id,
             {_FIGURES}
        FROM timed GROUP BY GROUPING SETS ((), (timed.department_id), (timed.assignee_id))
    )
    SELECT f.*, CASE f.kind WHEN 'department' THEN d.name
                                WHEN 'agent' THEN COALESCE(NULLIF(u.full_name, ''), u.email) END AS name
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
    rows = _figures(tenant_id, start=start, end=end, tz=tz, filters=filters, now=now)
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
    return _departments(_figures(tenant_id, start=start, end=end, tz=tz, filters=filters, now=now))


def care_by_agent(tenant_id: int, *, start: date, end: date, tz: str, filters: CareFilters = CareFilters(),
                  now: datetime | None = None) -> list[dict]:
    """Per current assignee (None: unassigned), busiest first. Names: full name, else e-mail."""
    return _agents(_figures(tenant_id, start=start, end=end, tz=tz, filters=filters, now=now))


def care_metrics(tenant_id: int, *, start: date, end: date, tz: str, filters: CareFilters = CareFilters(),
                 now: datetime | None = None) -> dict:
    """Everything of the care JSON (the analytics contract): one statement, one scan."""
    rows = _figures(tenant_id, start=start, end=end, tz=tz, filters=filters, now=now or timezone.now())
    summary = _summary(rows, shift=True)
    shift = summary.pop("sentiment_shift")
    return {**summary, "by_department": _departments(rows), "by_agent": _agents(rows), "sentiment_shift": shift}
