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
also filters on the tenant in SQL. Everything is one statement and one pass: the conversations
are grouped by (department, agent, labels around the answer), and the total, the departments
and the agents are sums of those small groups, added up in Python with the percentiles of their
durations (percentile_cont's definition, computed by numpy from the packed durations: see
_FIGURES). The first answer and the labels around it are not looked up here: the database keeps them
on the conversation (``care_answered_at``, ``care_sentiment_before``, ``care_sentiment_after``,
inbox/migrations/0005_care_facts.py, by the definitions above), the durations and breach flags
as stored generated columns (0007), and the statement reads them with everything else from the
care indexes.
"""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy
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
    the others (a breached target due in the range); and every conversation open at the backlog
    moment, with that flag alone, whenever it opened.

    Each part is read from an index that carries what it needs (inbox migration 0005, "care
    indexes"), so the usual case is index-only: the first answer and the sentiment around it are
    the conversation's own columns, kept by the database's triggers. A conversation appears once
    per flag it raises outside the opened part: the flags are summed, never the rows."""
    lower, upper = local_bounds(start, end, tz)
    where, params = _where(tenant_id, filters)
    params.update(lower=lower, upper=upper, backlog_at=min(upper, now or timezone.now()))
    conversation = _t(Conversation)
    fr_in_range = "c.first_response_due_at >= %(lower)s AND c.first_response_due_at < %(upper)s"
    res_in_range = "c.resolution_due_at >= %(lower)s AND c.resolution_due_at < %(upper)s"
    # Spelled as the breach indexes' predicates (inbox 0005), so those partial indexes apply.
    fr_due = f"""c.sla_breaches @> '["first_response"]'::jsonb AND {fr_in_range}"""
    res_due = f"""c.sla_breaches @> '["resolution"]'::jsonb AND {res_in_range}"""
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
        FROM {conversation} c WHERE {where} AND {condition}"""

    # The conversations opened in the range read their durations and breach flags from stored
    # generated columns (inbox migration 0007: date_part('epoch', ...) of the answer or the
    # resolution minus the opening, 0 for a reply dated before it; sla_breaches @> ...), computed
    # once per write instead of once per row read: a quarter of the statement at 90 days.
    # care_fr_seconds is NULL exactly when the conversation has no answer. The backlog is counted
    # from its two partial indexes alone, opened in the range or not (a few thousand rows at
    # most): testing the status of every conversation of the range was 15 of its ~80 ms.
    sql = f"""
    WITH timed (department_id, assignee_id, in_range, fr_seconds, res_seconds, fr_breach, res_breach,
                in_backlog, sentiment_before, sentiment_after) AS (
      SELECT c.department_id, c.assignee_id, true, c.care_fr_seconds, c.care_res_seconds,
             (c.care_fr_breached AND {fr_in_range})::int, (c.care_res_breached AND {res_in_range})::int,
             0,
             CASE WHEN c.care_fr_seconds IS NOT NULL THEN c.care_sentiment_before END,
             CASE WHEN c.care_fr_seconds IS NOT NULL THEN c.care_sentiment_after END
        FROM {conversation} c WHERE {where} AND {opened}
      UNION ALL {others(f"{outside} AND {fr_due}", "fr_breach")}
      UNION ALL {others(f"{outside} AND {res_due}", "res_breach")}
      UNION ALL {others(f"{open_now} AND {before_backlog}", "in_backlog")}
      UNION ALL {others(f"{done_later} AND {before_backlog}", "in_backlog")}
    )"""
    return sql, params


# One pass, one small group per (department, agent, labels before and after the answer): the
# figures of the total, of each department and of each agent are sums of those groups, added up
# in Python (_rolled_up), and so are the durations behind the percentiles, which travel packed
# (float8send: 8 big-endian bytes each, NULLs left out) and are taken by _percentiles.
# percentile_cont under GROUPING SETS sorted every group's times twice per grouping set and
# could not be hashed, and each grouping set repeated every aggregate of every row: most of the
# statement's time (90 days on the bench tenant, README "Care metrics").
_FIGURES = """
      string_agg(float8send(fr_seconds), ''::bytea) AS fr_packed,
      string_agg(float8send(res_seconds), ''::bytea) AS res_packed,
      coalesce(sum(fr_breach), 0) AS fr_breaches, coalesce(sum(res_breach), 0) AS res_breaches,
      coalesce(sum(in_backlog), 0) AS backlog, count(*) FILTER (WHERE in_range) AS conversations"""
_SUMMED = ("fr_breaches", "res_breaches", "backlog", "conversations")


def _percentiles(packed: bytes) -> tuple[float | None, float | None, int]:
    """(median, p90, count) of a group's packed durations, as PostgreSQL's percentile_cont
    computes them: position p * (n - 1) of the sorted values, linear between its two neighbours."""
    values = numpy.frombuffer(packed, dtype=">f8")
    n = len(values)
    if not n:
        return None, None, 0
    positions = [p * (n - 1) for p in (0.5, 0.9)]
    ranks = sorted({k for position in positions for k in (math.floor(position), math.ceil(position))})
    part = numpy.partition(values, ranks)  # one pass puts all four ranks in place
    out = []
    for position in positions:
        first, second = math.floor(position), math.ceil(position)
        a, b = float(part[first]), float(part[second])
        out.append(a + (b - a) * (position - first))  # float8_lerp, as percentile_cont
    return out[0], out[1], n


def _rolled_up(cells: list[dict]) -> list[dict]:
    """The fine groups -> rows of kind total / department / agent, with their percentiles, the
    groups with something to show only, busiest first (then by name, none first)."""
    groups: dict[tuple, dict] = {("total", None): {"kind": "total", "group_id": None, "name": None}}
    for cell in cells:
        for kind, key, name in (("total", None, None), ("department", cell["department_id"], cell["department"]),
                                ("agent", cell["assignee_id"], cell["agent"])):
            row = groups.setdefault((kind, key), {"kind": kind, "group_id": key, "name": name})
            for column in _SUMMED:
                row[column] = row.get(column, 0) + int(cell[column])
            for column in ("fr_packed", "res_packed"):
                row.setdefault(column, []).append(cell[column] or b"")
    rows = []
    for row in groups.values():
        for prefix in ("fr", "res"):
            row[f"{prefix}_median"], row[f"{prefix}_p90"], row[f"{prefix}_count"] = _percentiles(
                b"".join(row.pop(f"{prefix}_packed", [])))
        for column in _SUMMED:
            row.setdefault(column, 0)
        if row["kind"] == "total" or row["conversations"] or row["backlog"] or row["fr_breaches"] + row["res_breaches"]:
            rows.append(row)
    return sorted(rows, key=lambda r: (r["kind"], -r["conversations"], r["name"] is not None, r["name"] or "",
                                       r["group_id"] is not None, r["group_id"] or 0))


def _fetch(sql: str, params: dict) -> list[dict]:
    with connections[APP_ALIAS].cursor() as cursor:
        # JIT compiled for ~1.1 s of a 1.3 s query on 98k conversations (EXPLAIN ANALYZE, when
        # the facts were still looked up per row); the filters' look-ups can still push the
        # cost past jit_above_cost. SET LOCAL: this transaction only (the caller's tenant_context).
        cursor.execute("SET LOCAL jit = off")
        # The hashed groups hold the packed durations (16 bytes a conversation at most: 1.7 MB
        # at 90 days on the bench tenant); room for a few times that without spilling to disk.
        # One statement per request: bounded. The planner budgets 8 kB per group for each
        # string_agg state whatever it holds: with the statistics of some ANALYZE runs (8,000
        # groups estimated, 438 real) that passed the hash limit (work_mem x 2) and it sorted
        # the 119,000 rows instead, 130 ms instead of 63 at 90 days. A higher hash limit keeps
        # the hash; a real overflow would still spill to disk, not grow without bound.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL hash_mem_multiplier = 8")
        cursor.execute(sql, params)
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _figures(tenant_id: int, *, start, end, tz, filters, now) -> tuple[list[dict], dict]:
    """One statement, one pass: the figures over all conversations (kind 'total'), per
    department and per agent, groups with something to show only (_rolled_up); and the
    sentiment-shift counts, {(label before, label after): conversations}."""
    cte, params = _base_cte(tenant_id, start, end, tz, filters, now)
    sql = f"""{cte}, cells AS (
      SELECT timed.department_id, timed.assignee_id, timed.sentiment_before, timed.sentiment_after, {_FIGURES}
        FROM timed GROUP BY 1, 2, 3, 4
    )
    SELECT cells.*, d.name AS department, COALESCE(NULLIF(u.full_name, ''), u.email) AS agent
      FROM cells
      LEFT JOIN {_t(Department)} d ON d.tenant_id = %(tenant)s AND d.id = cells.department_id
      LEFT JOIN {_t(User)} u ON u.id = cells.assignee_id"""
    with tenant_context(tenant_id):
        cells = _fetch(sql, params)
    # Answered conversations of the range carry both labels (timed); only known labels count.
    shift: dict[tuple[str, str], int] = {}
    for cell in cells:
        pair = (cell["sentiment_before"], cell["sentiment_after"])
        if pair[0] in SENTIMENTS and pair[1] in SENTIMENTS:
            shift[pair] = shift.get(pair, 0) + int(cell["conversations"])
    return _rolled_up(cells), shift


def _summary(rows: list[dict], shift: dict | None) -> dict:
    row = next(r for r in rows if r["kind"] == "total")
    out = {
        "first_response": {"median_seconds": row["fr_median"], "p90_seconds": row["fr_p90"], "count": row["fr_count"]},
        "resolution": {"median_seconds": row["res_median"], "p90_seconds": row["res_p90"], "count": row["res_count"]},
        "sla_breaches": {"first_response": row["fr_breaches"], "resolution": row["res_breaches"]},
        "backlog": row["backlog"],
    }
    if shift is not None:
        out["sentiment_shift"] = {
            "conversations": sum(shift.values()),
            "before": {label: sum(n for (b, _a), n in shift.items() if b == label) for label in SENTIMENTS},
            "after": {label: sum(n for (_b, a), n in shift.items() if a == label) for label in SENTIMENTS},
        }
    return out


def care_summary(tenant_id: int, *, start: date, end: date, tz: str, filters: CareFilters = CareFilters(),
                 now: datetime | None = None) -> dict:
    """The headline figures and the sentiment shift."""
    rows, shift = _figures(tenant_id, start=start, end=end, tz=tz, filters=filters, now=now)
    return _summary(rows, shift)


def _table_row(key: str, row: dict, none_name: str) -> dict:
    return {
        key: row["group_id"],
        "name": row["name"] if row["group_id"] is not None else none_name,
        "first_response_median_seconds": row["fr_median"],
        "first_response_p90_seconds": row["fr_p90"],
        "resolution_median_seconds": row["res_median"],
        "sla_breaches": row["fr_breaches"] + row["res_breaches"],
        "backlog": row["backlog"],
        "conversations": row["conversations"],
    }


def _departments(rows: list[dict]) -> list[dict]:
    return [_table_row("department_id", r, _("No department")) for r in rows if r["kind"] == "department"]


def _agents(rows: list[dict]) -> list[dict]:
    return [_table_row("user_id", r, _("Unassigned")) for r in rows if r["kind"] == "agent"]


def care_by_department(tenant_id: int, *, start: date, end: date, tz: str, filters: CareFilters = CareFilters(),
                       now: datetime | None = None) -> list[dict]:
    """Per current department (None: no department), busiest first."""
    return _departments(_figures(tenant_id, start=start, end=end, tz=tz, filters=filters, now=now)[0])


def care_by_agent(tenant_id: int, *, start: date, end: date, tz: str, filters: CareFilters = CareFilters(),
                  now: datetime | None = None) -> list[dict]:
    """Per current assignee (None: unassigned), busiest first. Names: full name, else e-mail."""
    return _agents(_figures(tenant_id, start=start, end=end, tz=tz, filters=filters, now=now)[0])


def care_metrics(tenant_id: int, *, start: date, end: date, tz: str, filters: CareFilters = CareFilters(),
                 now: datetime | None = None) -> dict:
    """Everything of the care JSON (the analytics contract): one statement, one scan."""
    rows, shift = _figures(tenant_id, start=start, end=end, tz=tz, filters=filters, now=now or timezone.now())
    summary = _summary(rows, shift)
    shift = summary.pop("sentiment_shift")
    return {**summary, "by_department": _departments(rows), "by_agent": _agents(rows), "sentiment_shift": shift}
