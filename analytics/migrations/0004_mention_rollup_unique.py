"""A unique key on the mention rollup, so that ingestion can add new mentions to their hours'
rows (INSERT ... ON CONFLICT DO UPDATE) instead of recomputing those hours from the raw rows.

Recomputes have always written one row per key, so existing rows are unique; if this fails with
"could not create unique index", an hour was counted twice: ``manage.py rebuild_rollups`` the
tenant, then migrate. The unique index's (tenant, bucket) prefix serves the recompute's DELETE,
so the (tenant, bucket) index goes (after the new one exists).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0003_report_deliveries'),
        ('listening', '0008_mention_facts_on_tags'),
        ('tenancy', '0004_lean_tenant_indexes'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='mentionrollup',
            constraint=models.UniqueConstraint(fields=('tenant', 'bucket', 'query', 'platform', 'language', 'sentiment'), name='mention_rollup_unique', nulls_distinct=False),
        ),
        migrations.RemoveIndex(
            model_name='mentionrollup',
            name='mention_rollup_hour_idx',
        ),
    ]
