"""Which of the tenant's listening queries a mention matches, applied locally to everything
ingested (platform search is a pre-filter at best; this is the precise filter).

The compiled queries of a tenant are cached per worker process and refreshed when any query
changes (the fingerprint is one cheap aggregate per page, not a load per mention).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max

from .connectors.base import MentionData
from .models import ListeningQuery
from .query import Query, prepare


@dataclass(frozen=True)
class CompiledListeningQuery:
    id: int
    query: Query
    languages: frozenset[str]
    platforms: frozenset[str]

    def accepts(self, mention: MentionData, platform: str, prepared) -> bool:
        if self.platforms and platform not in self.platforms:
            return False
        # A mention whose language the platform did not give is not excluded: NLP decides later.
        if self.languages and mention.language and mention.language[:2] not in self.languages:
            return False
        return self.query.matches(prepared)


class TenantMatcher:
    def __init__(self, queries: list[CompiledListeningQuery]):
        self.queries = queries

    def match(self, mention: MentionData, platform: str) -> list[int]:
        if not self.queries:
            return []
        prepared = prepare(mention.text or "")
        return [q.id for q in self.queries if q.accepts(mention, platform, prepared)]


_cache: dict[int, tuple[tuple, TenantMatcher]] = {}


def tenant_matcher(tenant_id: int) -> TenantMatcher:
    """Call inside the tenant's context (row-level security applies to the read)."""
    active = ListeningQuery.objects.filter(tenant_id=tenant_id, is_active=True)
    fingerprint = tuple(active.aggregate(n=Count("id"), last=Max("updated_at")).values())
    cached = _cache.get(tenant_id)
    if cached and cached[0] == fingerprint:
        return cached[1]
    compiled = [
        CompiledListeningQuery(
            id=q.pk, query=Query.from_dict(q.compiled),
            languages=frozenset(q.languages or ()), platforms=frozenset(q.platforms or ()),
        )
        for q in active.only("id", "compiled", "languages", "platforms")
    ]
    matcher = TenantMatcher(compiled)
    _cache[tenant_id] = (fingerprint, matcher)
    return matcher
