"""Department alerts: a routing rule (or a person) sends a conversation to a department, its
heads acknowledge, comment, hand it back to the inbox, escalate or resolve it.

Escalation ladder of an alert nobody acknowledges (``InboxSettings.alert_escalation_minutes``
after it was opened, then again after the same delay):

* level 0: the department's heads (notified when the alert opens);
* level 1: a second person, the department's second head (heads in the order they were made
  heads); a department with one head skips this level;
* level 2: the tenant admins. An alert at level 2 does not escalate further.

Every action runs in the tenant's transaction, starts with a state guard, writes an audit row
and a ConversationEvent (kind "alert"), and sends e-mail only after the commit.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from social_crm.tenancy.access import scoped_get
from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.models import AuditEvent, DepartmentHead, Membership, Notification, Tenant
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context
from social_crm.webhooks import payloads as webhook_payloads
from social_crm.webhooks.events import emit

from .models import Alert, AlertComment, AlertStatus, Conversation, ConversationEvent, InboxSettings

logger = logging.getLogger(__name__)

OPEN_STATES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.ESCALATED)
UNACKNOWLEDGED = (AlertStatus.OPEN, AlertStatus.ESCALATED)
DEFAULT_DELAY_MINUTES = 30
ADMINS_LEVEL = 2


# --- Notifications (in-app + e-mail), shared with inbox/routing.py -------------------------------


def alerts_url(tenant: Tenant) -> str:
    return reverse("alerts", kwargs={"tenant_slug": tenant.slug})


def notify_users(tenant_id: int, users: Iterable, *, kind: str, title, body, params: dict, url: str,
                 email: bool = True, in_app: bool = True) -> list[str]:
    """One in-app Notification per user, in the user's language (else the tenant's), and an
    e-mail copy after the commit (a mail server outage never undoes the decision). ``title`` and
    ``body`` are lazy translations formatted with ``params``. Returns the e-mail addresses."""
    tenant = Tenant.objects.get(pk=tenant_id)
    sent, seen = [], set()
    for user in users:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        with translation.override(getattr(user, "language", "") or tenant.default_language):
            text_title, text_body = str(title) % params, str(body) % params
        if in_app:
            Notification.objects.create(tenant_id=tenant_id, user=user, kind=kind, title=text_title[:200],
                                        body=text_body, url=url)
        if email and user.email:
            message = f"{text_body}\n\n{settings.SITE_URL}{url}\n"
            transaction.on_commit(lambda r=user.email, s=text_title, m=message: send_mail(
                s, m, None, [r], fail_silently=True))
            sent.append(user.email)
    return sent


def _heads(tenant_id: int, department_id: int) -> list[Membership]:
    """The department's heads, in the order they were made heads."""
    rows = (DepartmentHead.objects.filter(tenant_id=tenant_id, department_id=department_id)
            .select_related("membership__user").order_by("id"))
    return [row.membership for row in rows]


def _admins(tenant_id: int) -> list:
    return [m.user for m in Membership.objects.filter(tenant_id=tenant_id, role=Role.ADMIN).select_related("user")]


def escalation_delay(tenant_id: int) -> timedelta:
    with tenant_context(tenant_id):
        minutes = (InboxSettings.objects.filter(tenant_id=tenant_id)
                   .values_list("alert_escalation_minutes", flat=True).first())
    return timedelta(minutes=DEFAULT_DELAY_MINUTES if minutes is None else minutes)


