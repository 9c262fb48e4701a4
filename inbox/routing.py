"""Routing rules: conditions on a conversation's newest inbound message, ordered actions, stop
or continue.

Rule language (stored as JSON on RoutingRule, validated by ``clean_rule``). Every condition of
a rule must hold (AND); a rule needs at least one condition and one action.

Conditions ``{"field": ..., "op": ..., "value": ...}``:

=================  ========  ===================================================================
field              op        value
=================  ========  ===================================================================
sentiment          in        ["negative", "neutral", "positive"] (the mention's NLP sentiment)
confidence         below /   0..1, the sentiment confidence (an untagged mention never matches)
                   above
needs_review       is        true / false
topic              in        ids of the tenant's topics (any of them)
keywords           matches   a listening-query expression (listening.query: AND, OR, NOT, "phrase")
language           in        ["fr", "en", "other"] (the detected language, else the platform's)
platform           in        platform codes (x, facebook, ...)
author_followers   gte       a whole number
author_verified    is        true / false
customer_tier      in        tier names of the linked customer
customer_vip       is        true / false
matched_query      in        ids of the tenant's listening queries (any of them)
=================  ========  ===================================================================

Customer conditions: until a mention's author is linked to a customer record (the customers
app), the customer is *unknown* and ``customer_tier`` / ``customer_vip`` never match (not even
``customer_vip is false``): a rule cannot act on a fact nobody knows. ``customer_for`` is the one
place to connect when the link exists.

Actions ``{"type": ...}``: ``route`` (department: id; opens an Alert for it, inbox/alerts.py),
``priority`` (value), ``assign`` (member: membership id), ``tags`` (value: [..]), ``notify``
(members: [membership ids], email: bool; in-app and optionally e-mail), ``webhook`` (url,
secret: the receiver checks ``X-Signature-256: sha256=HMAC-SHA256(secret, body)``).

Order and stop: active rules run by position; a rule that fires and has ``stop_processing``
ends the evaluation for that message, otherwise the next rules run too.

Held for review: a rule with a ``sentiment`` condition that matches a negative which
``listening.nlp.review.may_escalate_automatically`` refuses (the model is unsure, or the text
reads as ironic) applies none of its actions: the conversation gets a "held_for_review" event
instead, and the rule still counts as matched for stop/continue (a later catch-all rule must
not route what this rule held). Once a person confirms the sentiment, routing the conversation
again applies the rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from listening.models import Author, ListeningQuery, Mention, MentionMatch, MentionTopic, Platform, Topic
from listening.nlp.review import may_escalate_automatically
from listening.query import QuerySyntaxError, parse, prepare
from social_crm.tenancy.models import Department, Membership, Tenant
from social_crm.tenancy.scope import tenant_context
from social_crm.webhooks import payloads as webhook_payloads
from social_crm.webhooks.events import emit

from . import alerts
from .models import Conversation, ConversationEvent, Direction, Message, Priority, RoutingRule

logger = logging.getLogger(__name__)

SENTIMENTS = ("negative", "neutral", "positive")
LANGUAGES = ("fr", "en", "other")
MAX_ITEMS = 100  # values in one condition or action: a rule is read by people
DRY_RUN_SIZES = (50, 200, 1000)

# field -> (allowed ops, kind of value)
CONDITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "sentiment": (("in",), "sentiments"),
    "confidence": (("below", "above"), "fraction"),
    "needs_review": (("is",), "bool"),
    "topic": (("in",), "topics"),
    "keywords": (("matches",), "expression"),
    "language": (("in",), "languages"),
    "platform": (("in",), "platforms"),
    "author_followers": (("gte",), "count"),
    "author_verified": (("is",), "bool"),
    "customer_tier": (("in",), "strings"),
    "customer_vip": (("is",), "bool"),
    "matched_query": (("in",), "queries"),
}
ACTIONS = ("route", "priority", "assign", "tags", "notify", "webhook")


# --- Validation ----------------------------------------------------------------------------------


def _ids(value, model, tenant_id: int, what: str) -> list[int]:
    if not isinstance(value, list) or not value or len(value) > MAX_ITEMS:
        raise ValueError(_("Choose between 1 and %(n)s %(what)s.") % {"n": MAX_ITEMS, "what": what})
    try:
        if any(isinstance(v, bool) for v in value):
            raise TypeError
        ids = sorted({int(v) for v in value})
    except (TypeError, ValueError):
        raise ValueError(_("Ids must be whole numbers.")) from None
    found = set(model.objects.filter(tenant_id=tenant_id, pk__in=ids).values_list("pk", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValueError(_("Unknown %(what)s: %(ids)s") % {"what": what, "ids": ", ".join(map(str, missing))})
    return ids


def _choices(value, allowed: Iterable[str]) -> list[str]:
    allowed = list(allowed)
    if not isinstance(value, list) or not value or any(v not in allowed for v in value):
        raise ValueError(_("Choose among: %(choices)s.") % {"choices": ", ".join(allowed)})
    return sorted(set(value), key=allowed.index)


def _strings(value) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_ITEMS:
        raise ValueError(_("Give between 1 and %(n)s values.") % {"n": MAX_ITEMS})
    cleaned = [str(v).strip()[:50] for v in value if isinstance(v, str) and v.strip()]
    if len(cleaned) != len(value):
        raise ValueError(_("Values must be non-empty text."))
    return list(dict.fromkeys(cleaned))


def _bool(value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(_("Use true or false."))
    return value


def _value(kind: str, value, tenant_id: int):
    if kind == "sentiments":
        return _choices(value, SENTIMENTS)
    if kind == "languages":
        return _choices(value, LANGUAGES)
    if kind == "platforms":
        return _choices(value, Platform.values)
    if kind == "fraction":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(_("Give a number between 0 and 1."))
        return float(value)
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(_("Give a whole number, 0 or more."))
        return value
    if kind == "bool":
        return _bool(value)
    if kind == "strings":
        return _strings(value)
    if kind == "topics":
        return _ids(value, Topic, tenant_id, _("topics"))
    if kind == "queries":
        return _ids(value, ListeningQuery, tenant_id, _("listening queries"))
    # expression
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("Write a keyword expression."))
    try:
        parse(value)
    except QuerySyntaxError as exc:
        raise ValueError(str(exc)) from exc
    return value.strip()


def _clean_condition(raw, tenant_id: int) -> dict:
    if not isinstance(raw, dict) or raw.get("field") not in CONDITIONS:
        raise ValueError(_("Unknown condition; use one of: %(fields)s.") % {"fields": ", ".join(CONDITIONS)})
    ops, kind = CONDITIONS[raw["field"]]
    if raw.get("op") not in ops:
        raise ValueError(_("%(field)s: use the operator %(ops)s.") % {"field": raw["field"], "ops": " / ".join(ops)})
    return {"field": raw["field"], "op": raw["op"], "value": _value(kind, raw.get("value"), tenant_id)}


def _member(tenant_id: int, value) -> int:
    return _ids([value], Membership, tenant_id, _("members"))[0]


def _clean_action(raw, tenant_id: int) -> dict:
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind == "route":
        return {"type": kind, "department": _ids([raw.get("department")], Department, tenant_id, _("departments"))[0]}
    if kind == "priority":
        return {"type": kind, "value": _choices([raw.get("value")], Priority.values)[0]}
    if kind == "assign":
        return {"type": kind, "member": _member(tenant_id, raw.get("member"))}
    if kind == "tags":
        return {"type": kind, "value": _strings(raw.get("value"))}
    if kind == "notify":
        return {"type": kind, "members": _ids(raw.get("members"), Membership, tenant_id, _("members")),
                "email": _bool(raw.get("email", False))}
    if kind == "webhook":
        url, secret = raw.get("url"), raw.get("secret")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > 500:
            raise ValueError(_("Give the webhook's http(s) address."))
        if not isinstance(secret, str) or len(secret) < 16:
            raise ValueError(_("Give a signing secret of at least 16 characters."))
        return {"type": kind, "url": url, "secret": secret}
    raise ValueError(_("Unknown action; use one of: %(types)s.") % {"types": ", ".join(ACTIONS)})


def clean_rule(tenant_id: int, *, conditions, actions) -> tuple[list[dict], list[dict]]:
    """The rule's conditions and actions, normalised; a ValidationError on "conditions" or
    "actions" names the first problem (e.g. a department of another tenant: "Unknown")."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, list[dict]] = {"conditions": [], "actions": []}
    for name, items, cleaner in (("conditions", conditions, _clean_condition), ("actions", actions, _clean_action)):
        if not isinstance(items, list) or not items:
            errors[name] = [_("Give at least one.") if name == "actions" else _("Give at least one condition.")]
            continue
        for n, item in enumerate(items[:MAX_ITEMS], start=1):
            try:
                clean[name].append(cleaner(item, tenant_id))
            except ValueError as exc:
                errors.setdefault(name, []).append(_("#%(n)s: %(error)s") % {"n": n, "error": exc})
    if errors:
        raise ValidationError(errors)
    return clean["conditions"], clean["actions"]


