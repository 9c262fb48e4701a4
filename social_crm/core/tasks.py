from celery import shared_task

from . import heartbeat


@shared_task(name="social_crm.core.tasks.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    """Scheduled by beat every minute; idempotent (overwrites one key)."""
    heartbeat.beat_beat()
