"""Crisis rows of the two-tenant world (called by tests/conftest.py build_world): one row of every
crisis table, the same query name and hour in both tenants."""

from __future__ import annotations

from datetime import datetime, timezone


def add_crisis(tw) -> None:
    from analytics.crisis.models import CrisisAlert, CrisisHourlyCount, CrisisRecipient, CrisisSettings
    from listening.models import Mention
    from social_crm.tenancy.permissions import Role
    from social_crm.tenancy.scope import tenant_context

    tid = tw.tenant.pk
    hour = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
    with tenant_context(tid):
        settings = CrisisSettings.objects.create(tenant_id=tid)
        CrisisRecipient.objects.create(tenant_id=tid, crisis_settings=settings, user=tw.members[Role.ADMIN].user)
        CrisisHourlyCount.objects.create(tenant_id=tid, query=tw.query, hour=hour, volume=2, negative=1)
        mention_ids = list(Mention.objects.filter(tenant_id=tid).order_by("id").values_list("id", flat=True)[:2])
        tw.crisis_alert = CrisisAlert.objects.create(
            tenant_id=tid, query=tw.query, hour=hour, kinds=["volume"], observed=40, expected=4.0, negative=30,
            negative_share=0.75, expected_negative_share=0.2, score=9.1, method="hour_of_week", sensitivity="medium",
            top_mention_ids=mention_ids, top_terms=[["retard", 30]])
        # The e-mail reports' tables (analytics/reports.py): a subscription and a sent period.
        from datetime import date

        from analytics.models import ReportRun, ReportSubscription

        ReportSubscription.objects.create(tenant_id=tid, user=tw.members[Role.ADMIN].user, kind="weekly_reputation")
        run = ReportRun.objects.create(tenant_id=tid, kind="weekly_reputation", period_start=date(2026, 11, 23),
                                       period_end=date(2026, 11, 29), recipients=1)
        from analytics.models import ReportDelivery

        admin = tw.members[Role.ADMIN].user
        ReportDelivery.objects.create(tenant_id=tid, run=run, kind="weekly_reputation", user=admin, email=admin.email,
                                      subject="Weekly e-reputation report", text_body="…", html_body="<p>…</p>",
                                      status="sent", attempts=1, sent_at=run_sent_at())


def run_sent_at():
    from datetime import UTC, datetime

    return datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
