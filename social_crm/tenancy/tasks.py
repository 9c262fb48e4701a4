"""Tenant tasks. ``@tenant_task`` is the Celery end of the enforced place: the first argument
is the tenant id, the body runs inside ``tenant_context`` (row-level security), and a
deactivated or deleted tenant's task is dropped with a log line."""

from __future__ import annotations

import functools
import logging

from celery import shared_task

from .models import Tenant
from .scope import dangerously_cross_tenant, tenant_context

logger = logging.getLogger(__name__)


def tenant_is_active(task_name: str, tenant_id) -> bool:
    """The check every tenant task starts with: the first argument is a tenant id (else a
    TypeError), and that tenant exists and is active (else False, logged: the task is dropped)."""
    if not isinstance(tenant_id, int):
        raise TypeError(f"{task_name}: the first argument must be a tenant id, got {tenant_id!r}")
    if not Tenant.objects.filter(pk=tenant_id, is_active=True).exists():
        logger.info("%s skipped: tenant %s is missing or deactivated", task_name, tenant_id)
        return False
    return True


def tenant_task(*task_args, **task_kwargs):
    def decorate(fn):
        @functools.wraps(fn)
        def run(tenant_id: int, *args, **kwargs):
            if not tenant_is_active(fn.__name__, tenant_id):
                return None
            with tenant_context(tenant_id):
                return fn(tenant_id, *args, **kwargs)

        return shared_task(*task_args, **task_kwargs)(run)

    return decorate


def requeue_overdue(model, claimable, task, *, reason: str, batch: int = 1000, grace_seconds: int = 60) -> int:
    """Beat sweepers' shared body: queue ``task(tenant_id, pk)`` again for the rows of ``model``
    in a ``claimable`` status whose ``next_attempt_at`` passed ``grace_seconds`` ago (their task
    was lost: a Redis restart, a worker killed whose lease ran out), oldest first, at most
    ``batch`` (the next run takes the rest). The claim of each task lets one copy through, so
    a duplicate is harmless. Reads ids across tenants (the named path); each task runs scoped."""
    from datetime import timedelta

    from django.utils import timezone

    overdue = timezone.now() - timedelta(seconds=grace_seconds)
    with dangerously_cross_tenant(reason):
        rows = list(model.objects.filter(status__in=claimable, next_attempt_at__lte=overdue, tenant__is_active=True)
                    .order_by("next_attempt_at").values_list("tenant_id", "pk")[:batch])
    for tenant_id, pk in rows:
        task.delay(tenant_id, pk)
    return len(rows)


@tenant_task(name="social_crm.tenancy.tasks.expire_invitations")
def expire_invitations(tenant_id: int) -> list[int]:
    """Revoke the tenant's invitations past their date. Idempotent (a rerun finds none)."""
    from .actions import invitations_expire

    return invitations_expire(tenant_id)


@tenant_task(name="social_crm.tenancy.tasks.visible_departments")
def visible_departments(tenant_id: int) -> list[str]:
    """Slugs of the departments this task can see, with no filter of its own: row-level security
    alone decides. Used by operators to check a worker's database wall (and by the tests)."""
    from .models import Department

    return sorted(Department.objects.values_list("slug", flat=True))


@shared_task(name="social_crm.tenancy.tasks.fanout_expire_invitations")
def fanout_expire_invitations() -> int:
    """Beat: one expire_invitations task per active tenant. Reading the tenant list is not
    tenant data; the per-tenant work runs scoped."""
    with dangerously_cross_tenant("beat fan-out: list active tenants"):
        ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in ids:
        expire_invitations.delay(tenant_id)
    return len(ids)
