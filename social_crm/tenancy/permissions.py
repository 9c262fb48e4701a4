"""Who may do what: the one table, in code. README.md shows it (`manage.py permissions_table`).

Views and API viewsets name the Action they need; the scoped base checks it against the
caller's role in the tenant of the URL. Nothing else decides permissions.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Tenant admin")
    COMMUNITY_MANAGER = "community_manager", _("Community manager")
    DEPARTMENT_HEAD = "department_head", _("Department head")
    MARKETER = "marketer", _("Marketer")


class Action(StrEnum):
    TENANT_VIEW = "tenant.view"
    MEMBERS_VIEW = "members.view"
    MEMBERS_MANAGE = "members.manage"
    DEPARTMENTS_VIEW = "departments.view"
    DEPARTMENTS_MANAGE = "departments.manage"
    SETTINGS_VIEW = "settings.view"
    SETTINGS_MANAGE = "settings.manage"
    AUDIT_VIEW = "audit.view"
    API_TOKENS_OWN = "api_tokens.own"
    LISTENING_VIEW = "listening.view"
    LISTENING_MANAGE = "listening.manage"
    MENTIONS_INGEST = "mentions.ingest"
    MENTIONS_CORRECT = "mentions.correct"
    NLP_MANAGE = "nlp.manage"
    INBOX_VIEW = "inbox.view"
    INBOX_WORK = "inbox.work"
    ROUTING_MANAGE = "routing.manage"
    ALERTS_ACT = "alerts.act"
    CUSTOMERS_VIEW = "customers.view"
    CUSTOMERS_MANAGE = "customers.manage"
    WEBHOOKS_MANAGE = "webhooks.manage"
    CRISIS_VIEW = "crisis.view"
    CRISIS_ACT = "crisis.act"
    CRISIS_CONFIGURE = "crisis.configure"
    ANALYTICS_VIEW = "analytics.view"
    REPORTS_MANAGE = "reports.manage"
    INBOX_REPLY = "inbox.reply"
    INBOX_REPLY_PUBLISH = "inbox.reply_publish"
    INBOX_REPLY_APPROVE = "inbox.reply_approve"
    CANNED_ANSWERS_MANAGE = "canned_answers.manage"


_ALL = frozenset(Role)

# Marketers work in analytics and are read-only elsewhere; department heads see the tenant and
# their departments; community managers do the daily work; tenant admins configure.
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.TENANT_VIEW: _ALL,
    Action.MEMBERS_VIEW: _ALL,
    Action.MEMBERS_MANAGE: frozenset({Role.ADMIN}),
    Action.DEPARTMENTS_VIEW: _ALL,
    Action.DEPARTMENTS_MANAGE: frozenset({Role.ADMIN}),
    Action.SETTINGS_VIEW: _ALL,
    Action.SETTINGS_MANAGE: frozenset({Role.ADMIN}),
    Action.AUDIT_VIEW: frozenset({Role.ADMIN}),
    Action.API_TOKENS_OWN: _ALL,
    Action.LISTENING_VIEW: _ALL,
    Action.LISTENING_MANAGE: frozenset({Role.ADMIN}),
    Action.MENTIONS_INGEST: frozenset({Role.ADMIN, Role.COMMUNITY_MANAGER}),
    Action.MENTIONS_CORRECT: frozenset({Role.ADMIN, Role.COMMUNITY_MANAGER, Role.DEPARTMENT_HEAD}),
    Action.NLP_MANAGE: frozenset({Role.ADMIN}),
    Action.INBOX_VIEW: _ALL,
    Action.INBOX_WORK: frozenset({Role.ADMIN, Role.COMMUNITY_MANAGER, Role.DEPARTMENT_HEAD}),
    Action.ROUTING_MANAGE: frozenset({Role.ADMIN}),
    Action.ALERTS_ACT: frozenset({Role.ADMIN, Role.DEPARTMENT_HEAD}),
    Action.CUSTOMERS_VIEW: frozenset({Role.ADMIN, Role.COMMUNITY_MANAGER, Role.DEPARTMENT_HEAD}),
    Action.CUSTOMERS_MANAGE: frozenset({Role.ADMIN, Role.COMMUNITY_MANAGER}),
    Action.WEBHOOKS_MANAGE: frozenset({Role.ADMIN}),
    # Who sees the inbox sees crisis alerts; who triages the inbox acknowledges and closes them.
    Action.CRISIS_VIEW: _ALL,
    Action.CRISIS_ACT: frozenset({Role.ADMIN, Role.COMMUNITY_MANAGER, Role.DEPARTMENT_HEAD}),
    Action.CRISIS_CONFIGURE: frozenset({Role.ADMIN}),
    Action.REPORTS_MANAGE: frozenset({Role.ADMIN}),
    Action.ANALYTICS_VIEW: _ALL,
    Action.INBOX_REPLY: _ALL,
    # Community managers publish directly unless the tenant asks for approval of their replies
    # (InboxSettings.community_manager_replies_need_approval); marketers always need approval.
    Action.INBOX_REPLY_PUBLISH: frozenset({Role.ADMIN, Role.COMMUNITY_MANAGER, Role.DEPARTMENT_HEAD}),
    Action.INBOX_REPLY_APPROVE: frozenset({Role.ADMIN, Role.DEPARTMENT_HEAD}),
    Action.CANNED_ANSWERS_MANAGE: frozenset({Role.ADMIN, Role.COMMUNITY_MANAGER}),
}

ACTION_LABELS: dict[Action, str] = {
    Action.TENANT_VIEW: "Open the tenant (home, switcher)",
    Action.MEMBERS_VIEW: "See members and their roles",
    Action.MEMBERS_MANAGE: "Invite members, change roles, remove members",
    Action.DEPARTMENTS_VIEW: "See departments and their heads",
    Action.DEPARTMENTS_MANAGE: "Create, edit and delete departments, choose heads",
    Action.SETTINGS_VIEW: "See tenant settings",
    Action.SETTINGS_MANAGE: "Change tenant settings (name, time zone, language)",
    Action.AUDIT_VIEW: "Read the audit log",
    Action.API_TOKENS_OWN: "Create and revoke one's own API tokens",
    Action.LISTENING_VIEW: "See mentions, listening queries, channel health and the quarantine",
    Action.LISTENING_MANAGE: "Manage listening queries and connected accounts, replay quarantined records",
    Action.MENTIONS_INGEST: "Push mentions through the ingest API",
    Action.MENTIONS_CORRECT: "Correct a mention's sentiment and topics (the tenant's model learns from it)",
    Action.NLP_MANAGE: "Manage topics and entity terms; retrain, activate and roll back the tenant's sentiment models",
    Action.INBOX_VIEW: "See the inbox, conversations and their activity",
    Action.INBOX_WORK: "Triage conversations: assign, status, priority, tags, notes, bulk actions, saved views",
    Action.ROUTING_MANAGE: "Manage routing rules, SLA policies and relevance rules",
    Action.ALERTS_ACT: "Acknowledge, comment, hand back and escalate department alerts",
    Action.CUSTOMERS_VIEW: "See customer records, identities and timelines",
    Action.CUSTOMERS_MANAGE: "Create, link, merge and import customers; export them",
    Action.WEBHOOKS_MANAGE: "Manage outgoing webhooks, read their delivery log, replay deliveries",
    Action.CRISIS_VIEW: "See crisis alerts (spikes of volume or negative share) and their mentions",
    Action.CRISIS_ACT: "Acknowledge and close crisis alerts",
    Action.CRISIS_CONFIGURE: "Configure crisis detection: sensitivity, recipients, channels",
    Action.ANALYTICS_VIEW: "See the analytics dashboards and their API (volume, sentiment, share of voice, reach)",
    Action.REPORTS_MANAGE: "Read every member's report e-mails (delivery log) and send failed ones again",
    Action.INBOX_REPLY: "Write replies to conversations (sent for approval when one may not publish)",
    Action.INBOX_REPLY_PUBLISH: "Publish replies on the platform without approval, retry failed ones",
    Action.INBOX_REPLY_APPROVE: "Approve or reject replies waiting for approval",
    Action.CANNED_ANSWERS_MANAGE: "Create, edit and delete the shared canned answers",
}

assert set(PERMISSIONS) == set(Action), "every Action needs a row in PERMISSIONS"


def role_can(role: str, action: Action) -> bool:
    return Role(role) in PERMISSIONS[action]


def markdown_table() -> str:
    roles = list(Role)
    header = "| Action | " + " | ".join(str(r.label) for r in roles) + " |"
    sep = "|---|" + "---|" * len(roles)
    rows = [
        f"| {ACTION_LABELS[a]} (`{a.value}`) | "
        + " | ".join("yes" if r in PERMISSIONS[a] else "-" for r in roles)
        + " |"
        for a in Action
    ]
    return "\n".join([header, sep, *rows])
