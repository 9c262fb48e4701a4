"""Writes of crisis detection (tenant id first, one transaction, audit row where a person acts):
the hourly counts, the scan that raises alerts, the notifications, the settings, and the
acknowledge / close of an alert."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Min, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from listening.models import ListeningQuery, Mention
from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.models import Membership, Tenant
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from . import detection
from .models import AlertStatus, CrisisAlert, CrisisHourlyCount, CrisisRecipient, CrisisSettings

HISTORY = timedelta(weeks=detection.WEEKS_BACK, hours=1)  # what the baselines read
DETECT_HOURS = 48  # recounted hours this recent are judged (late data: a replay, a backfill)
COOLDOWN = timedelta(hours=6)  # a query's spike that goes on is one alert, not one an hour
CHANGE_MARGIN = timedelta(minutes=10)  # a mention committed late behind a newer one is still seen
TOP_MENTIONS, TOP_TERMS = 10, 10


def access_alert(tenant_id: int, alert_id) -> CrisisAlert:
    """The tenant's alert, or 404 (missing and another tenant's look the same)."""
    try:
        pk = int(alert_id)
    except (TypeError, ValueError):
        raise Http404("Not found.") from None
    alert = CrisisAlert.objects.filter(tenant_id=tenant_id, pk=pk).select_related("query").first()
    if alert is None:
        raise Http404("Not found.")
    return alert


def settings_for(tenant_id: int) -> CrisisSettings:
    """The tenant's settings row, created with the defaults on first use. Idempotent."""
    with tenant_context(tenant_id):
        row, _created = CrisisSettings.objects.get_or_create(tenant_id=tenant_id)
        return row


def _hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


# --- Counting ----------------------------------------------------------------------------------

_UPSERT_COUNTS = """
WITH fresh AS (
    SELECT mm.query_id, date_trunc('hour', m.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
           count(*) AS volume, count(*) FILTER (WHERE m.sentiment = 'negative') AS negative
    FROM listening_mentionmatch mm
    JOIN listening_mention m ON m.tenant_id = mm.tenant_id AND m.id = mm.mention_id
    WHERE mm.tenant_id = %(tenant)s AND m.created_at >= %(start)s AND m.created_at < %(end)s
      AND NOT m.is_deleted AND NOT m.is_own
    GROUP BY 1, 2
), upserted AS (
    INSERT INTO crisis_crisishourlycount (tenant_id, query_id, hour, volume, negative, updated_at)
    SELECT %(tenant)s, query_id, hour, volume, negative, %(now)s FROM fresh
    ON CONFLICT (tenant_id, query_id, hour) DO UPDATE
        SET volume = EXCLUDED.volume, negative = EXCLUDED.negative, updated_at = EXCLUDED.updated_at
        WHERE (crisis_crisishourlycount.volume, crisis_crisishourlycount.negative)
              IS DISTINCT FROM (EXCLUDED.volume, EXCLUDED.negative)
    RETURNING 1
)
-- Hours of the range that lost their mentions (deleted, anonymised) count zero again.
UPDATE crisis_crisishourlycount c SET volume = 0, negative = 0, updated_at = %(now)s
WHERE c.tenant_id = %(tenant)s AND c.hour >= %(start)s AND c.hour < %(end)s AND c.volume > 0
  AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.query_id = c.query_id AND f.hour = c.hour)
"""


def counts_refresh(tenant_id: int, crisis_settings: CrisisSettings, end: datetime) -> datetime | None:
    """Recount the hours that may have changed, up to ``end`` (an hour: only completed hours).
    Returns the first recounted hour, or None. Idempotent (an upsert of what the mentions say);
    call inside the tenant's transaction holding the settings row."""
    history_start = end - HISTORY
    since = (crisis_settings.changed_through - CHANGE_MARGIN) if crisis_settings.changed_through else None
    mentions = Mention.objects.filter(tenant_id=tenant_id, created_at__gte=history_start, created_at__lt=end)
    if since is not None:
        mentions = mentions.filter(Q(stored_at__gt=since) | Q(tagged_at__gt=since))
    changed = mentions.aggregate(first=Min("created_at"),
                                 last=Max(Greatest(F("stored_at"), Coalesce(F("tagged_at"), F("stored_at")))))
    starts = [crisis_settings.counted_until or history_start]
    if changed["first"] is not None:
        starts.append(_hour(changed["first"]))
    start = max(min(starts), history_start)
    if changed["last"] is not None:
        crisis_settings.changed_through = max(filter(None, (crisis_settings.changed_through, changed["last"])))
    crisis_settings.counted_until = max(filter(None, (crisis_settings.counted_until, end)))
    crisis_settings.save(update_fields=["counted_until", "changed_through"])
    if start >= end:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT_COUNTS, {"tenant": tenant_id, "start": start, "end": end, "now": timezone.now()})
    return start