# --- Evaluation ----------------------------------------------------------------------------------


@dataclass
class Facts:
    """What the conditions look at, for one mention (read in bulk, no query per condition)."""

    mention: Mention
    topic_ids: set[int] = field(default_factory=set)
    query_ids: set[int] = field(default_factory=set)
    customer: object | None = None  # None: no linked customer, customer conditions are unknown
    _prepared: object = None

    def prepared(self):
        if self._prepared is None:
            self._prepared = prepare(self.mention.text or "")
        return self._prepared


def customer_for(tenant_id: int, mentions: list[Mention]) -> dict[int, object]:
    """mention id -> the customer its author's social identity is linked to (with ``tier`` and
    ``is_vip``); a merged customer counts as its survivor. Unlinked authors are absent: customer
    conditions do not match them (unknown is not "not VIP")."""
    from social_crm.customers.models import Customer, SocialIdentity

    by_author: dict[int, list[int]] = {}
    for m in mentions:
        if m.author_id:
            by_author.setdefault(m.author_id, []).append(m.pk)
    if not by_author:
        return {}
    links = dict(SocialIdentity.objects.filter(tenant_id=tenant_id, author_id__in=by_author, customer__isnull=False)
                 .values_list("author_id", "customer_id"))
    customers = {c.pk: c for c in Customer.objects.filter(tenant_id=tenant_id, pk__in=set(links.values()))}
    survivors = {c.merged_into_id for c in customers.values() if c.merged_into_id}
    customers.update({c.pk: c for c in Customer.objects.filter(tenant_id=tenant_id, pk__in=survivors)})
    out = {}
    for author_id, customer_id in links.items():
        customer = customers.get(customer_id)
        while customer is not None and customer.merged_into_id:  # follow merges to the survivor
            customer = customers.get(customer.merged_into_id)
        if customer is not None:
            out.update({mention_id: customer for mention_id in by_author[author_id]})
    return out


