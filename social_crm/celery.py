"""The Celery app. Queues are named so that one slow kind of work cannot starve another;
the beat schedule lives here, in code, reviewed like code."""

import os

from celery import Celery, signals
from celery.schedules import crontab
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "social_crm.settings")

app = Celery("social_crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue("default"), Queue("periodic"), Queue("ingest"), Queue("nlp"), Queue("training"),
                        Queue("webhooks")]
app.conf.task_routes = {
    "social_crm.core.tasks.*": {"queue": "periodic"},
    "*.fanout_*": {"queue": "periodic"},
    # Minutes of CPU per tenant model: its own queue (and worker), so tagging never waits behind it.
    "listening.tasks.nlp_retrain_tenant": {"queue": "training"},
    "listening.tasks.nlp_*": {"queue": "nlp"},
    "listening.tasks.*": {"queue": "ingest"},
    "inbox.tasks.*": {"queue": "default"},
    "analytics.crisis.tasks.*": {"queue": "default"},
    "analytics.tasks.*": {"queue": "default"},
    # Outgoing webhooks: a slow receiver waits on its own queue, never in front of ingestion.
    "social_crm.webhooks.tasks.deliver_webhook": {"queue": "webhooks"},
}
app.conf.beat_schedule = {
    # Proves beat -> broker -> worker end to end; /healthz reports its age.
    "beat-heartbeat": {"task": "social_crm.core.tasks.beat_heartbeat", "schedule": 60.0},
    # Cross-tenant fan-out (one named path), then one idempotent task per tenant.
    "poll-channels": {"task": "listening.tasks.fanout_polls", "schedule": float(os.environ.get("POLL_INTERVAL_SECONDS", "60"))},
    # Mentions stored while no model existed, edited texts, failed tag tasks.
    "nlp-backfill": {"task": "listening.tasks.fanout_nlp_backfill", "schedule": 300.0},
    # Tenants with enough new sentiment corrections get a retraining; lost or stuck ones are fixed.
    "tenant-retraining": {"task": "listening.tasks.fanout_tenant_retraining", "schedule": 900.0},
    "expire-invitations": {"task": "social_crm.tenancy.tasks.fanout_expire_invitations", "schedule": crontab(minute=7)},
    # Unacknowledged department alerts go one level up; new SLA breaches are recorded once.
    "alert-escalations": {"task": "inbox.tasks.fanout_alert_escalations", "schedule": 60.0},
    "sla-breaches": {"task": "inbox.tasks.fanout_sla_breaches", "schedule": 60.0},
    # The morning e-mail of open alerts to department heads who do not live in the tool.
    # GDPR: mentions past the tenant's retention period are anonymised (social_crm/customers/gdpr.py).
    "gdpr-retention": {"task": "social_crm.customers.tasks.fanout_retention", "schedule": crontab(minute=17)},
    # Webhook deliveries that are due but whose task was lost (Redis restart, worker killed).
    "webhook-deliveries": {"task": "social_crm.webhooks.tasks.fanout_webhook_deliveries", "schedule": 60.0},
    "alert-digests": {"task": "inbox.tasks.fanout_alert_digests", "schedule": crontab(hour=7, minute=30)},
    # Spike and crisis detection over the hours that ended (and hours changed by late data): every
    # 10 minutes, so an hour is judged 2 minutes after it ends and a late burst (a replay, a
    # backfill, the demo stream) within 10 minutes of landing. Incremental: a pass recounts only
    # the hours whose mentions were stored or tagged since the last one.
    "crisis-scans": {"task": "analytics.crisis.tasks.fanout_crisis_scans", "schedule": crontab(minute="2-59/10")},
    # Scheduled e-mail reports: hourly, each tenant is sent at 7:00 its local time (weekly: Mondays).
    "weekly-reputation-reports": {"task": "analytics.tasks.fanout_reports", "schedule": crontab(minute=5),
                                  "args": ("weekly_reputation",)},
    # Report e-mails that are due but whose task was lost (Redis restart, worker killed).
    "report-deliveries": {"task": "analytics.tasks.fanout_report_deliveries", "schedule": 60.0},
    "daily-care-reports": {"task": "analytics.tasks.fanout_reports", "schedule": crontab(minute=5),
                           "args": ("daily_care",)},
}
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def close_old_connections(task=None, **_kwargs) -> None:
    """Workers keep their database connection from task to task, as Django keeps one from request
    to request: closed here, before and after each task, once broken (a PostgreSQL restart, an
    error that left it unusable) or older than CONN_MAX_AGE, so no cached plan lives longer
    than that. Celery's Django fix-up would close it after every task; CELERY_DB_REUSE_MAX
    (settings) turns that into a close every so many tasks. Not for eager tasks: they run inside
    the caller's transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections as close

    close()
