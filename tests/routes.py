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
TOPIC_ROUTES: list[Route] = [
]

# --- NLP: corrections and the tenant's sentiment models (pages and API) -----------------------
MODEL_ROUTES: list[Route] = [
]

PAGE_ROUTES += LISTENING_PAGE_ROUTES + [r for r in TOPIC_ROUTES + MODEL_ROUTES if not r.api]
API_ROUTES += LISTENING_API_ROUTES + [r for r in TOPIC_ROUTES + MODEL_ROUTES if r.api]
ALL_ROUTES = [r for r in PAGE_ROUTES + API_ROUTES if not r.token_bound]
TOKEN_BOUND_ROUTES = [r for r in API_ROUTES if r.token_bound]