def facts_for(tenant_id: int, mentions: list[Mention]) -> dict[int, Facts]:
    ids = [m.pk for m in mentions]
    facts = {m.pk: Facts(m) for m in mentions}
    for mention_id, topic_id in MentionTopic.objects.filter(tenant_id=tenant_id, mention_id__in=ids) \
            .values_list("mention_id", "topic_id"):
        facts[mention_id].topic_ids.add(topic_id)
    for mention_id, query_id in MentionMatch.objects.filter(tenant_id=tenant_id, mention_id__in=ids) \
            .values_list("mention_id", "query_id"):
        facts[mention_id].query_ids.add(query_id)
    for mention_id, customer in customer_for(tenant_id, mentions).items():
        facts[mention_id].customer = customer
    return facts


def _author(facts: Facts) -> Author | None:
    return facts.mention.author


def _check(condition: dict) -> Callable[[Facts], bool]:
    """One condition as a predicate (the keyword expression is parsed once, here)."""
    name, op, value = condition["field"], condition["op"], condition["value"]
    if name == "keywords":
        query = parse(value)
        return lambda f: query.matches(f.prepared())
    if name == "confidence":
        if op == "below":
            return lambda f: f.mention.sentiment_confidence is not None and f.mention.sentiment_confidence < value
        return lambda f: f.mention.sentiment_confidence is not None and f.mention.sentiment_confidence > value
    getters: dict[str, Callable[[Facts], object]] = {
        "sentiment": lambda f: f.mention.sentiment,
        "needs_review": lambda f: f.mention.needs_review,
        "language": lambda f: f.mention.detected_language or (f.mention.language or "")[:2],
        "platform": lambda f: f.mention.platform,
        "author_verified": lambda f: bool(_author(f) and _author(f).verified),
    }
    if name in getters:
        get = getters[name]
        return (lambda f: get(f) in value) if op == "in" else (lambda f: get(f) == value)
    if name == "author_followers":
        return lambda f: bool(_author(f) and _author(f).followers is not None and _author(f).followers >= value)
    if name in ("topic", "matched_query"):
        wanted = set(value)
        attr = "topic_ids" if name == "topic" else "query_ids"
        return lambda f: bool(getattr(f, attr) & wanted)
    if name == "customer_tier":
        return lambda f: f.customer is not None and getattr(f.customer, "tier", None) in value
    return lambda f: f.customer is not None and bool(getattr(f.customer, "is_vip", False)) == value  # customer_vip


