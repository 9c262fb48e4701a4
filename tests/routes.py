"""Every tenant route, page and API, with the Action it needs and how to build its object id
and request body. tests/test_url_scoping.py fails when a route is missing here, so a new
endpoint cannot skip the isolation tests in tests/test_isolation.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from social_crm.tenancy.permissions import Action, Role


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    action: Action
    obj_kwarg: str | None = None  # URL kwarg naming a tenant-owned object
    obj: Callable | None = None  # TenantWorld -> object (of that tenant)
    body: Callable | None = None  # (World) -> a valid body for tenant A
    cross_body: Callable | None = None  # (World) -> a body that names a tenant B object
    cross_fields: tuple[str, ...] = ("heads", "departments")  # API: the field errors cross_body must give
    api: bool = False
    token_bound: bool = False  # no tenant in the URL: the API token names it (tested on its own)


def _member(role):
    return lambda tw: tw.members[role]


_head = _member(Role.DEPARTMENT_HEAD)
_marketer = _member(Role.MARKETER)


def _dept(tw):
    return tw.departments["legal"]


def _invitation(tw):
    return tw.invitation


def _own_token(tw):
    from social_crm.tenancy.models import ApiToken

    return ApiToken.objects.get(tenant_id=tw.tenant.pk, user=tw.members[Role.ADMIN].user, name="ci")


def _audit_event(tw):
    from social_crm.tenancy.models import AuditEvent

    return AuditEvent.objects.filter(tenant_id=tw.tenant.pk).first()


def _dept_body(w, heads=None):
    return {"name": "Quality", "slug": "quality", "description": "", "email": "",
            "heads": heads if heads is not None else [w.a.members[Role.DEPARTMENT_HEAD].pk]}


PAGE_ROUTES = [
    Route("tenant-home", "get", Action.TENANT_VIEW),
    Route("members", "get", Action.MEMBERS_VIEW),
    Route("member-invite", "get", Action.MEMBERS_MANAGE),
    Route("member-invite", "post", Action.MEMBERS_MANAGE,
          body=lambda w: {"email": "x@example.com", "role": "department_head", "departments": [w.a.departments["legal"].pk]},
          cross_body=lambda w: {"email": "x@example.com", "role": "department_head", "departments": [w.b.departments["legal"].pk]}),
    Route("member-role", "post", Action.MEMBERS_MANAGE, "membership_id", _marketer, body=lambda w: {"role": "community_manager"}),
    Route("member-remove", "post", Action.MEMBERS_MANAGE, "membership_id", _marketer),
    Route("invitation-revoke", "post", Action.MEMBERS_MANAGE, "invitation_id", _invitation),
    Route("departments", "get", Action.DEPARTMENTS_VIEW),
    Route("department-new", "get", Action.DEPARTMENTS_MANAGE),
    Route("department-new", "post", Action.DEPARTMENTS_MANAGE, body=_dept_body,
          cross_body=lambda w: _dept_body(w, heads=[w.b.members[Role.DEPARTMENT_HEAD].pk])),
    Route("department-edit", "get", Action.DEPARTMENTS_MANAGE, "department_id", _dept),
    Route("department-edit", "post", Action.DEPARTMENTS_MANAGE, "department_id", _dept, body=_dept_body,
          cross_body=lambda w: _dept_body(w, heads=[w.b.members[Role.DEPARTMENT_HEAD].pk])),
    Route("department-delete", "post", Action.DEPARTMENTS_MANAGE, "department_id", _dept),
    Route("settings", "get", Action.SETTINGS_VIEW),
    Route("settings", "post", Action.SETTINGS_MANAGE,
          body=lambda w: {"name": "Acme SA", "timezone": "Europe/Paris", "default_language": "fr"}),
    Route("audit-log", "get", Action.AUDIT_VIEW),
    Route("api-tokens", "get", Action.API_TOKENS_OWN),
    Route("api-tokens", "post", Action.API_TOKENS_OWN, body=lambda w: {"name": "bi"}),
    Route("api-token-revoke", "post", Action.API_TOKENS_OWN, "token_id", _own_token),
]

API_ROUTES = [
    Route("api-members-list", "get", Action.MEMBERS_VIEW, api=True),
    Route("api-members-detail", "get", Action.MEMBERS_VIEW, "pk", _marketer, api=True),
    Route("api-members-detail", "delete", Action.MEMBERS_MANAGE, "pk", _marketer, api=True),
    Route("api-members-set-role", "post", Action.MEMBERS_MANAGE, "pk", _marketer,
          body=lambda w: {"role": "community_manager"}, api=True),
    Route("api-departments-list", "get", Action.DEPARTMENTS_VIEW, api=True),
    Route("api-departments-list", "post", Action.DEPARTMENTS_MANAGE, body=_dept_body,
          cross_body=lambda w: _dept_body(w, heads=[w.b.members[Role.DEPARTMENT_HEAD].pk]), api=True),
    Route("api-departments-detail", "get", Action.DEPARTMENTS_VIEW, "pk", _dept, api=True),
    Route("api-departments-detail", "put", Action.DEPARTMENTS_MANAGE, "pk", _dept, body=_dept_body,
          cross_body=lambda w: _dept_body(w, heads=[w.b.members[Role.DEPARTMENT_HEAD].pk]), api=True),
    Route("api-departments-detail", "patch", Action.DEPARTMENTS_MANAGE, "pk", _dept, body=lambda w: {"description": "x"},
          cross_body=lambda w: {"heads": [w.b.members[Role.DEPARTMENT_HEAD].pk]}, api=True),
    Route("api-departments-detail", "delete", Action.DEPARTMENTS_MANAGE, "pk", _dept, api=True),
    Route("api-invitations-list", "get", Action.MEMBERS_MANAGE, api=True),
    Route("api-invitations-list", "post", Action.MEMBERS_MANAGE,
          body=lambda w: {"email": "y@example.com", "role": "department_head", "departments": [w.a.departments["legal"].pk]},
          cross_body=lambda w: {"email": "y@example.com", "role": "department_head", "departments": [w.b.departments["legal"].pk]},
          api=True),
    Route("api-invitations-detail", "get", Action.MEMBERS_MANAGE, "pk", _invitation, api=True),
    Route("api-invitations-revoke", "post", Action.MEMBERS_MANAGE, "pk", _invitation, api=True),
    Route("api-audit-events-list", "get", Action.AUDIT_VIEW, api=True),
    Route("api-audit-events-detail", "get", Action.AUDIT_VIEW, "pk", _audit_event, api=True),
    Route("api-tokens-list", "get", Action.API_TOKENS_OWN, api=True),
    Route("api-tokens-list", "post", Action.API_TOKENS_OWN, body=lambda w: {"name": "bi"}, api=True),
    Route("api-tokens-detail", "get", Action.API_TOKENS_OWN, "pk", _own_token, api=True),
    Route("api-tokens-revoke", "post", Action.API_TOKENS_OWN, "pk", _own_token, api=True),
]

def _query(tw):
    return tw.query


def _account(tw):
    return tw.account


def _quarantined(tw):
    return tw.quarantined


def _mention(tw):
    from listening.models import Mention

    return Mention.objects.filter(tenant_id=tw.tenant.pk).order_by("id").first()


_LV, _LM = Action.LISTENING_VIEW, Action.LISTENING_MANAGE
_QUERY_BODY = {"name": "Competitor", "kind": "competitor", "expression": '"Bleu Comptoir" OR #bleucomptoir',
               "languages": ["fr"], "platforms": ["x"], "is_active": True}
_ACCOUNT_BODY = {"platform": "rss", "name": "Press feed", "external_id": "", "handle": "",
                 "base_url": "https://example.com/feed.xml", "is_own": False, "is_active": True}


def _ingest_body(w):
    return {"mentions": [{"platform": "reviews", "external_id": "r-1", "text": "Très bon service client acme",
                          "created_at": "2026-11-02T10:00:00Z", "author": {"id": "a-1", "handle": "jo"}}]}


LISTENING_PAGE_ROUTES = [
    Route("mentions", "get", _LV),
    Route("listening-queries", "get", _LV),
    Route("listening-query-new", "get", _LM),
    Route("listening-query-new", "post", _LM, body=lambda w: {**_QUERY_BODY, "is_active": "on"}),
    Route("listening-query-edit", "get", _LM, "query_id", _query),
    Route("listening-query-edit", "post", _LM, "query_id", _query, body=lambda w: {**_QUERY_BODY, "is_active": "on"}),
    Route("listening-query-delete", "post", _LM, "query_id", _query),
    Route("channel-health", "get", _LV),
    Route("account-new", "get", _LM),
    Route("account-new", "post", _LM, body=lambda w: {**_ACCOUNT_BODY, "credentials": ""}),
    Route("account-edit", "get", _LM, "account_id", _account),
    Route("account-edit", "post", _LM, "account_id", _account, body=lambda w: {**_ACCOUNT_BODY, "credentials": ""}),
    Route("account-delete", "post", _LM, "account_id", _account),
    Route("account-poll", "post", _LM, "account_id", _account),
    Route("quarantine", "get", _LV),
    Route("quarantine-replay", "post", _LM, "item_id", _quarantined),
    Route("notifications", "get", Action.TENANT_VIEW),
    Route("notifications", "post", Action.TENANT_VIEW),
]

LISTENING_API_ROUTES = [
    Route("api-queries-list", "get", _LV, api=True),
    Route("api-queries-list", "post", _LM, body=lambda w: _QUERY_BODY, api=True),
    Route("api-queries-detail", "get", _LV, "pk", _query, api=True),
    Route("api-queries-detail", "put", _LM, "pk", _query, body=lambda w: _QUERY_BODY, api=True),
    Route("api-queries-detail", "patch", _LM, "pk", _query, body=lambda w: {"is_active": False}, api=True),
    Route("api-queries-detail", "delete", _LM, "pk", _query, api=True),
    Route("api-accounts-list", "get", _LV, api=True),
    Route("api-accounts-list", "post", _LM, body=lambda w: _ACCOUNT_BODY, api=True),
    Route("api-accounts-detail", "get", _LV, "pk", _account, api=True),
    Route("api-accounts-detail", "put", _LM, "pk", _account, body=lambda w: _ACCOUNT_BODY, api=True),
    Route("api-accounts-detail", "patch", _LM, "pk", _account, body=lambda w: {"is_active": False}, api=True),
    Route("api-accounts-detail", "delete", _LM, "pk", _account, api=True),
    Route("api-mentions-list", "get", _LV, api=True),
    Route("api-mentions-detail", "get", _LV, "pk", _mention, api=True),
    Route("api-mentions-ingest", "post", Action.MENTIONS_INGEST, body=_ingest_body, api=True),
    Route("api-mentions-ingest-token", "post", Action.MENTIONS_INGEST, body=_ingest_body, api=True, token_bound=True),
    Route("api-quarantine-list", "get", _LV, api=True),
    Route("api-quarantine-detail", "get", _LV, "pk", _quarantined, api=True),
    Route("api-quarantine-replay", "post", _LM, "pk", _quarantined, api=True),
    Route("api-nlp-analyze", "post", _LV, body=lambda w: {"texts": ["Colis en retard, c'est nul"]}, api=True),
    Route("api-nlp-analyze-token", "post", _LV, body=lambda w: {"texts": ["ok"]}, api=True, token_bound=True),
]

# --- NLP: topics and entity terms (pages and API) ---------------------------------------------
def _topic(tw):
    return tw.topic


def _entity_term(tw):
    return tw.entity_term


def _mention_id(tw) -> int:
    from social_crm.tenancy.scope import tenant_context

    with tenant_context(tw.tenant.pk):  # bodies are built outside any request: RLS needs the tenant
        return _mention(tw).pk


def _topic_page_body(w, tw=None):
    return {"name": "Billing", "keywords": "facture\nrembours*\n-promo", "description": "", "is_active": "on",
            "example_mention_ids": [_mention_id(tw or w.a)], "last_n": "200"}


def _topic_api_body(w, tw=None):
    return {"name": "Billing", "keywords": ["facture", "rembours*", "-promo"], "is_active": True,
            "example_mention_ids": [_mention_id(tw or w.a)]}


_TERM_BODY = {"kind": "product", "name": "Lampe Opaline", "patterns": "Opaline lamp", "is_active": "on"}
_TERM_API_BODY = {"kind": "product", "name": "Lampe Opaline", "patterns": ["Opaline lamp"], "is_active": True}
_LV2, _NM2 = Action.LISTENING_VIEW, Action.NLP_MANAGE
_EXAMPLES = ("example_mention_ids",)
TOPIC_ROUTES: list[Route] = [
    Route("topics", "get", _LV2),
    Route("topic-new", "get", _NM2),
    Route("topic-new", "post", _NM2, body=_topic_page_body, cross_body=lambda w: _topic_page_body(w, w.b)),
    Route("topic-edit", "get", _NM2, "topic_id", _topic),
    Route("topic-edit", "post", _NM2, "topic_id", _topic, body=_topic_page_body,
          cross_body=lambda w: _topic_page_body(w, w.b)),
    Route("topic-delete", "post", _NM2, "topic_id", _topic),
    Route("topic-starters", "post", _NM2),
    Route("entity-terms", "get", _LV2),
    Route("entity-term-new", "get", _NM2),
    Route("entity-term-new", "post", _NM2, body=lambda w: _TERM_BODY),
    Route("entity-term-edit", "get", _NM2, "term_id", _entity_term),
    Route("entity-term-edit", "post", _NM2, "term_id", _entity_term, body=lambda w: _TERM_BODY),
    Route("entity-term-delete", "post", _NM2, "term_id", _entity_term),
    Route("api-topics-list", "get", _LV2, api=True),
    Route("api-topics-list", "post", _NM2, body=_topic_api_body, cross_body=lambda w: _topic_api_body(w, w.b),
          cross_fields=_EXAMPLES, api=True),
    Route("api-topics-detail", "get", _LV2, "pk", _topic, api=True),
    Route("api-topics-detail", "put", _NM2, "pk", _topic, body=_topic_api_body,
          cross_body=lambda w: _topic_api_body(w, w.b), cross_fields=_EXAMPLES, api=True),
    Route("api-topics-detail", "patch", _NM2, "pk", _topic, body=lambda w: {"is_active": False}, api=True),
    Route("api-topics-detail", "delete", _NM2, "pk", _topic, api=True),
    Route("api-topics-preview", "post", _NM2, body=lambda w: {"keywords": ["colis"], "last_n": 50},
          cross_body=lambda w: {"keywords": ["colis"], "example_mention_ids": [_mention_id(w.b)]},
          cross_fields=_EXAMPLES, api=True),
    Route("api-entity-terms-list", "get", _LV2, api=True),
    Route("api-entity-terms-list", "post", _NM2, body=lambda w: _TERM_API_BODY, api=True),
    Route("api-entity-terms-detail", "get", _LV2, "pk", _entity_term, api=True),
    Route("api-entity-terms-detail", "put", _NM2, "pk", _entity_term, body=lambda w: _TERM_API_BODY, api=True),
    Route("api-entity-terms-detail", "patch", _NM2, "pk", _entity_term, body=lambda w: {"is_active": False}, api=True),
    Route("api-entity-terms-detail", "delete", _NM2, "pk", _entity_term, api=True),
]

# --- NLP: corrections and the tenant's sentiment models (pages and API) -----------------------
def _tenant_model(tw):
    return tw.tenant_model


def _retired_model(tw):
    """A retired tenant model with a real (tiny) artefact, so that activating it succeeds."""
    from listening.models import TenantSentimentModel

    return TenantSentimentModel.objects.create(tenant_id=tw.tenant.pk, language="en", status="retired",
                                               version=f"sentiment-en-{tw.tenant.slug}-tiny", artefact=_tiny_artefact())


_TINY: dict[str, bytes] = {}  # trained once per test process


def _tiny_artefact() -> bytes:
    from listening.nlp.data import load_split
    from listening.nlp.sentiment import SentimentModel
    from listening.nlp.tenant_models import model_to_bytes

    if "en" not in _TINY:
        texts, labels = load_split("en", "train")
        _TINY["en"] = model_to_bytes(SentimentModel.train("en", texts[:300], labels[:300]))
    return _TINY["en"]


def _correction_body(tw, **extra):
    return {"mention": tw.sentiment_label.mention_id, **extra}


_NM, _MC = Action.NLP_MANAGE, Action.MENTIONS_CORRECT
MODEL_ROUTES: list[Route] = [
    Route("mention-sentiment", "post", _MC, "mention_id", _mention, body=lambda w: {"sentiment": "negative"}),
    Route("mention-topic", "post", _MC, "mention_id", _mention, body=lambda w: {"topic": w.a.topic.pk, "present": "on"},
          cross_body=lambda w: {"topic": w.b.topic.pk, "present": "on"}),
    Route("sentiment-models", "get", _NM),
    Route("sentiment-model-retrain", "post", _NM, body=lambda w: {"language": "en"}),
    Route("sentiment-model-use-shared", "post", _NM, body=lambda w: {"language": "fr"}),
    Route("sentiment-model-activate", "post", _NM, "model_id", _retired_model),
    Route("sentiment-model-progress", "get", _NM, "model_id", _tenant_model),
    Route("api-mention-corrections-list", "post", _MC, body=lambda w: _correction_body(w.a, sentiment="negative"),
          cross_body=lambda w: _correction_body(w.b, sentiment="negative"), cross_fields=("mention",), api=True),
    Route("api-sentiment-models-list", "get", _NM, api=True),
    Route("api-sentiment-models-detail", "get", _NM, "pk", _tenant_model, api=True),
    Route("api-sentiment-models-activate", "post", _NM, "pk", _retired_model, api=True),
    Route("api-sentiment-models-retrain", "post", _NM, body=lambda w: {"language": "en"}, api=True),
    Route("api-sentiment-models-use-shared", "post", _NM, body=lambda w: {"language": "fr"}, api=True),
]

# --- Inbox: conversations, notes, bulk actions, saved views (pages and API) -------------------
INBOX_ROUTES: list[Route] = [
]

# --- Inbox: routing rules, department alerts, SLA policies (pages and API) --------------------
ROUTING_ROUTES: list[Route] = [
]

# --- Customers: records, identities, link suggestions, merges, CSV (pages and API) -----------
CUSTOMER_ROUTES: list[Route] = [
]

_MORE = TOPIC_ROUTES + MODEL_ROUTES + INBOX_ROUTES + ROUTING_ROUTES + CUSTOMER_ROUTES
PAGE_ROUTES += LISTENING_PAGE_ROUTES + [r for r in _MORE if not r.api]
API_ROUTES += LISTENING_API_ROUTES + [r for r in _MORE if r.api]
ALL_ROUTES = [r for r in PAGE_ROUTES + API_ROUTES if not r.token_bound]
TOKEN_BOUND_ROUTES = [r for r in API_ROUTES if r.token_bound]
