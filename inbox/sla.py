"""SLA policies: first-response and resolution targets in business time.

Business time is counted in real elapsed minutes inside the policy's weekly hours, in the
policy's time zone, minus its holidays. All arithmetic is done in UTC on interval bounds built
from local wall-clock times, so a day that loses or gains an hour to a DST change really has
23 or 25 hours (Python subtracts two datetimes of the same tzinfo as wall-clock times, hence
the conversion). A wall-clock time that does not exist (02:30 on the spring change) is read
with the offset before the change; hours that end at "24:00" end at the next midnight;
overnight spans are written as two days ("22:00"-"24:00" and "00:00"-"06:00").

``apply_policy`` sets a conversation's due dates from its first message (the policy of its
priority, else the tenant's default); ``check_breaches`` (beat, per tenant) records each breach
once in ``sla_breaches`` with a ConversationEvent.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from social_crm.tenancy.access import scoped_get
from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.scope import tenant_context

from .models import Conversation, ConversationEvent, Priority, SlaPolicy, Status

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 3 * 366  # a target further than this (or hours that never open) has no due date
FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


# --- Business-time arithmetic ----------------------------------------------------------------------


def _at(day: date, hhmm: str, tz: zoneinfo.ZoneInfo) -> datetime:
    if hhmm == "24:00":
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    hours, minutes = map(int, hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=tz).astimezone(UTC)


def _intervals(day: date, hours: dict, holidays: set[str], tz) -> list[tuple[datetime, datetime]]:
    """The day's business intervals as UTC bounds."""
    if day.isoformat() in holidays:
        return []
    return [(_at(day, start, tz), _at(day, end, tz)) for start, end in hours.get(DAYS[day.weekday()], [])]


def add_business_minutes(start: datetime, minutes: int, *, hours: dict, holidays=(), tz: str) -> datetime | None:
    """The moment ``minutes`` business minutes after ``start`` (0: the next business moment),
    or None when the hours never open within ``MAX_DAYS``."""
    zone, holiday_set = zoneinfo.ZoneInfo(tz), set(holidays)
    cursor, remaining = start.astimezone(UTC), timedelta(minutes=minutes)
    day = start.astimezone(zone).date()
    for _offset in range(MAX_DAYS):
        for begin, end in _intervals(day, hours, holiday_set, zone):
            if end <= cursor:
                continue
            begin = max(begin, cursor)
            if end - begin >= remaining:
                return begin + remaining
            remaining -= end - begin
        day += timedelta(days=1)
    return None


def business_minutes_between(start: datetime, end: datetime, *, hours: dict, holidays=(), tz: str) -> int:
    """Whole business minutes from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
    zone, holiday_set = zoneinfo.ZoneInfo(tz), set(holidays)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return 0
    total = timedelta()
    day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    while day <= last:
        for begin, finish in _intervals(day, hours, holiday_set, zone):
            overlap = min(finish, end) - max(begin, start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)


# --- Policies ----------------------------------------------------------------------------------


def policy_for(tenant_id: int, priority: str) -> SlaPolicy | None:
    """The policy of this priority, else the tenant's default."""
    policies = list(SlaPolicy.objects.filter(tenant_id=tenant_id).filter(Q(priority=priority) | Q(is_default=True)))
    return next((p for p in policies if p.priority == priority), None) or next(
        (p for p in policies if p.is_default), None)


def due_dates(policy: SlaPolicy, start: datetime) -> tuple[datetime | None, datetime | None]:
    args = {"hours": policy.business_hours, "holidays": policy.holidays, "tz": policy.time_zone}
    return (add_business_minutes(start, policy.first_response_minutes, **args),
            add_business_minutes(start, policy.resolution_minutes, **args))


def sla_start(conversation: Conversation) -> datetime:
    return max(conversation.first_message_at, conversation.created_at)