def escalation_delay_set(tenant_id: int, *, actor, minutes: int) -> int:
    """Change the tenant's escalation delay (open alerts keep their current ``escalate_at``).
    Idempotent. ValidationError on "minutes" outside 1..10080 (a week)."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 10080:
        raise ValidationError({"minutes": [_("Give a number of minutes between 1 and 10080.")]})
    with tenant_context(tenant_id):
        InboxSettings.objects.get_or_create(tenant_id=tenant_id)
        # An UPDATE of this one column: the conversation counter on the same row is not rewritten.
        InboxSettings.objects.filter(tenant_id=tenant_id).update(alert_escalation_minutes=minutes)
        audit_record(tenant_id, actor=actor, action="alert.escalation_delay", data={"minutes": minutes})
    return minutes


_OPENED_TITLE = gettext_lazy("Alert for %(department)s: conversation %(conversation)s")
_OPENED_BODY = gettext_lazy("%(preview)s")
_ESCALATED_TITLE = gettext_lazy("Escalated alert for %(department)s: conversation %(conversation)s")
_ESCALATED_BODY = gettext_lazy("Nobody acknowledged this alert in time. %(preview)s")


def _params(alert: Alert) -> dict:
    return {"department": alert.department.name, "conversation": str(alert.conversation),
            "preview": alert.conversation.preview}


def _event(alert: Alert, *, op: str, actor=None, now: datetime | None = None, **data) -> ConversationEvent:
    return ConversationEvent.objects.create(
        tenant_id=alert.tenant_id, conversation_id=alert.conversation_id, kind="alert", actor=actor, rule=alert.rule,
        data={"alert": alert.pk, "department": alert.department_id, "op": op, **data},
        created_at=now or timezone.now())


# --- Opening (routing rules) ---------------------------------------------------------------------


def alert_open(tenant_id: int, *, conversation: Conversation, department, rule=None, actor=None,
               now: datetime | None = None) -> tuple[Alert, bool]:
    """Open an alert of ``department`` on the conversation and notify its heads. Idempotent:
    while an alert of that department on that conversation is open (open, acknowledged or
    escalated) it is returned with ``created=False``. The caller holds the conversation row
    lock (inbox/routing.py), so two routings of the same conversation cannot both create one."""
    now = now or timezone.now()
    existing = Alert.objects.filter(tenant_id=tenant_id, conversation=conversation, department=department,
                                    status__in=OPEN_STATES).first()
    if existing:
        return existing, False
    alert = Alert.objects.create(tenant_id=tenant_id, conversation=conversation, department=department, rule=rule,
                                 escalate_at=now + escalation_delay(tenant_id), created_at=now, updated_at=now)
    notified = notify_users(tenant_id, [m.user for m in _heads(tenant_id, department.pk)], kind="alert.opened",
                            title=_OPENED_TITLE, body=_OPENED_BODY, params=_params(alert),
                            url=alerts_url(Tenant.objects.get(pk=tenant_id)))
    _event(alert, op="opened", actor=actor, now=now, notified=notified)
    emit(tenant_id, "alert.raised", webhook_payloads.alert_raised(alert))
    audit_record(tenant_id, actor=actor or "routing", action="alert.opened", target=alert,
                 data={"conversation": conversation.number, "department": department.pk,
                       "rule": rule.pk if rule else None})
    return alert, True


# --- People's actions ----------------------------------------------------------------------------


def visible_alerts(tenant_id: int, membership: Membership):
    """Admins see every alert; department heads (and anyone else) those of departments they head."""
    alerts = Alert.objects.filter(tenant_id=tenant_id)
    if membership.role == Role.ADMIN:
        return alerts
    headed = DepartmentHead.objects.filter(tenant_id=tenant_id, membership=membership).values("department_id")
    return alerts.filter(department_id__in=headed)


def access_alert(tenant_id: int, membership: Membership, alert_id) -> Alert:
    """One alert the member may see; another tenant's, another department's or a missing one
    is the same Http404."""
    return scoped_get(visible_alerts(tenant_id, membership), tenant_id, alert_id)


def _locked(tenant_id: int, alert_id, membership: Membership | None) -> Alert:
    queryset = visible_alerts(tenant_id, membership) if membership else Alert.objects.all()
    return scoped_get(queryset.select_for_update(of=("self",)).select_related("department", "conversation"),
                      tenant_id, alert_id)


def _closed_error(alert: Alert):
    return ValidationError({"status": [_("This alert is %(status)s: nothing to do.") % {
        "status": alert.get_status_display().lower()}]})


def _transition(tenant_id: int, *, actor, membership: Membership | None, alert_id: int, to: str, allowed,
                op: str, **changes) -> Alert:
    """Move an alert to ``to`` from one of ``allowed``: already there is a no-op (idempotent),
    from elsewhere a ValidationError. Writes the event and the audit row."""
    with tenant_context(tenant_id):
        alert = _locked(tenant_id, alert_id, membership)
        if alert.status == to:
            return alert
        if alert.status not in allowed:
            raise _closed_error(alert)
        now = timezone.now()
        alert.status, alert.escalate_at, alert.updated_at = to, None, now
        for name, value in changes.items():
            setattr(alert, name, now if value is timezone.now else value)
        alert.save()
        if to == AlertStatus.HANDED_BACK:  # the conversation leaves the department (back in the general inbox)
            Conversation.objects.filter(tenant_id=tenant_id, pk=alert.conversation_id,
                                        department_id=alert.department_id).update(department=None, updated_at=now)
        _event(alert, op=op, actor=actor)
        audit_record(tenant_id, actor=actor, action=f"alert.{op}", target=alert)
        return alert


def alert_acknowledge(tenant_id: int, *, actor, membership: Membership | None = None, alert_id: int) -> Alert:
    """The alert is being handled: it stops escalating. Idempotent (acknowledging twice is a
    no-op); a handed-back or resolved alert is a ValidationError."""
    return _transition(tenant_id, actor=actor, membership=membership, alert_id=alert_id, to=AlertStatus.ACKNOWLEDGED,
                       allowed=UNACKNOWLEDGED, op="acknowledged", acknowledged_by=actor, acknowledged_at=timezone.now)


def alert_comment(tenant_id: int, *, actor, membership: Membership | None = None, alert_id: int,
                  body: str) -> AlertComment:
    """Add a comment (any status). Not idempotent: each call is a comment."""
    with tenant_context(tenant_id):
        alert = _locked(tenant_id, alert_id, membership)
        body = (body or "").strip()
        if not body:
            raise ValidationError({"body": [_("Write a comment.")]})
        comment = AlertComment.objects.create(tenant_id=tenant_id, alert=alert, author_user=actor, body=body)
        _event(alert, op="commented", actor=actor, comment=comment.pk)
        audit_record(tenant_id, actor=actor, action="alert.commented", target=alert, data={"comment": comment.pk})
        return comment


def alert_hand_back(tenant_id: int, *, actor, membership: Membership | None = None, alert_id: int) -> Alert:
    """Not for this department: the alert closes as handed back and the conversation leaves the
    department (back in the general inbox). Idempotent; a resolved alert is a ValidationError."""
    return _transition(tenant_id, actor=actor, membership=membership, alert_id=alert_id, to=AlertStatus.HANDED_BACK,
                       allowed=OPEN_STATES, op="handed_back")


def alert_resolve(tenant_id: int, *, actor, membership: Membership | None = None, alert_id: int) -> Alert:
    """Done. Idempotent; a handed-back alert is a ValidationError."""
    return _transition(tenant_id, actor=actor, membership=membership, alert_id=alert_id, to=AlertStatus.RESOLVED,
                       allowed=OPEN_STATES, op="resolved")


def alert_escalate(tenant_id: int, *, actor, membership: Membership | None = None, alert_id: int) -> Alert:
    """Escalate now, one level up (a person asks for help). An alert already with the admins,
    handed back or resolved is a ValidationError."""
    with tenant_context(tenant_id):
        alert = _locked(tenant_id, alert_id, membership)
        if alert.status not in OPEN_STATES:
            raise _closed_error(alert)
        if alert.escalation_level >= ADMINS_LEVEL:
            raise ValidationError({"status": [_("This alert is already with the tenant admins.")]})
        _escalate(alert, actor=actor, now=timezone.now())
        return alert


# --- Automatic escalation ------------------------------------------------------------------------


def _escalate(alert: Alert, *, actor, now: datetime) -> None:
    """One level up: notify the next people, move ``escalate_at`` (none at the admins' level)."""
    tenant_id = alert.tenant_id
    heads = _heads(tenant_id, alert.department_id)
    if alert.escalation_level == 0 and len(heads) > 1:
        level, users = 1, [heads[1].user]
    else:
        level, users = ADMINS_LEVEL, _admins(tenant_id)
    alert.escalation_level = level
    # The new level has to acknowledge it (a manual escalation of an acknowledged alert too).
    alert.status = AlertStatus.ESCALATED
    alert.escalate_at = now + escalation_delay(tenant_id) if level < ADMINS_LEVEL else None
    alert.updated_at = now
    alert.save()
    notified = notify_users(tenant_id, users, kind="alert.escalated", title=_ESCALATED_TITLE, body=_ESCALATED_BODY,
                            params=_params(alert), url=alerts_url(Tenant.objects.get(pk=tenant_id)))
    _event(alert, op="escalated", actor=actor, now=now, level=level, notified=notified)
    audit_record(tenant_id, actor=actor or "escalation", action="alert.escalated", target=alert,
                 data={"level": level, "notified": notified})


ESCALATION_BATCH = 200  # alerts per run: a few seconds of work; the next beat takes the rest


def escalate_due(tenant_id: int, *, now: datetime | None = None) -> list[int]:
    """Escalate the tenant's unacknowledged alerts whose ``escalate_at`` has passed, one level
    each. Idempotent: each escalation moves ``escalate_at`` forward (or clears it), and rows are
    claimed with SELECT ... FOR UPDATE SKIP LOCKED, so two runs never escalate an alert twice."""
    now = now or timezone.now()
    with tenant_context(tenant_id):
        due = list(Alert.objects.filter(tenant_id=tenant_id, status__in=UNACKNOWLEDGED, escalate_at__lte=now)
                   .select_for_update(skip_locked=True, of=("self",))
                   .select_related("department", "conversation").order_by("escalate_at", "id")[:ESCALATION_BATCH])
        for alert in due:
            _escalate(alert, actor=None, now=now)
        return [a.pk for a in due]


# --- Daily digest --------------------------------------------------------------------------------


def _tenant_zone(tenant_id: int) -> str:
    return Tenant.objects.filter(pk=tenant_id).values_list("timezone", flat=True).first() or "UTC"


def send_alert_digest(tenant_id: int, *, now: datetime | None = None) -> list[str]:
    """One e-mail per department head who has open alerts, in their language, listing them.
    Once a day per tenant: the audit row "alert.digest" of the day is the claim (a rerun of the
    same day sends nothing). Returns the addresses written to."""
    now = now or timezone.now()
    local_day = timezone.localtime(now, zoneinfo.ZoneInfo(_tenant_zone(tenant_id))).date()
    day = local_day.isoformat()  # the tenant's calendar day
    with tenant_context(tenant_id):
        tenant = Tenant.objects.select_for_update().get(pk=tenant_id)  # serialises two runs of the day
        if AuditEvent.objects.filter(tenant_id=tenant_id, action="alert.digest", data__date=day).exists():
            return []
        open_alerts = list(Alert.objects.filter(tenant_id=tenant_id, status__in=OPEN_STATES)
                           .select_related("department", "conversation").order_by("department__name", "created_at"))
        by_department: dict[int, list[Alert]] = {}
        for alert in open_alerts:
            by_department.setdefault(alert.department_id, []).append(alert)
        per_user: dict[int, tuple] = {}
        for row in (DepartmentHead.objects.filter(tenant_id=tenant_id, department_id__in=list(by_department))
                    .select_related("membership__user").order_by("id")):
            user = row.membership.user
            entry = per_user.setdefault(user.pk, (user, []))
            entry[1].extend(by_department[row.department_id])
        sent = []
        url = f"{settings.SITE_URL}{alerts_url(tenant)}"
        for user, alerts in per_user.values():
            if not user.is_active or not user.email:
                continue
            with translation.override(getattr(user, "language", "") or tenant.default_language):
                subject = _("%(tenant)s: %(n)s open alerts") % {"tenant": tenant.name, "n": len(alerts)}
                text = render_to_string("inbox/alerts/digest_email.txt", {"alerts": alerts, "url": url, "day": local_day,
                                                                          "tenant": tenant, "user": user})
            transaction.on_commit(lambda r=user.email, s=subject, t=text: send_mail(s, t, None, [r],
                                                                                    fail_silently=True))
            sent.append(user.email)
        audit_record(tenant_id, actor="digest", action="alert.digest", data={"date": day, "recipients": sent})
        return sent