def query_series(tenant_id: int, query_id: int, start: datetime, end: datetime) -> list[tuple[datetime, int, int]]:
    return list(CrisisHourlyCount.objects.filter(tenant_id=tenant_id, query_id=query_id, hour__gte=start,
                                                 hour__lt=end).order_by("hour").values_list("hour", "volume",
                                                                                            "negative"))


def query_history_start(tenant_id: int, query_id: int) -> datetime | None:
    """Where the query's history begins: its creation, or its first counted hour if earlier."""
    created = ListeningQuery.objects.filter(tenant_id=tenant_id, pk=query_id).values_list("created_at", flat=True)
    first = CrisisHourlyCount.objects.filter(tenant_id=tenant_id, query_id=query_id).aggregate(m=Min("hour"))["m"]
    return min(filter(None, (first, _hour(created[0]) if created else None)), default=None)


# --- The scan ----------------------------------------------------------------------------------


def crisis_scan(tenant_id: int, *, now: datetime | None = None) -> list[CrisisAlert]:
    """The pass of one tenant (beat: every 10 minutes): recount the changed hours, judge the recent ones of each
    query, raise an alert per unusual hour (notifications after commit). Idempotent: the counts
    are upserts, an alert is unique per (tenant, query, hour) and a rerun raises nothing new.
    Concurrent passes of one tenant queue on the settings row."""
    end = _hour(now or timezone.now())
    with tenant_context(tenant_id):
        CrisisSettings.objects.get_or_create(tenant_id=tenant_id)
        crisis_settings = CrisisSettings.objects.select_for_update().get(tenant_id=tenant_id)
        first = counts_refresh(tenant_id, crisis_settings, end)
        if first is None:
            return []
        judged = detection.hours_between(max(first, end - timedelta(hours=DETECT_HOURS)), end)
        if not judged:
            return []
        thresholds = detection.THRESHOLDS[crisis_settings.sensitivity]
        floor = min(thresholds.min_volume, thresholds.min_negative_volume)
        query_ids = sorted(set(CrisisHourlyCount.objects.filter(
            tenant_id=tenant_id, hour__gte=judged[0], hour__lt=end, volume__gte=floor).values_list("query_id", flat=True)))
        raised = []
        for query_id in query_ids:
            rows = query_series(tenant_id, query_id, judged[0] - HISTORY, end)
            for verdict in detection.detect(rows, judged, thresholds, start=query_history_start(tenant_id, query_id)):
                alert = crisis_alert_raise(tenant_id, query_id=query_id, verdict=verdict,
                                           crisis_settings=crisis_settings)
                if alert is not None:
                    raised.append(alert)
        return raised


def crisis_alert_raise(tenant_id: int, *, query_id: int, verdict: detection.Verdict,
                       crisis_settings: CrisisSettings) -> CrisisAlert | None:
    """Store the alert of one verdict and notify, unless this hour already has one or the query
    had one in the hours before (COOLDOWN). Returns the new alert or None. Idempotent."""
    with tenant_context(tenant_id):
        if CrisisAlert.objects.filter(tenant_id=tenant_id, query_id=query_id, hour__gt=verdict.hour - COOLDOWN,
                                      hour__lte=verdict.hour).exists():
            return None
        mention_ids, terms = top_mentions(tenant_id, query_id, verdict.hour), top_terms(tenant_id, query_id, verdict.hour)
        try:
            with transaction.atomic():
                alert = CrisisAlert.objects.create(
                    tenant_id=tenant_id, query_id=query_id, hour=verdict.hour, kinds=list(verdict.kinds),
                    observed=verdict.observed, expected=verdict.expected, negative=verdict.negative,
                    negative_share=verdict.negative_share, expected_negative_share=verdict.expected_negative_share,
                    score=verdict.score, method=verdict.method, sensitivity=crisis_settings.sensitivity,
                    top_mention_ids=mention_ids, top_terms=terms)
        except IntegrityError:  # a concurrent pass stored it first
            return None
        alert = CrisisAlert.objects.select_related("query").get(tenant_id=tenant_id, pk=alert.pk)
        audit_record(tenant_id, actor=None, action="crisis.detected", target=alert,
                     data={"query": alert.query.name, "hour": alert.hour.isoformat(), "observed": alert.observed,
                           "expected": alert.expected, "kinds": alert.kinds})
        _notify(tenant_id, alert, crisis_settings)
        return alert


