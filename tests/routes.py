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


def _notification(tw):
    from social_crm.tenancy.models import Notification

    note, _created = Notification.objects.get_or_create(
        tenant_id=tw.tenant.pk, user=tw.members[Role.ADMIN].user, kind="channel.broken",
        defaults={"title": "X channel broken", "url": f"/t/{tw.tenant.slug}/listening/accounts/"})
    return note


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
    Route("api-notifications-list", "get", Action.TENANT_VIEW, api=True),
    Route("api-notifications-detail", "get", Action.TENANT_VIEW, "pk", _notification, api=True),
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
def _conversation(tw):
    return tw.conversation


def _admins_view(tw):
    """A saved view of the tenant admin (only its owner may change it)."""
    from inbox.models import SavedView

    view, _created = SavedView.objects.get_or_create(tenant_id=tw.tenant.pk, user=tw.members[Role.ADMIN].user,
                                                     name="Admin's view", defaults={"filters": {"status": ["new"]}})
    return view


def _conversation_id(tw) -> int:
    from social_crm.tenancy.scope import tenant_context

    with tenant_context(tw.tenant.pk):
        return tw.conversation.pk


_IV, _IW = Action.INBOX_VIEW, Action.INBOX_WORK
_VIEW_BODY = {"name": "Urgent", "filters": {"priority": ["urgent"]}, "is_shared": False}
INBOX_ROUTES: list[Route] = [
    Route("inbox", "get", _IV),
    Route("inbox-conversation", "get", _IV, "conversation_id", _conversation),
    Route("inbox-conversation-update", "post", _IW, "conversation_id", _conversation, body=lambda w: {"status": "open"},
          cross_body=lambda w: {"department": w.b.departments["legal"].pk}),
    Route("inbox-note", "post", _IW, "conversation_id", _conversation, body=lambda w: {"body": "@head vu"}),
    Route("inbox-presence", "post", _IV, "conversation_id", _conversation),
    Route("inbox-bulk", "post", _IW, body=lambda w: {"operation": "close", "conversation_ids": [_conversation_id(w.a)]},
          cross_body=lambda w: {"operation": "close", "conversation_ids": [_conversation_id(w.b)]}),
    Route("inbox-view-new", "post", _IW, body=lambda w: {"name": "Urgent", "filters": "priority=urgent"}),
    Route("inbox-view-delete", "post", _IW, "view_id", _admins_view),
    Route("inbox-settings", "get", Action.ROUTING_MANAGE),
    Route("inbox-settings", "post", Action.ROUTING_MANAGE,
          body=lambda w: {"author_window_hours": "12", "brand_negative": "on"}),
    Route("api-conversations-list", "get", _IV, api=True),
    Route("api-conversations-detail", "get", _IV, "pk", _conversation, api=True),
    Route("api-conversations-detail", "patch", _IW, "pk", _conversation, body=lambda w: {"status": "open"},
          cross_body=lambda w: {"department": w.b.departments["legal"].pk}, cross_fields=("department",), api=True),
    Route("api-conversations-bulk", "post", _IW,
          body=lambda w: {"operation": "close", "conversation_ids": [_conversation_id(w.a)]},
          cross_body=lambda w: {"operation": "close", "conversation_ids": [_conversation_id(w.b)]},
          cross_fields=("conversation_ids",), api=True),
    Route("api-notes-list", "post", _IW, body=lambda w: {"conversation": _conversation_id(w.a), "body": "vu"},
          cross_body=lambda w: {"conversation": _conversation_id(w.b), "body": "vu"}, cross_fields=("conversation",),
          api=True),
    Route("api-saved-views-list", "get", _IV, api=True),
    Route("api-saved-views-list", "post", _IW, body=lambda w: _VIEW_BODY, api=True),
    Route("api-saved-views-detail", "get", _IV, "pk", _admins_view, api=True),
    Route("api-saved-views-detail", "put", _IW, "pk", _admins_view, body=lambda w: _VIEW_BODY, api=True),
    Route("api-saved-views-detail", "patch", _IW, "pk", _admins_view, body=lambda w: {"is_shared": True}, api=True),
    Route("api-saved-views-detail", "delete", _IW, "pk", _admins_view, api=True),
]

# --- Inbox: routing rules, department alerts, SLA policies (pages and API) --------------------
def _rule(tw):
    return tw.routing_rule


def _alert(tw):
    return tw.alert


def _sla(tw):
    return tw.sla_policy