@dataclass
class Compiled:
    rule: RoutingRule | None
    checks: list[Callable[[Facts], bool]]
    has_sentiment_condition: bool

    def matches(self, facts: Facts) -> bool:
        return all(check(facts) for check in self.checks)

    def held(self, facts: Facts) -> bool:
        """A sentiment rule on a negative that automation may not act on (see the module doc)."""
        m = facts.mention
        return self.has_sentiment_condition and not may_escalate_automatically(
            sentiment=m.sentiment, sentiment_source=m.sentiment_source, needs_review=m.needs_review)


def compile_rule(conditions: list[dict], rule: RoutingRule | None = None) -> Compiled:
    return Compiled(rule, [_check(c) for c in conditions], any(c["field"] == "sentiment" for c in conditions))


_ACTION_TEXT = {
    "route": gettext_lazy("Send to %(department)s (alert)"),
    "priority": gettext_lazy("Set priority %(value)s"),
    "assign": gettext_lazy("Assign to %(member)s"),
    "tags": gettext_lazy("Add tags %(value)s"),
    "notify": gettext_lazy("Notify %(members)s"),
    "webhook": gettext_lazy("Call %(url)s"),
}


@dataclass
class Names:
    """The names rules refer to by id, read once for a whole list of rules (four queries)."""

    departments: dict[int, str]
    members: dict[int, str]
    topics: dict[int, str]
    queries: dict[int, str]

    @classmethod
    def load(cls, tenant_id: int) -> Names:
        return cls(dict(Department.objects.filter(tenant_id=tenant_id).values_list("pk", "name")),
                   {m.pk: str(m.user) for m in Membership.objects.filter(tenant_id=tenant_id).select_related("user")},
                   dict(Topic.objects.filter(tenant_id=tenant_id).values_list("pk", "name")),
                   dict(ListeningQuery.objects.filter(tenant_id=tenant_id).values_list("pk", "name")))


def describe_actions(tenant_id: int, actions: list[dict], names: Names | None = None) -> list[str]:
    """Plain words for a rule's actions (rule list, dry run)."""
    names = names or Names.load(tenant_id)
    departments, members = names.departments, names.members
    texts = []
    for a in actions:
        params = {"department": departments.get(a.get("department"), "?"), "value": a.get("value"),
                  "member": members.get(a.get("member"), "?"), "url": a.get("url"),
                  "members": ", ".join(members.get(i, "?") for i in a.get("members", []))}
        if a["type"] == "priority":
            params["value"] = Priority(a["value"]).label
        if a["type"] == "tags":
            params["value"] = ", ".join(a["value"])
        texts.append(str(_ACTION_TEXT[a["type"]]) % params)
    return texts


_CONDITION_TEXT = {
    "sentiment": gettext_lazy("sentiment is %(value)s"),
    "confidence": gettext_lazy("confidence %(op)s %(value)s"),
    "needs_review": gettext_lazy("flagged for review: %(value)s"),
    "topic": gettext_lazy("topic is %(value)s"),
    "keywords": gettext_lazy("text matches %(value)s"),
    "language": gettext_lazy("language is %(value)s"),
    "platform": gettext_lazy("platform is %(value)s"),
    "author_followers": gettext_lazy("author has at least %(value)s followers"),
    "author_verified": gettext_lazy("author verified: %(value)s"),
    "customer_tier": gettext_lazy("customer tier is %(value)s"),
    "customer_vip": gettext_lazy("customer is VIP: %(value)s"),
    "matched_query": gettext_lazy("found by query %(value)s"),
}


