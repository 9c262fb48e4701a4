"""The small, structural rows of each bench tenant, written through the app's own actions (so
they are validated and audited like any tenant's): the tenant, its members, departments and
heads, listening queries, own accounts, topics, SLA policies, routing rules, saved views.

The volume (authors, mentions, conversations...) is then written by ``social_crm.bench.seed``
with COPY, referring to the ids collected here in a ``TenantSetup``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from listening.demo.generate import DEFAULT_BRANDS, Brand

from .timeline import own_identity

# People of every tenant. The agents' first names are the ones brand replies are signed with.
EXTRA_AGENTS = ("Alex", "Sam", "Noa", "Jade", "Malo")
HEADS = (("service", "Service client"), ("quality", "Qualité"), ("logistics", "Logistique"))
DEPARTMENTS = (
    ("service", "Service client"), ("quality", "Qualité"), ("logistics", "Logistique"),
    ("billing", "Facturation"), ("communication", "Communication"),
)
PLATFORMS = ("x", "facebook", "mastodon", "bluesky", "rss")
BUSINESS_HOURS = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
HOLIDAYS = ["2026-01-01", "2026-05-01", "2026-07-14", "2026-08-15", "2026-11-11", "2026-12-25",
            "2027-01-01", "2027-05-01", "2027-07-14", "2027-08-15", "2027-11-11", "2027-12-25"]


@dataclass
class TenantSetup:
    tenant_id: int
    slug: str
    brand: Brand
    brands: tuple[Brand, ...]  # the tenant's brand first, then its competitors
    cm_user_id: int  # the community manager the inbox bench logs in as
    admin_user_id: int
    agents: list[tuple[int, str]]  # (user id, first name): who answers and triages
    heads: dict[str, tuple[int, int, str]]  # department key -> (user id, membership id, e-mail) of its head
    departments: dict[str, int]
    queries: dict[str, int]  # "brand", "competitor:<name>", "delivery", "recall" -> id
    topics: dict[str, int]  # starter topic (English name) -> id
    accounts: dict[str, int]  # platform -> the connected account that fetched its mentions
    sla_policies: dict[str, object]  # "default", "urgent" -> SlaPolicy
    rules: list = field(default_factory=list)  # inbox.routing.Compiled, in order
    saved_views: dict[str, int] = field(default_factory=dict)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _user(email: str, name: str):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    # No password: the benches log in with force_login, and hashing would cost half a second each.
    return User.objects.filter(email=email).first() or User.objects.create_user(email, None, full_name=name)


def brands_for(index: int) -> tuple[Brand, ...]:
    """Tenant ``index`` (0-based) follows the demo brand ``index % 3``; the other two are its
    competitors."""
    n = len(DEFAULT_BRANDS)
    own = DEFAULT_BRANDS[index % n]
    return (own, *[b for b in DEFAULT_BRANDS if b is not own])


def _people(tid: int, slug: str, brand: Brand, departments: dict[str, int]):
    from social_crm.tenancy import actions
    from social_crm.tenancy.permissions import Role

    domain = f"{slug}.bench.example"
    admin = _user(f"admin@{domain}", f"Admin {brand.name}")
    actions.membership_add(tid, actor=None, user=admin, role=Role.ADMIN)
    agents = []
    names = list(dict.fromkeys([*brand.agents, *EXTRA_AGENTS]))[:6]
    for i, first in enumerate(names):
        email = f"cm@{domain}" if i == 0 else f"{_ascii(first)}@{domain}"
        user = _user(email, f"{first} {brand.name.split()[0]}")
        actions.membership_add(tid, actor=None, user=user, role=Role.COMMUNITY_MANAGER)
        agents.append((user.pk, first))
    heads = {}
    for key, label in HEADS:
        user = _user(f"head-{key}@{domain}", f"Resp. {label}")
        membership = actions.membership_add(tid, actor=None, user=user, role=Role.DEPARTMENT_HEAD,
                                            department_ids=[departments[key]])
        heads[key] = (user.pk, membership.pk, user.email)
    actions.membership_add(tid, actor=None, user=_user(f"marketer@{domain}", f"Marketing {brand.name}"),
                           role=Role.MARKETER)
    agents.append((admin.pk, "Admin"))
    return admin, agents, heads


def _listening(tid: int, brands: tuple[Brand, ...]):
    from listening import actions as listening_actions
    from listening.models import Topic
    from listening.demo.generate import entity_terms
    from listening.nlp.topic_actions import STARTER_TOPICS, clean_keywords, entity_term_save
    from social_crm.tenancy.scope import tenant_context

    own = brands[0]
    queries = {"brand": listening_actions.query_save(
        tid, actor=None, name=own.name, kind="brand",
        expression=f'"{own.name}" OR #{own.hashtag} OR @{own.handle}').pk}
    for other in brands[1:]:
        queries[f"competitor:{other.name}"] = listening_actions.query_save(
            tid, actor=None, name=other.name, kind="competitor",
            expression=f'"{other.name}" OR #{other.hashtag} OR @{other.handle}').pk
    queries["delivery"] = listening_actions.query_save(
        tid, actor=None, name="Livraison", kind="topic", expression="livraison OR colis OR delivery OR parcel OR livr*").pk
    queries["recall"] = listening_actions.query_save(
        tid, actor=None, name="Rappel produit", kind="topic", expression="rappel OR défaut OR danger OR recall OR defect").pk
    accounts = {}
    for platform in PLATFORMS:
        own_account = platform != "rss"
        accounts[platform] = listening_actions.account_save(
            tid, actor=None, platform=platform, name=f"{own.name} ({platform})" if own_account else "Revue de presse",
            external_id=own_identity(own, platform)[0] if own_account else "https://news.example/feed.xml",
            handle=own.handle if own_account else "", is_own=own_account, is_active=False).pk
    # Topics as install_starter_topics makes them, without queuing the re-tag of older mentions
    # (there are none yet: the seeder writes their topics itself).
    with tenant_context(tid):
        topics = {english: Topic.objects.create(tenant_id=tid, name=french, keywords=clean_keywords(keywords)).pk
                  for english, french, keywords in STARTER_TOPICS}
    # The brand, its products and competitors as entity terms, as the demo tenant declares them:
    # the seeder's tagger finds them with the real entity ruler, and top terms has data.
    for kind, name, patterns in entity_terms(own, brands[1:]):
        entity_term_save(tid, actor=None, kind=kind, name=name, patterns=patterns)
    return queries, accounts, topics


def _inbox(tid: int, departments: dict[str, int], topics: dict[str, int], cm_user, agents):
    from inbox import conversations, sla
    from inbox.routing import compile_rule
    from inbox.routing_rules import rule_save

    policies = {
        "default": sla.sla_policy_save(tid, actor=None, name="Standard", first_response_minutes=60,
                                       resolution_minutes=480, time_zone="Europe/Paris",
                                       business_hours=BUSINESS_HOURS, holidays=HOLIDAYS, is_default=True),
        "urgent": sla.sla_policy_save(tid, actor=None, name="Urgent", first_response_minutes=15,
                                      resolution_minutes=120, time_zone="Europe/Paris",
                                      business_hours=BUSINESS_HOURS, holidays=HOLIDAYS, priority="urgent"),
    }
    negative = {"field": "sentiment", "op": "in", "value": ["negative"]}
    specs = [
        ("Qualité produit négative", [negative, {"field": "topic", "op": "in", "value": [topics["Product quality"]]}],
         [{"type": "route", "department": departments["quality"]}, {"type": "priority", "value": "high"}]),
        ("Influenceurs mécontents", [negative, {"field": "author_followers", "op": "gte", "value": 50_000}],
         [{"type": "route", "department": departments["communication"]}, {"type": "priority", "value": "urgent"}]),
        ("Livraison en retard", [negative, {"field": "topic", "op": "in", "value": [topics["Delivery"]]}],
         [{"type": "route", "department": departments["logistics"]}]),
        ("Facturation", [negative, {"field": "topic", "op": "in", "value": [topics["Billing"]]}],
         [{"type": "route", "department": departments["billing"]}]),
        ("Autres plaintes", [negative], [{"type": "route", "department": departments["service"]}]),
    ]
    rules = [compile_rule(r.conditions, r) for r in (
        rule_save(tid, actor=None, name=name, conditions=conditions, actions=actions)
        for name, conditions, actions in specs)]
    views = {}
    for key, name, filters, shared in (
            ("mine", "Mes conversations ouvertes", {"status": ["open", "pending"], "assignee": ["me"]}, False),
            ("negative", "Négatifs à traiter", {"status": ["new", "open"], "sentiment": ["negative"]}, True),
            ("quality", "Qualité produit", {"topic": [str(topics["Product quality"])], "status": ["new", "open"]}, True)):
        views[key] = conversations.saved_view_save(tid, actor=cm_user, name=name, filters=filters, is_shared=shared).pk
    return policies, rules, views


def create_tenant(index: int, *, slug_prefix: str = "bench") -> TenantSetup:
    """Tenant ``index`` (0-based) with everything the seeder refers to. Idempotent only in the
    sense that a second run fails on the taken slug: the bench database is made fresh."""
    from django.contrib.auth import get_user_model

    from social_crm.tenancy import actions

    brands = brands_for(index)
    brand = brands[0]
    slug = f"{slug_prefix}-{index + 1}"
    tenant = actions.tenant_create(name=f"{brand.name} (bench {index + 1})", slug=slug)
    tid = tenant.pk
    departments = {key: actions.department_save(tid, actor=None, name=name, slug=key).pk for key, name in DEPARTMENTS}
    admin, agents, heads = _people(tid, slug, brand, departments)
    queries, accounts, topics = _listening(tid, brands)
    cm_user = get_user_model().objects.get(pk=agents[0][0])
    policies, rules, views = _inbox(tid, departments, topics, cm_user, agents)
    return TenantSetup(tenant_id=tid, slug=slug, brand=brand, brands=brands, cm_user_id=cm_user.pk,
                       admin_user_id=admin.pk, agents=agents, heads=heads, departments=departments, queries=queries,
                       topics=topics, accounts=accounts, sla_policies=policies, rules=rules, saved_views=views)