def apply_policy(conversation: Conversation) -> SlaPolicy | None:
    """Set the conversation's policy and due dates, counted from its first message or, when it
    reached us later (a backfill, a replay, a channel down for a while), from when it did: nobody
    can answer a post before it is in the inbox. Call it when a conversation is created and when
    its priority changes. Idempotent: writes only when something changed. Runs in the caller's
    tenant transaction."""
    policy = policy_for(conversation.tenant_id, conversation.priority)
    start = sla_start(conversation)
    first, resolution = due_dates(policy, start) if policy else (None, None)
    new = (policy.pk if policy else None, first, resolution)
    if new != (conversation.sla_policy_id, conversation.first_response_due_at, conversation.resolution_due_at):
        conversation.sla_policy_id, conversation.first_response_due_at, conversation.resolution_due_at = new
        Conversation.objects.filter(tenant_id=conversation.tenant_id, pk=conversation.pk).update(
            sla_policy_id=new[0], first_response_due_at=first, resolution_due_at=resolution)
    return policy


_DONE = (Status.RESOLVED, Status.CLOSED)
BREACH_BATCH = 500  # conversations per target and run: the next beat takes the rest


def _breached(tenant_id: int, target: str, now: datetime):
    due, done_at = f"{target}_due_at", f"{target}_at" if target == FIRST_RESPONSE else "resolved_at"
    late = Q(**{f"{done_at}__gt": F(due)})
    if target == FIRST_RESPONSE:
        waiting = Q(first_response_at__isnull=True, resolved_at__isnull=True) & ~Q(status__in=_DONE)
    else:
        waiting = Q(resolved_at__isnull=True) & ~Q(status__in=_DONE)
    return (Conversation.objects.filter(tenant_id=tenant_id, **{f"{due}__lt": now}).filter(waiting | late)
            .exclude(sla_breaches__contains=[target]))


def check_breaches(tenant_id: int, *, now: datetime | None = None) -> list[tuple[int, str]]:
    """Record every new breach once: the target goes into ``sla_breaches`` and the conversation
    gets an "sla_breach" event. Idempotent: a recorded breach is excluded by the query, and rows
    are claimed with FOR UPDATE SKIP LOCKED. Returns (conversation id, target) pairs."""
    now = now or timezone.now()
    recorded = []
    with tenant_context(tenant_id):
        for target in (FIRST_RESPONSE, RESOLUTION):
            rows = _breached(tenant_id, target, now).select_for_update(skip_locked=True).order_by("id")[:BREACH_BATCH]
            for conversation in rows:
                conversation.sla_breaches = [*conversation.sla_breaches, target]
                conversation.save(update_fields=["sla_breaches"])
                due = getattr(conversation, f"{target}_due_at")
                ConversationEvent.objects.create(tenant_id=tenant_id, conversation=conversation, kind="sla_breach",
                                                 created_at=now, data={"target": target, "due_at": due.isoformat()})
                recorded.append((conversation.pk, target))
    return recorded


def breach_counts(tenant_id: int) -> dict[str, int]:
    """Open conversations (not resolved or closed) past each target: the inbox's counters."""
    open_ = Conversation.objects.filter(tenant_id=tenant_id).exclude(status__in=_DONE)
    return {target: open_.filter(sla_breaches__contains=[target]).count() for target in (FIRST_RESPONSE, RESOLUTION)}


# --- Policy administration -----------------------------------------------------------------------


def clean_business_hours(value) -> dict[str, list[list[str]]]:
    """{"mon": [["09:00", "12:00"], ["14:00", "18:00"]], ...}: each span starts before it
    ends, spans of a day do not overlap. ValidationError on "business_hours"."""
    if not isinstance(value, dict) or set(value) - set(DAYS):
        raise ValidationError({"business_hours": [_("Use the days %(days)s.") % {"days": ", ".join(DAYS)}]})
    clean = {}
    for day in DAYS:
        spans = value.get(day) or []
        ok = isinstance(spans, list) and all(
            isinstance(s, (list, tuple)) and len(s) == 2 and all(isinstance(t, str) and _HHMM.match(t) for t in s)
            and s[0] < s[1] and s[0] != "24:00" for s in spans)
        spans = sorted([list(s) for s in spans]) if ok else []
        if not ok or any(a[1] > b[0] for a, b in zip(spans, spans[1:], strict=False)):
            raise ValidationError({"business_hours": [_("%(day)s: give opening and closing times as HH:MM, the "
                                                        "opening first, spans not overlapping.") % {"day": day}]})
        clean[day] = spans
    if not any(clean.values()):
        raise ValidationError({"business_hours": [_("Open on at least one day.")]})
    return clean