def describe_conditions(tenant_id: int, conditions: list[dict], names: Names | None = None) -> list[str]:
    """Plain words for a rule's conditions (rule list)."""
    loaded = names or Names.load(tenant_id)
    names = {"topic": loaded.topics, "matched_query": loaded.queries}
    texts = []
    for c in conditions:
        value = c["value"]
        if c["field"] in names:
            value = [names[c["field"]].get(v, "?") for v in value]
        if isinstance(value, bool):
            value = _("yes") if value else _("no")
        elif isinstance(value, list):
            value = _(" or ").join(map(str, value))
        op = {"below": _("below"), "above": _("above")}.get(c["op"], c["op"])
        texts.append(str(_CONDITION_TEXT[c["field"]]) % {"value": value, "op": op})
    return texts


# --- Routing -------------------------------------------------------------------------------------


def _rules(tenant_id: int) -> list[Compiled]:
    rules = RoutingRule.objects.filter(tenant_id=tenant_id, is_active=True).order_by("position", "id")
    return [compile_rule(rule.conditions, rule) for rule in rules]


def _apply(tenant_id: int, conversation: Conversation, rule: RoutingRule, action: dict, now) -> dict:
    """Apply one action to the locked conversation; returns what was done (for the event)."""
    kind = action["type"]
    if kind == "route":
        department = Department.objects.filter(tenant_id=tenant_id, pk=action["department"]).first()
        if department is None:
            return {"type": kind, "skipped": "department deleted"}
        conversation.department = department
        alert, created = alerts.alert_open(tenant_id, conversation=conversation, department=department, rule=rule,
                                           now=now)
        return {"type": kind, "department": department.pk, "alert": alert.pk, "alert_created": created}
    if kind == "priority":
        conversation.priority = action["value"]
        return dict(action)
    if kind == "assign":
        member = Membership.objects.filter(tenant_id=tenant_id, pk=action["member"]).select_related("user").first()
        if member is None:
            return {"type": kind, "skipped": "member removed"}
        conversation.assignee = member.user
        return {"type": kind, "member": member.pk, "user": member.user_id}
    if kind == "tags":
        conversation.tags = list(dict.fromkeys([*conversation.tags, *action["value"]]))
        return dict(action)
    if kind == "notify":
        users = [m.user for m in Membership.objects.filter(tenant_id=tenant_id, pk__in=action["members"])
                 .select_related("user")]
        notified = alerts.notify_users(
            tenant_id, users, kind="routing.notify", title=_NOTIFY_TITLE, body=_NOTIFY_BODY,
            params={"rule": rule.name, "conversation": str(conversation), "preview": conversation.preview},
            url=alerts.alerts_url(Tenant.objects.get(pk=tenant_id)), email=action["email"])
        return {"type": kind, "members": action["members"], "emailed": notified}
    return {"type": kind, "url": action["url"]}  # webhook: queued after the event exists


_NOTIFY_TITLE = gettext_lazy("Rule %(rule)s: conversation %(conversation)s")
_NOTIFY_BODY = gettext_lazy("%(preview)s")


def _queue_webhooks(tenant_id: int, event: ConversationEvent, actions: list[dict]) -> None:
    from .tasks import deliver_routing_webhook

    for index, action in enumerate(actions):
        if action["type"] == "webhook":
            transaction.on_commit(lambda i=index: deliver_routing_webhook.delay(tenant_id, event.pk, i))


def _already(tenant_id: int, conversation_id: int, message_id: int, rule_id: int, kind: str) -> bool:
    return ConversationEvent.objects.filter(tenant_id=tenant_id, conversation_id=conversation_id, kind=kind,
                                            rule_id=rule_id, data__message=message_id).exists()