def _mentions_in_hour(tenant_id: int, query_id: int, start: datetime, end: datetime):
    return Mention.objects.filter(tenant_id=tenant_id, mentionmatch__query_id=query_id, created_at__gte=start,
                                  created_at__lt=end, is_deleted=False, is_own=False)


def top_mentions(tenant_id: int, query_id: int, hour: datetime) -> list[int]:
    """The hour's mentions with the largest reach: views where the platform gives them, else the
    author's followers."""
    reach = Greatest(Coalesce(F("view_count"), Value(0)), Coalesce(F("author__followers"), Value(0)))
    rows = (_mentions_in_hour(tenant_id, query_id, hour, hour + detection.HOUR).annotate(reach=reach)
            .order_by("-reach", "-id").values_list("id", flat=True)[:TOP_MENTIONS])
    return list(rows)


_TERM_RE = re.compile(r"[#@]?[^\W\d_][\w'’-]{2,}")
_STOPWORDS = frozenset("""
the and for you your are was were with this that not but have has had from they them their our out all just
what when who how why can will would could should about into more than then there here its it's i'm don't
les des une un est pas que qui pour dans sur avec mais plus par vous nous ils elle elles ont été sont aux
ces cette son sa ses leur leurs mon ma mes ton ta tes du de la le et en au ce se ne on y a à ou où très
tout tous toute fait faire être avoir comme encore déjà aussi alors chez même rien bien https http www com
""".split())


def _terms(texts) -> Counter:
    counts: Counter = Counter()
    for text in texts:
        words = {w.lower().strip("'’-") for w in _TERM_RE.findall(text or "")}
        counts.update(w for w in words if len(w) > 2 and w not in _STOPWORDS)  # once per mention
    return counts


def top_terms(tenant_id: int, query_id: int, hour: datetime) -> list[list]:
    """The words and hashtags behind the hour: the most over-represented against the week before
    (count in the hour vs. the count expected from the week's frequency), at least twice."""
    texts = list(_mentions_in_hour(tenant_id, query_id, hour, hour + detection.HOUR).values_list("text", flat=True)[:2000])
    before = list(_mentions_in_hour(tenant_id, query_id, hour - timedelta(days=7), hour)
                  .order_by("-created_at").values_list("text", flat=True)[:5000])
    now_counts, then_counts = _terms(texts), _terms(before)
    scale = len(texts) / max(len(before), 1)
    ranked = sorted(((count - then_counts[term] * scale, count, term) for term, count in now_counts.items()
                     if count >= 2), reverse=True)
    return [[term, count] for lift, count, term in ranked[:TOP_TERMS] if lift > 0]


# --- Notifications ----------------------------------------------------------------------------


def recipients(tenant_id: int, crisis_settings: CrisisSettings) -> list:
    """The chosen members still in the tenant and active; none chosen: the tenant admins."""
    chosen = CrisisRecipient.objects.filter(tenant_id=tenant_id).values_list("user_id", flat=True)
    members = Membership.objects.filter(tenant_id=tenant_id, user__is_active=True).select_related("user")
    members = members.filter(user_id__in=chosen) if chosen.exists() else members.filter(role=Role.ADMIN)
    return [m.user for m in members.order_by("user_id")]


def _notify(tenant_id: int, alert: CrisisAlert, crisis_settings: CrisisSettings) -> None:
    """In-app rows and e-mails (each in the recipient's language, sent after commit) and the
    ``crisis.detected`` webhook event (recorded in this transaction, delivered after commit)."""
    from social_crm.webhooks.events import emit

    from inbox.alerts import notify_users

    tenant = Tenant.objects.get(pk=tenant_id)
    url = reverse("crisis-alert", kwargs={"tenant_slug": tenant.slug, "alert_id": alert.pk})
    notify_users(tenant_id, recipients(tenant_id, crisis_settings), kind="crisis.detected",
                 title=gettext_lazy("Crisis alert: %(query)s"),
                 body=gettext_lazy("%(observed)s mentions in the hour of %(hour)s (%(zone)s), %(expected)s expected; "
                                   "%(share)s%% negative."),
                 params={"query": alert.query.name, "observed": alert.observed, "expected": f"{alert.expected:g}",
                         "share": round(100 * alert.negative_share), "zone": tenant.timezone,
                         "hour": timezone.localtime(alert.hour, _zone(tenant)).strftime("%Y-%m-%d %H:00")},
                 url=url, email=crisis_settings.notify_email, in_app=crisis_settings.notify_in_app)
    if crisis_settings.notify_webhook:
        emit(tenant_id, "crisis.detected", {"alert": alert_payload(alert, url=f"{django_settings.SITE_URL}{url}")})


