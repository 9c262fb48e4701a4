"""What the stream's rows need beyond the mentions themselves, in one query per table.

Three views render ``listening/_mention_rows.html`` (the stream, its htmx poll, a corrected row);
``{% mention_rows_prefetch mentions as topic_choices %}`` at the top of the template loads the
topics of all the rows at once (skipped for rows whose view already prefetched them) and, for a
person who may correct, the tenant's topics for the "add a topic" menu. Rendered inside the
tenant's transaction (TenantView renders eagerly), with the tenant in every query as well.
"""

from __future__ import annotations

from django import template
from django.db.models import Prefetch, prefetch_related_objects

from listening.models import MentionTopic, Topic

register = template.Library()


@register.simple_tag(takes_context=True)
def mention_rows_prefetch(context, mentions) -> list[Topic]:
    tenant = context.get("tenant")
    if tenant is None or not mentions:
        return []
    prefetch_related_objects(list(mentions), Prefetch(
        "mentiontopic_set",
        queryset=MentionTopic.objects.filter(tenant_id=tenant.pk).select_related("topic").order_by("topic__name")))
    if not (context.get("perms_nav") or {}).get("mentions_correct"):
        return []
    return list(Topic.objects.filter(tenant_id=tenant.pk, is_active=True).order_by("name"))