def _route_one(tenant_id: int, conversation: Conversation, message: Message, facts: Facts,
               rules: list[Compiled], now) -> int:
    applied = 0
    for compiled in rules:
        rule = compiled.rule
        if not compiled.matches(facts):
            continue
        if compiled.held(facts):
            if not _already(tenant_id, conversation.pk, message.pk, rule.pk, "held_for_review"):
                ConversationEvent.objects.create(
                    tenant_id=tenant_id, conversation=conversation, kind="held_for_review", rule=rule, created_at=now,
                    data={"message": message.pk, "mention": facts.mention.pk, "rule_name": rule.name,
                          "review_reasons": facts.mention.review_reasons})
        elif not _already(tenant_id, conversation.pk, message.pk, rule.pk, "routed"):
            done = [_apply(tenant_id, conversation, rule, action, now) for action in rule.actions]
            event = ConversationEvent.objects.create(
                tenant_id=tenant_id, conversation=conversation, kind="routed", rule=rule, created_at=now,
                data={"message": message.pk, "mention": facts.mention.pk, "rule_name": rule.name, "actions": done})
            _queue_webhooks(tenant_id, event, rule.actions)
            emit(tenant_id, "conversation.routed", webhook_payloads.conversation_routed(conversation, event))
            applied += len(done)
        if rule.stop_processing:
            break
    return applied


def route(tenant_id: int, conversation_ids: list[int]) -> int:
    """Apply the tenant's active rules, in order, to these conversations (called after new
    inbound messages joined them); record each decision on the conversation. Returns how many
    rule actions were applied.

    Each conversation is judged on its newest inbound message. Idempotent: a rule that already
    fired (or was held) for that message is not applied again, so a retried task or a second
    call after the same message changes nothing. The conversation row is locked while its rules
    run. Afterwards the SLA timers follow the (possibly new) priority (inbox/sla.py)."""
    from . import sla

    applied = 0
    now = timezone.now()
    with tenant_context(tenant_id):
        rules = _rules(tenant_id)
        conversations = list(Conversation.objects.filter(tenant_id=tenant_id, pk__in=list(conversation_ids))
                             .select_for_update(of=("self",)).order_by("pk"))
        newest = {}
        for message in (Message.objects.filter(tenant_id=tenant_id, conversation__in=conversations,
                                               direction=Direction.INBOUND, mention__isnull=False)
                        .select_related("mention__author").order_by("conversation_id", "-created_at", "-id")):
            newest.setdefault(message.conversation_id, message)
        facts = facts_for(tenant_id, [m.mention for m in newest.values()])
        for conversation in conversations:
            message = newest.get(conversation.pk)
            if message is None:
                continue
            before = (conversation.priority, conversation.department_id, conversation.assignee_id, conversation.tags)
            if rules:
                applied += _route_one(tenant_id, conversation, message, facts[message.mention_id], rules, now)
            after = (conversation.priority, conversation.department_id, conversation.assignee_id, conversation.tags)
            if after != before:
                conversation.updated_at = now
                conversation.save(update_fields=["priority", "department", "assignee", "tags", "updated_at"])
            sla.apply_policy(conversation)
    return applied


# --- Dry run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRunHit:
    mention: Mention
    actions: list[str]  # what the rule would do, in plain words
    held: bool  # a negative held for review: nothing would be done


def dry_run(tenant_id: int, rule_data: dict, last_n: int = 200) -> tuple[list[DryRunHit], int]:
    """Which of the tenant's last ``last_n`` mentions (not the tenant's own, not reposts) the
    rule would match and what it would do; nothing is written. ``rule_data`` has "conditions"
    and "actions" (validated here: ValidationError as ``clean_rule``). Returns (hits, scanned)."""
    with tenant_context(tenant_id):
        conditions, actions = clean_rule(tenant_id, conditions=rule_data.get("conditions"),
                                         actions=rule_data.get("actions"))
        compiled = compile_rule(conditions)
        mentions = list(Mention.objects.filter(tenant_id=tenant_id, is_own=False, is_repost=False)
                        .select_related("author").order_by("-created_at", "-id")[:last_n])
        facts = facts_for(tenant_id, mentions)
        would = describe_actions(tenant_id, actions)
        hits = [DryRunHit(m, [] if compiled.held(facts[m.pk]) else would, compiled.held(facts[m.pk]))
                for m in mentions if compiled.matches(facts[m.pk])]
        return hits, len(mentions)
