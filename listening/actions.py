"""Writes in the listening domain (tenant id first, one transaction, audit row)."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.models import Membership, Notification, Tenant
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from . import crypto
from .access import access_account, access_query, access_quarantined
from .connectors.base import Page
from .models import AccountStatus, ConnectedAccount, ListeningQuery
from .query import QuerySyntaxError, parse

BROKEN = {AccountStatus.NEEDS_RECONNECT, AccountStatus.ERROR}


def compile_expression(expression: str) -> dict:
    """Parse a listening query, or raise a ValidationError whose message points at the error."""
    try:
        return parse(expression).to_dict()
    except QuerySyntaxError as exc:
        raise ValidationError({"expression": [f"{exc}\n{exc.caret()}"]}) from exc


def query_save(tenant_id: int, *, actor, query_id: int | None = None, name: str, kind: str, expression: str,
               languages=(), platforms=(), is_active: bool = True) -> ListeningQuery:
    with tenant_context(tenant_id):
        query = access_query(tenant_id, query_id) if query_id else ListeningQuery(tenant_id=tenant_id)
        query.compiled = compile_expression(expression)
        query.name, query.kind, query.expression = name, kind, expression
        query.languages, query.platforms, query.is_active = sorted(set(languages)), sorted(set(platforms)), is_active
        query.updated_at = timezone.now()
        if ListeningQuery.objects.filter(tenant_id=tenant_id, name=name).exclude(pk=query.pk).exists():
            raise ValidationError({"name": _("Another query already has this name.")})
        try:
            with transaction.atomic():
                query.save()
        except IntegrityError as exc:
            raise ValidationError({"name": _("Another query already has this name.")}) from exc
        audit_record(tenant_id, actor=actor, action="query.created" if query_id is None else "query.updated",
                     target=query, data={"expression": expression})
        return query


def query_delete(tenant_id: int, *, actor, query_id: int) -> None:
    with tenant_context(tenant_id):
        query = access_query(tenant_id, query_id)
        name = query.name
        query.delete()
        audit_record(tenant_id, actor=actor, action="query.deleted", data={"name": name})


def account_save(tenant_id: int, *, actor, account_id: int | None = None, platform: str, name: str,
                 external_id: str = "", handle: str = "", base_url: str = "", credentials: dict | None = None,
                 is_own: bool = True, is_active: bool = True) -> ConnectedAccount:
    """Create or update a connected account. New credentials (a reconnect) reset a broken status;
    empty credentials keep the stored ones. Credentials never appear in the audit log."""
    with tenant_context(tenant_id):
        account = access_account(tenant_id, account_id) if account_id else ConnectedAccount(tenant_id=tenant_id)
        account.platform, account.name, account.external_id = platform, name, external_id
        account.handle, account.base_url, account.is_own, account.is_active = handle, base_url, is_own, is_active
        reconnected = False
        if credentials:
            account.credentials = crypto.encrypt(credentials)
            reconnected = account.pk is not None and account.status != AccountStatus.OK
        if ConnectedAccount.objects.filter(tenant_id=tenant_id, platform=platform, name=name).exclude(pk=account.pk).exists():
            raise ValidationError({"name": _("Another account of this platform already has this name.")})
        account.save()
        if reconnected:
            _recover(account)
        audit_record(tenant_id, actor=actor, action="account.created" if account_id is None else "account.updated",
                     target=account, data={"platform": platform, "credentials_changed": bool(credentials)})
        return account


def account_delete(tenant_id: int, *, actor, account_id: int) -> None:
    with tenant_context(tenant_id):
        account = access_account(tenant_id, account_id)
        label = str(account)
        account.delete()
        audit_record(tenant_id, actor=actor, action="account.deleted", data={"account": label})


def account_credentials(account: ConnectedAccount) -> dict:
    return crypto.decrypt(account.credentials)


# --- Channel health -------------------------------------------------------------------------------


def _recover(account: ConnectedAccount) -> None:
    """Back to OK: remember where the outage began so the next polls backfill the gap."""
    if account.status in BROKEN or account.status == AccountStatus.RATE_LIMITED:
        account.backfill_since = account.last_success_at or account.status_changed_at
    account.status, account.status_changed_at = AccountStatus.OK, timezone.now()
    account.notified_status, account.rate_limited_until = "", None
    account.save(update_fields=["status", "status_changed_at", "notified_status", "rate_limited_until", "backfill_since"])


def account_mark_ok(tenant_id: int, account_id: int, *, backfill_done: bool = False) -> None:
    """After a successful poll. Idempotent."""
    with tenant_context(tenant_id):
        account = ConnectedAccount.objects.select_for_update().get(tenant_id=tenant_id, pk=account_id)
        account.last_success_at = timezone.now()
        account.save(update_fields=["last_success_at"])
        if account.status != AccountStatus.OK:
            _recover(account)
        if backfill_done and account.backfill_since:
            account.backfill_since = None
            account.save(update_fields=["backfill_since"])


def account_mark_rate_limited(tenant_id: int, account_id: int, *, until, error: str) -> None:
    with tenant_context(tenant_id):
        ConnectedAccount.objects.filter(tenant_id=tenant_id, pk=account_id).update(
            status=AccountStatus.RATE_LIMITED, rate_limited_until=until, status_changed_at=timezone.now(),
            last_error=error[:2000], last_error_at=timezone.now())


def account_mark_broken(tenant_id: int, account_id: int, *, status: str, error: str) -> bool:
    """Record a permanent failure. Tenant admins are told once per outage (in-app and e-mail),
    not on every poll: returns True when this call notified them."""
    with tenant_context(tenant_id):
        account = ConnectedAccount.objects.select_for_update().get(tenant_id=tenant_id, pk=account_id)
        now = timezone.now()
        if account.status != status:
            account.status, account.status_changed_at = status, now
        account.last_error, account.last_error_at = error[:2000], now
        notify = account.notified_status not in BROKEN
        if notify:
            account.notified_status = status
        account.save()
        if notify:
            _notify_admins(tenant_id, account)
        return notify


def _notify_admins(tenant_id: int, account: ConnectedAccount) -> None:
    from django.urls import reverse

    tenant = Tenant.objects.get(pk=tenant_id)
    url = reverse("channel-health", kwargs={"tenant_slug": tenant.slug})
    admins = list(Membership.objects.filter(tenant_id=tenant_id, role=Role.ADMIN, user__is_active=True).select_related("user"))
    for m in admins:
        with translation.override(m.user.language or tenant.default_language):
            title = _("Channel %(name)s needs attention") % {"name": str(account)}
            body = _("Status: %(status)s. Last error: %(error)s") % {
                "status": account.get_status_display(), "error": account.last_error[:500]}
        Notification.objects.create(tenant_id=tenant_id, user=m.user, kind="channel.broken", title=title, body=body, url=url)
        recipient, subject, text = m.user.email, title, f"{body}\n\n{settings.SITE_URL}{url}\n"
        transaction.on_commit(lambda r=recipient, s=subject, t=text: send_mail(s, t, None, [r], fail_silently=True))
    audit_record(tenant_id, actor=None, action="account.broken", target=account,
                 data={"status": account.status, "notified": [m.user.email for m in admins]})


# --- Quarantine -----------------------------------------------------------------------------------


def quarantine_replay(tenant_id: int, *, actor, item_id: int):
    """Parse a quarantined record again (after a parser fix) and store it if it now parses.
    Idempotent: a replayed record is not replayed twice."""
    from .connectors import get_connector
    from .ingest import ingest_page

    with tenant_context(tenant_id):
        item = access_quarantined(tenant_id, item_id)
        if item.replayed_at:
            return item
        try:
            get_connector(item.platform)  # a platform we have a connector (and a parser) for
            parsed = import_module(f"listening.connectors.{item.platform}").parse_payload(item.payload)
        except Exception as exc:  # any parser failure is the answer to show
            item.replay_error = f"{type(exc).__name__}: {exc}"[:2000]
            item.save(update_fields=["replay_error"])
            return item
        if parsed.quarantined or not parsed.mentions:
            item.replay_error = "; ".join(q.reason for q in parsed.quarantined) or _("No mention in this record.")
            item.save(update_fields=["replay_error"])
            return item
        ingest_page(tenant_id, platform=item.platform, page=Page(mentions=parsed.mentions), source="quarantine",
                    account_id=item.account_id)
        item.replayed_at, item.replay_error = timezone.now(), ""
        item.save(update_fields=["replayed_at", "replay_error"])
        audit_record(tenant_id, actor=actor, action="quarantine.replayed", target=item)
        return item

