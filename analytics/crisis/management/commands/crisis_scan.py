"""Run the crisis pass now (what beat does every 10 minutes), for one tenant or every active one."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from social_crm.tenancy.models import Tenant
from social_crm.tenancy.scope import dangerously_cross_tenant


class Command(BaseCommand):
    help = "Recount the changed hours and raise crisis alerts now (idempotent, like the hourly task)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="tenant slug (default: every active tenant)")

    def handle(self, *args, **opts):
        from analytics.crisis.tasks import crisis_scan

        with dangerously_cross_tenant("crisis_scan command: list the tenants"):
            tenants = Tenant.objects.filter(is_active=True)
            if opts["tenant"]:
                tenants = tenants.filter(slug=opts["tenant"])
            found = list(tenants.values_list("pk", "slug"))
        if opts["tenant"] and not found:
            raise CommandError(f"No active tenant {opts['tenant']!r}.")
        for tenant_id, slug in found:
            raised = crisis_scan(tenant_id)
            self.stdout.write(f"{slug}: {len(raised)} new crisis alert(s)")