def _zone(tenant: Tenant):
    import zoneinfo

    return zoneinfo.ZoneInfo(tenant.timezone)


def alert_payload(alert: CrisisAlert, *, url: str = "") -> dict:
    """What the webhook event and the API say about an alert."""
    return {"id": alert.pk, "query": {"id": alert.query_id, "name": alert.query.name}, "hour": alert.hour,
            "kinds": alert.kinds, "observed": alert.observed, "expected": alert.expected,
            "negative": alert.negative, "negative_share": alert.negative_share,
            "expected_negative_share": alert.expected_negative_share, "score": alert.score,
            "baseline": alert.method, "status": alert.status, "top_mention_ids": alert.top_mention_ids,
            "top_terms": alert.top_terms, **({"url": url} if url else {})}


# --- People's actions -------------------------------------------------------------------------


def crisis_alert_acknowledge(tenant_id: int, *, actor, alert_id: int) -> CrisisAlert:
    """Open -> acknowledged. Idempotent: an acknowledged or closed alert is left as it is."""
    with tenant_context(tenant_id):
        alert = access_alert(tenant_id, alert_id)
        updated = CrisisAlert.objects.filter(tenant_id=tenant_id, pk=alert.pk, status=AlertStatus.OPEN).update(
            status=AlertStatus.ACKNOWLEDGED, acknowledged_by=actor, acknowledged_at=timezone.now())
        if updated:
            audit_record(tenant_id, actor=actor, action="crisis.acknowledged", target=alert)
        return access_alert(tenant_id, alert.pk)


def crisis_alert_close(tenant_id: int, *, actor, alert_id: int) -> CrisisAlert:
    """Open or acknowledged -> closed. Idempotent: a closed alert stays as it was closed."""
    with tenant_context(tenant_id):
        alert = access_alert(tenant_id, alert_id)
        updated = CrisisAlert.objects.filter(tenant_id=tenant_id, pk=alert.pk).exclude(
            status=AlertStatus.CLOSED).update(status=AlertStatus.CLOSED, closed_by=actor, closed_at=timezone.now())
        if updated:
            audit_record(tenant_id, actor=actor, action="crisis.closed", target=alert)
        return access_alert(tenant_id, alert.pk)


def crisis_settings_save(tenant_id: int, *, actor, sensitivity: str, notify_in_app: bool, notify_email: bool,
                         notify_webhook: bool, recipient_ids=()) -> CrisisSettings:
    """Save the tenant's settings; recipients must be members of the tenant (else a field error)."""
    from .models import Sensitivity

    with tenant_context(tenant_id):
        if sensitivity not in Sensitivity.values:
            raise ValidationError({"sensitivity": [_("Choose a valid sensitivity.")]})
        ids = sorted({int(i) for i in recipient_ids})
        members = set(Membership.objects.filter(tenant_id=tenant_id, user_id__in=ids).values_list("user_id", flat=True))
        if set(ids) - members:
            raise ValidationError({"recipients": [_("Choose members of this tenant.")]})
        CrisisSettings.objects.get_or_create(tenant_id=tenant_id)
        row = CrisisSettings.objects.select_for_update().get(tenant_id=tenant_id)
        row.sensitivity, row.notify_in_app, row.notify_email, row.notify_webhook = (
            sensitivity, notify_in_app, notify_email, notify_webhook)
        row.updated_at = timezone.now()
        row.save()
        CrisisRecipient.objects.filter(tenant_id=tenant_id).exclude(user_id__in=ids).delete()
        existing = set(CrisisRecipient.objects.filter(tenant_id=tenant_id).values_list("user_id", flat=True))
        CrisisRecipient.objects.bulk_create([CrisisRecipient(tenant_id=tenant_id, crisis_settings=row, user_id=i)
                                             for i in ids if i not in existing])
        audit_record(tenant_id, actor=actor, action="crisis.settings", target=None,
                     data={"sensitivity": sensitivity, "in_app": notify_in_app, "email": notify_email,
                           "webhook": notify_webhook, "recipients": ids})
        return row
