"""Recompute a tenant's dashboard rollups from its raw mentions (after a bulk load with COPY,
a restore, or a change of how rollups are computed). Safe while the app runs: each chunk is
one transaction holding the hour locks that the write paths' refreshes take too."""

from __future__ import annotations

import time
from datetime import datetime, time as dtime, timedelta, timezone as dt_timezone

from django.core.management.base import BaseCommand, CommandError

from analytics.rollups import mention_span, rebuild
from social_crm.tenancy.models import Tenant


def _day(value: str) -> datetime:
    try:
        return datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), dtime(0), tzinfo=dt_timezone.utc)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = "Rebuild the analytics rollups of one tenant, for all its mentions or a range of UTC days."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="the tenant's slug")
        parser.add_argument("--from", dest="start", help="first UTC day (YYYY-MM-DD), default: the first mention")
        parser.add_argument("--to", dest="end", help="last UTC day, inclusive (YYYY-MM-DD), default: the last mention")

    def handle(self, *args, **opts):
        tenant = Tenant.objects.filter(slug=opts["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {opts['tenant']!r}")
        span = mention_span(tenant.pk)
        if span is None and not (opts["start"] and opts["end"]):
            self.stdout.write("no mentions: nothing to rebuild")
            return
        start = _day(opts["start"]) if opts["start"] else span[0]
        end = _day(opts["end"]) + timedelta(days=1) if opts["end"] else span[1]
        if end <= start:
            raise CommandError("--to is before --from")
        total = end - start
        started = time.monotonic()

        def progress(lo, hi):
            share = (hi - start) / total
            self.stdout.write(f"{time.monotonic() - started:7.1f}s  {lo:%Y-%m-%d} .. {hi:%Y-%m-%d}  {share:6.1%}")

        chunks = rebuild(tenant.pk, start, end, progress=progress)
        # Statistics: autovacuum's ANALYZE (the app role does not own the tables); after a whole
        # rebuild run `VACUUM ANALYZE` on the three rollup tables as the owner, as the bench does.
        self.stdout.write(f"rebuilt {chunks} chunks of {tenant.slug} in {time.monotonic() - started:.1f}s")