def clean_holidays(value) -> list[str]:
    try:
        return sorted({date.fromisoformat(str(d).strip()).isoformat() for d in value or [] if str(d).strip()})
    except ValueError:
        raise ValidationError({"holidays": [_("Write holidays as YYYY-MM-DD.")]}) from None


def access_sla_policy(tenant_id: int, policy_id) -> SlaPolicy:
    return scoped_get(SlaPolicy.objects.all(), tenant_id, policy_id)


def sla_policy_save(tenant_id: int, *, actor, policy_id: int | None = None, name: str, first_response_minutes: int,
                    resolution_minutes: int, time_zone: str, business_hours, holidays=(), priority: str = "",
                    is_default: bool = False) -> SlaPolicy:
    """Create or update a policy; making it the default takes that from the previous one.
    Idempotent. ValidationError on the field at fault."""
    with tenant_context(tenant_id):
        policy = access_sla_policy(tenant_id, policy_id) if policy_id else SlaPolicy(tenant_id=tenant_id)
        name = (name or "").strip()
        errors = {}
        if not name:
            errors["name"] = [_("Give the policy a name.")]
        elif SlaPolicy.objects.filter(tenant_id=tenant_id, name__iexact=name).exclude(pk=policy.pk).exists():
            errors["name"] = [_("Another policy already has this name.")]
        if time_zone not in zoneinfo.available_timezones():
            errors["time_zone"] = [_("Unknown time zone.")]
        if priority and priority not in Priority.values:
            errors["priority"] = [_("Unknown priority.")]
        elif priority and SlaPolicy.objects.filter(tenant_id=tenant_id, priority=priority).exclude(pk=policy.pk).exists():
            errors["priority"] = [_("Another policy already covers this priority.")]
        for key, minutes in (("first_response_minutes", first_response_minutes),
                             ("resolution_minutes", resolution_minutes)):
            if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 525600:
                errors[key] = [_("Give a number of minutes between 1 and 525600.")]
        cleaned = {}
        for key, cleaner, raw in (("hours", clean_business_hours, business_hours), ("days", clean_holidays, holidays)):
            try:
                cleaned[key] = cleaner(raw)
            except ValidationError as exc:
                errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)
        if is_default:
            SlaPolicy.objects.filter(tenant_id=tenant_id, is_default=True).exclude(pk=policy.pk).update(is_default=False)
        policy.name, policy.time_zone, policy.priority, policy.is_default = name, time_zone, priority, is_default
        policy.first_response_minutes, policy.resolution_minutes = first_response_minutes, resolution_minutes
        policy.business_hours, policy.holidays = cleaned["hours"], cleaned["days"]
        try:
            with transaction.atomic():
                policy.save()
        except IntegrityError as exc:  # a concurrent twin
            raise ValidationError({"name": [_("Another policy already has this name.")]}) from exc
        audit_record(tenant_id, actor=actor, action="sla_policy.created" if policy_id is None else "sla_policy.updated",
                     target=policy, data={"first_response_minutes": first_response_minutes,
                                          "resolution_minutes": resolution_minutes, "priority": priority,
                                          "is_default": is_default, "time_zone": time_zone})
        return policy


def sla_policy_delete(tenant_id: int, *, actor, policy_id: int) -> None:
    """Delete a policy; conversations keep their due dates (their policy link is cleared)."""
    with tenant_context(tenant_id):
        policy = access_sla_policy(tenant_id, policy_id)
        audit_record(tenant_id, actor=actor, action="sla_policy.deleted", target=policy)
        Conversation.objects.filter(tenant_id=tenant_id, sla_policy=policy).update(sla_policy=None)
        policy.delete()