def _rule_page_body(tw):
    return {"name": "Angry VIPs", "is_active": "on", "stop": "continue", "sentiment": ["negative"],
            "min_followers": "1000", "department": tw.departments["legal"].pk, "priority": "high", "last_n": "200"}


def _rule_api_body(tw):
    return {"name": "Angry VIPs", "is_active": True, "stop_processing": False,
            "conditions": [{"field": "sentiment", "op": "in", "value": ["negative"]},
                           {"field": "author_followers", "op": "gte", "value": 1000}],
            "actions": [{"type": "route", "department": tw.departments["legal"].pk},
                        {"type": "priority", "value": "high"}]}


def _sla_page_body(w):
    return {"name": "Urgent", "priority": "urgent", "first_response_minutes": "15", "resolution_minutes": "240",
            "time_zone": "Europe/Paris", "hours_mon": "09:00-12:00, 14:00-18:00", "hours_tue": "09:00-18:00",
            "holidays": "2026-12-25"}


_SLA_API_BODY = {"name": "Urgent", "priority": "urgent", "is_default": False, "first_response_minutes": 15,
                 "resolution_minutes": 240, "time_zone": "Europe/Paris",
                 "business_hours": {"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]]},
                 "holidays": ["2026-12-25"]}
_RM, _AA = Action.ROUTING_MANAGE, Action.ALERTS_ACT
_ACTIONS_FIELD = ("actions",)
ROUTING_ROUTES: list[Route] = [
    Route("routing-rules", "get", _RM),
    Route("routing-rule-new", "get", _RM),
    Route("routing-rule-new", "post", _RM, body=lambda w: _rule_page_body(w.a), cross_body=lambda w: _rule_page_body(w.b)),
    Route("routing-rule-edit", "get", _RM, "rule_id", _rule),
    Route("routing-rule-edit", "post", _RM, "rule_id", _rule, body=lambda w: _rule_page_body(w.a),
          cross_body=lambda w: _rule_page_body(w.b)),
    Route("routing-rule-delete", "post", _RM, "rule_id", _rule),
    Route("routing-rule-move", "post", _RM, "rule_id", _rule, body=lambda w: {"direction": "down"}),
    Route("alerts", "get", _AA),
    Route("alert-acknowledge", "post", _AA, "alert_id", _alert),
    Route("alert-comment", "post", _AA, "alert_id", _alert, body=lambda w: {"body": "On it."}),
    Route("alert-hand-back", "post", _AA, "alert_id", _alert),
    Route("alert-escalate", "post", _AA, "alert_id", _alert),
    Route("alert-resolve", "post", _AA, "alert_id", _alert),
    Route("sla-policies", "get", _RM),
    Route("alert-escalation-delay", "post", _RM, body=lambda w: {"minutes": "15"}),
    Route("sla-policy-new", "get", _RM),
    Route("sla-policy-new", "post", _RM, body=_sla_page_body),
    Route("sla-policy-edit", "get", _RM, "policy_id", _sla),
    Route("sla-policy-edit", "post", _RM, "policy_id", _sla, body=_sla_page_body),
    Route("sla-policy-delete", "post", _RM, "policy_id", _sla),
    Route("api-routing-rules-list", "get", _RM, api=True),
    Route("api-routing-rules-list", "post", _RM, body=lambda w: _rule_api_body(w.a),
          cross_body=lambda w: _rule_api_body(w.b), cross_fields=_ACTIONS_FIELD, api=True),
    Route("api-routing-rules-detail", "get", _RM, "pk", _rule, api=True),
    Route("api-routing-rules-detail", "put", _RM, "pk", _rule, body=lambda w: _rule_api_body(w.a),
          cross_body=lambda w: _rule_api_body(w.b), cross_fields=_ACTIONS_FIELD, api=True),
    Route("api-routing-rules-detail", "patch", _RM, "pk", _rule, body=lambda w: {"is_active": False},
          cross_body=lambda w: {"actions": _rule_api_body(w.b)["actions"]}, cross_fields=_ACTIONS_FIELD, api=True),
    Route("api-routing-rules-detail", "delete", _RM, "pk", _rule, api=True),
    Route("api-routing-rules-dry-run", "post", _RM, body=lambda w: {**_rule_api_body(w.a), "last_n": 50},
          cross_body=lambda w: {**_rule_api_body(w.b), "last_n": 50}, cross_fields=_ACTIONS_FIELD, api=True),
    Route("api-routing-rules-reorder", "post", _RM, body=lambda w: {"rule_ids": [w.a.routing_rule.pk]},
          cross_body=lambda w: {"rule_ids": [w.b.routing_rule.pk]}, cross_fields=("rule_ids",), api=True),
    Route("api-alerts-list", "get", _AA, api=True),
    Route("api-alerts-detail", "get", _AA, "pk", _alert, api=True),
    Route("api-alerts-acknowledge", "post", _AA, "pk", _alert, api=True),
    Route("api-alerts-comment", "post", _AA, "pk", _alert, body=lambda w: {"body": "On it."}, api=True),
    Route("api-alerts-hand-back", "post", _AA, "pk", _alert, api=True),
    Route("api-alerts-escalate", "post", _AA, "pk", _alert, api=True),
    Route("api-alerts-resolve", "post", _AA, "pk", _alert, api=True),
    Route("api-sla-policies-list", "get", _RM, api=True),
    Route("api-sla-policies-list", "post", _RM, body=lambda w: _SLA_API_BODY, api=True),
    Route("api-sla-policies-detail", "get", _RM, "pk", _sla, api=True),
    Route("api-sla-policies-detail", "put", _RM, "pk", _sla, body=lambda w: _SLA_API_BODY, api=True),
    Route("api-sla-policies-detail", "patch", _RM, "pk", _sla, body=lambda w: {"resolution_minutes": 600}, api=True),
    Route("api-sla-policies-detail", "delete", _RM, "pk", _sla, api=True),
]

# --- Customers: records, identities, link suggestions, merges, CSV (pages and API) -----------
def _customer(tw):
    return tw.customer


def _identity(tw):
    return tw.identity


def _suggestion(tw):
    return tw.suggestion


def _merge_record(tw):
    return tw.merge_record


def _customer_body(w, api=False):
    lists = {"emails": ["ana@example.com"], "phones": ["+33 6 00 00 00 01"], "handles": ["@ana"]}
    if not api:
        lists = {k: "\n".join(v) for k, v in lists.items()}
    return {"name": "Ana Lima", "tier": "silver", "external_crm_id": "CRM-9", "notes": "", **lists}


_CV, _CM = Action.CUSTOMERS_VIEW, Action.CUSTOMERS_MANAGE
_CSV = "name,emails,external_crm_id\nAna Lima,ana@example.com,CRM-9\n"
CUSTOMER_ROUTES: list[Route] = [
    Route("customers", "get", _CV),
    Route("customer-new", "get", _CM),
    Route("customer-new", "post", _CM, body=_customer_body),
    Route("customer-detail", "get", _CV, "customer_id", _customer),
    Route("customer-edit", "get", _CM, "customer_id", _customer),
    Route("customer-edit", "post", _CM, "customer_id", _customer, body=_customer_body),
    Route("customer-delete", "post", _CM, "customer_id", _customer),
    Route("customer-merge", "post", _CM, "customer_id", _customer, body=lambda w: {"merged": w.a.other_customer.pk},
          cross_body=lambda w: {"merged": w.b.other_customer.pk}),
    Route("customer-merge-undo", "post", _CM, "merge_id", _merge_record),
    Route("suggestion-confirm", "post", _CM, "suggestion_id", _suggestion),
    Route("suggestion-reject", "post", _CM, "suggestion_id", _suggestion),
    Route("identity-unlink", "post", _CM, "identity_id", _identity),
    Route("customers-import", "get", _CM),
    Route("customers-export", "get", _CM),
    Route("api-customers-list", "get", _CV, api=True),
    Route("api-customers-list", "post", _CM, body=lambda w: _customer_body(w, api=True), api=True),
    Route("api-customers-detail", "get", _CV, "pk", _customer, api=True),
    Route("api-customers-detail", "put", _CM, "pk", _customer, body=lambda w: _customer_body(w, api=True), api=True),
    Route("api-customers-detail", "patch", _CM, "pk", _customer, body=lambda w: {"tier": "vip"}, api=True),
    Route("api-customers-detail", "delete", _CM, "pk", _customer, api=True),
    Route("api-customers-merge", "post", _CM, "pk", _customer, body=lambda w: {"merged": w.a.other_customer.pk},
          cross_body=lambda w: {"merged": w.b.other_customer.pk}, cross_fields=("merged",), api=True),
    Route("api-customers-undo-merge", "post", _CM, body=lambda w: {"merge_record": w.a.merge_record.pk},
          cross_body=lambda w: {"merge_record": w.b.merge_record.pk}, cross_fields=("merge_record",), api=True),
    Route("api-customers-import-csv", "post", _CM, body=lambda w: {"csv": _CSV}, api=True),
    Route("api-customers-export-csv", "get", _CM, api=True),
    Route("api-identities-list", "get", _CV, api=True),
    Route("api-identities-detail", "get", _CV, "pk", _identity, api=True),
    Route("api-identities-link", "post", _CM, "pk", _identity, body=lambda w: {"customer": w.a.customer.pk},
          cross_body=lambda w: {"customer": w.b.customer.pk}, cross_fields=("customer",), api=True),
    Route("api-identities-unlink", "post", _CM, "pk", _identity, api=True),
    Route("api-link-suggestions-list", "get", _CV, api=True),
    Route("api-link-suggestions-detail", "get", _CV, "pk", _suggestion, api=True),
    Route("api-link-suggestions-confirm", "post", _CM, "pk", _suggestion, api=True),
    Route("api-link-suggestions-reject", "post", _CM, "pk", _suggestion, api=True),
    Route("api-merge-records-list", "get", _CV, api=True),
    Route("api-merge-records-detail", "get", _CV, "pk", lambda tw: tw.merge_record, api=True),
    # GDPR (social_crm/customers/gdpr.py): export for managers, erasure and retention for admins.
    Route("customer-gdpr-export", "get", _CM, "customer_id", _customer),
    Route("customer-gdpr-erase", "post", Action.SETTINGS_MANAGE, "customer_id", _customer),
    Route("gdpr-privacy", "get", Action.SETTINGS_MANAGE),
    Route("gdpr-privacy", "post", Action.SETTINGS_MANAGE, body=lambda w: {"retention_days": 30}),
    Route("gdpr-handle-export", "get", Action.SETTINGS_MANAGE),
    Route("gdpr-handle-erase", "post", Action.SETTINGS_MANAGE, body=lambda w: {"platform": "x", "handle": "someone"}),
    Route("api-customers-gdpr-export", "get", _CM, "pk", _customer, api=True),
    Route("api-customers-gdpr-erase", "post", Action.SETTINGS_MANAGE, "pk", _customer, api=True),
    Route("api-gdpr-export", "post", _CM, body=lambda w: {"platform": "x", "handle": "someone"}, api=True),
    Route("api-gdpr-erase", "post", Action.SETTINGS_MANAGE, body=lambda w: {"platform": "x", "handle": "someone"},
          api=True),
]

# --- Outgoing webhooks: endpoints, delivery log, replay (pages and API) -----------------------
def _webhook(tw):
    return tw.webhook_endpoint


def _webhook_delivery(tw):
    return tw.webhook_delivery


_WM = Action.WEBHOOKS_MANAGE
_WEBHOOK_BODY = {"url": "http://127.0.0.1:9/hooks", "description": "CRM", "events": ["alert.raised"], "is_active": True}
WEBHOOK_ROUTES: list[Route] = [
    Route("webhooks", "get", _WM),
    Route("webhook-new", "get", _WM),
    Route("webhook-new", "post", _WM, body=lambda w: {**_WEBHOOK_BODY, "is_active": "on"}),
    Route("webhook-detail", "get", _WM, "endpoint_id", _webhook),
    Route("webhook-edit", "get", _WM, "endpoint_id", _webhook),
    Route("webhook-edit", "post", _WM, "endpoint_id", _webhook, body=lambda w: {**_WEBHOOK_BODY, "is_active": "on"}),
    Route("webhook-delete", "post", _WM, "endpoint_id", _webhook),
    Route("webhook-rotate", "post", _WM, "endpoint_id", _webhook),
    Route("webhook-ping", "post", _WM, "endpoint_id", _webhook),
    Route("webhook-deliveries", "get", _WM),
    Route("webhook-delivery", "get", _WM, "delivery_id", _webhook_delivery),
    Route("webhook-delivery-replay", "post", _WM, "delivery_id", _webhook_delivery),
    Route("api-webhooks-list", "get", _WM, api=True),
    Route("api-webhooks-list", "post", _WM, body=lambda w: _WEBHOOK_BODY, api=True),
    Route("api-webhooks-detail", "get", _WM, "pk", _webhook, api=True),
    Route("api-webhooks-detail", "put", _WM, "pk", _webhook, body=lambda w: _WEBHOOK_BODY, api=True),
    Route("api-webhooks-detail", "patch", _WM, "pk", _webhook, body=lambda w: {"is_active": False}, api=True),
    Route("api-webhooks-detail", "delete", _WM, "pk", _webhook, api=True),
    Route("api-webhooks-rotate-secret", "post", _WM, "pk", _webhook, api=True),
    Route("api-webhooks-ping", "post", _WM, "pk", _webhook, api=True),
    Route("api-webhook-deliveries-list", "get", _WM, api=True),
    Route("api-webhook-deliveries-detail", "get", _WM, "pk", _webhook_delivery, api=True),
    Route("api-webhook-deliveries-replay", "post", _WM, "pk", _webhook_delivery, api=True),
]

# --- Analytics: care metrics (analytics/api_care.py) -------------------------------------------
CARE_ROUTES: list[Route] = [
    Route("api-analytics-care", "get", Action.INBOX_VIEW, api=True),
    Route("api-analytics-care-by-department", "get", Action.INBOX_VIEW, api=True),
    Route("api-analytics-care-by-agent", "get", Action.INBOX_VIEW, api=True),
]

# --- Crisis detection: alerts, acknowledge / close, settings (pages and API) -------------------
def _crisis_alert(tw):
    return tw.crisis_alert


def _crisis_settings_body(w, tw=None):
    tw = tw or w.a
    return {"sensitivity": "high", "recipients": [tw.members[Role.ADMIN].user.pk], "notify_in_app": "on",
            "notify_email": "on"}


_XV, _XA, _XC = Action.CRISIS_VIEW, Action.CRISIS_ACT, Action.CRISIS_CONFIGURE
CRISIS_ROUTES: list[Route] = [
    Route("crisis-alerts", "get", _XV),
    Route("crisis-alert", "get", _XV, "alert_id", _crisis_alert),
    Route("crisis-alert-acknowledge", "post", _XA, "alert_id", _crisis_alert),
    Route("crisis-alert-close", "post", _XA, "alert_id", _crisis_alert),
    Route("crisis-settings", "get", _XC),
    # B's admin is a member of B only: not a recipient A can choose.
    Route("crisis-settings", "post", _XC, body=_crisis_settings_body,
          cross_body=lambda w: _crisis_settings_body(w, w.b)),
    Route("api-crisis-alerts-list", "get", _XV, api=True),
    Route("api-crisis-alerts-detail", "get", _XV, "pk", _crisis_alert, api=True),
    Route("api-crisis-alerts-acknowledge", "post", _XA, "pk", _crisis_alert, api=True),
    Route("api-crisis-alerts-close", "post", _XA, "pk", _crisis_alert, api=True),
]

# --- Analytics (issue #6): the dashboard page and the reputation series ----------------------------
ANALYTICS_ROUTES = [Route("analytics-dashboard", "get", Action.ANALYTICS_VIEW)] + [
    Route(f"api-analytics-{series}", "get", Action.ANALYTICS_VIEW, api=True)
    for series in ("volume", "sentiment", "reach", "share-of-voice", "top-authors", "top-topics", "top-terms")
] + [
    # Reports (analytics/reports.py): the PDF export, each member's own subscriptions and preview.
    Route("analytics-export-pdf", "get", Action.ANALYTICS_VIEW),
    Route("analytics-reports", "get", Action.ANALYTICS_VIEW),
    Route("analytics-reports", "post", Action.ANALYTICS_VIEW, body=lambda w: {"kind": "weekly_reputation",
                                                                           "op": "subscribe"}),
    # The delivery log of the report e-mails: every member their own, admins all and the retry.
    Route("api-report-deliveries-list", "get", Action.ANALYTICS_VIEW, api=True),
    Route("api-report-deliveries-detail", "get", Action.ANALYTICS_VIEW, "pk", lambda tw: _report_delivery(tw, "sent"),
          api=True),
    Route("api-report-deliveries-retry", "post", Action.REPORTS_MANAGE, "pk",
          lambda tw: _report_delivery(tw, "failed"), api=True),
]


def _report_delivery(tw, status):
    """A report e-mail to the tenant's admin in ``status`` (made on first use)."""
    from analytics.models import ReportDelivery
    from social_crm.tenancy.scope import tenant_context

    admin = tw.members[Role.ADMIN].user
    with tenant_context(tw.tenant.pk):
        row, _created = ReportDelivery.objects.get_or_create(
            tenant_id=tw.tenant.pk, run=None, kind="daily_care", email=admin.email, status=status,
            defaults={"user": admin, "subject": "Daily care digest", "text_body": "…", "html_body": "<p>…</p>",
                      "attempts": 5 if status == "failed" else 1, "last_error": "SMTPServerDisconnected"})
        return row

# --- Inbox: replies, approvals, canned answers (pages and API) ----------------------------------
def _reply(status):
    """An outbound reply of the tenant's conversation in ``status`` (made on first use)."""
    def get(tw):
        from inbox.models import Message
        from social_crm.tenancy.scope import tenant_context

        with tenant_context(tw.tenant.pk):
            target = Message.objects.filter(tenant_id=tw.tenant.pk, conversation=tw.conversation, direction="in").first()
            message, _created = Message.objects.get_or_create(
                tenant_id=tw.tenant.pk, conversation=tw.conversation, direction="out", delivery_status=status,
                defaults={"text": f"Reply ({status})", "reply_to": target,
                          "author_user": tw.members[Role.MARKETER].user, "error": "X 403" if status == "failed" else ""})
            return message
    return get


def _canned(tw):
    return tw.canned_answer


_CANNED_BODY = {"name": "Thanks", "shortcut": "thanks", "body_en": "Thanks {first_name}!", "body_fr": "Merci {first_name} !"}
_RP, _RA, _CM = Action.INBOX_REPLY_PUBLISH, Action.INBOX_REPLY_APPROVE, Action.CANNED_ANSWERS_MANAGE
REPLY_ROUTES: list[Route] = [
    Route("inbox-reply", "post", Action.INBOX_REPLY, "conversation_id", _conversation,
          body=lambda w: {"text": "Nous regardons, merci de votre patience."}),
    Route("inbox-reply-approve", "post", _RA, "message_id", _reply("pending_approval")),
    Route("inbox-reply-reject", "post", _RA, "message_id", _reply("pending_approval"), body=lambda w: {"reason": "Ton"}),
    Route("inbox-reply-retry", "post", _RP, "message_id", _reply("failed")),
    Route("inbox-approvals", "get", _RA),
    Route("inbox-canned", "get", _IV),
    Route("inbox-canned-new", "get", _CM),
    Route("inbox-canned-new", "post", _CM, body=lambda w: _CANNED_BODY),
    Route("inbox-canned-edit", "get", _CM, "answer_id", _canned),
    Route("inbox-canned-edit", "post", _CM, "answer_id", _canned, body=lambda w: _CANNED_BODY),
    Route("inbox-canned-delete", "post", _CM, "answer_id", _canned),
    Route("api-replies-list", "get", _IV, api=True),
    Route("api-replies-list", "post", Action.INBOX_REPLY,
          body=lambda w: {"conversation": _conversation_id(w.a), "text": "Nous regardons."},
          cross_body=lambda w: {"conversation": _conversation_id(w.b), "text": "Nous regardons."},
          cross_fields=("conversation",), api=True),
    Route("api-replies-detail", "get", _IV, "pk", _reply("sent"), api=True),
    Route("api-replies-approve", "post", _RA, "pk", _reply("pending_approval"), api=True),
    Route("api-replies-reject", "post", _RA, "pk", _reply("pending_approval"), body=lambda w: {"reason": "Ton"},
          api=True),
    Route("api-replies-retry", "post", _RP, "pk", _reply("failed"), api=True),
    Route("api-canned-answers-list", "get", _IV, api=True),
    Route("api-canned-answers-list", "post", _CM, body=lambda w: _CANNED_BODY, api=True),
    Route("api-canned-answers-detail", "get", _IV, "pk", _canned, api=True),
    Route("api-canned-answers-detail", "put", _CM, "pk", _canned, body=lambda w: _CANNED_BODY, api=True),
    Route("api-canned-answers-detail", "patch", _CM, "pk", _canned, body=lambda w: {"shortcut": "delay2"}, api=True),
    Route("api-canned-answers-detail", "delete", _CM, "pk", _canned, api=True),
    Route("api-canned-answers-render", "get", Action.INBOX_REPLY, "pk", _canned, api=True),
]

_MORE = (TOPIC_ROUTES + MODEL_ROUTES + INBOX_ROUTES + REPLY_ROUTES + ROUTING_ROUTES + CUSTOMER_ROUTES + WEBHOOK_ROUTES
         + CARE_ROUTES + CRISIS_ROUTES + ANALYTICS_ROUTES)
PAGE_ROUTES += LISTENING_PAGE_ROUTES + [r for r in _MORE if not r.api]
API_ROUTES += LISTENING_API_ROUTES + [r for r in _MORE if r.api]
ALL_ROUTES = [r for r in PAGE_ROUTES + API_ROUTES if not r.token_bound]
TOKEN_BOUND_ROUTES = [r for r in API_ROUTES if r.token_bound]
