"""The inbox of one seeded tenant, replayed over its mentions in time order: what
``inbox.conversations.attach_mentions`` and ``inbox.routing.route`` would have written, and
the people's work on it up to ``end``.

* Placement mirrors ``inbox/grouping.py`` on in-memory maps (the platform thread, else the
  conversation of the parent's message, else the author's open window of
  ``author_window_hours``); the app's own ``relevance.relevance_reason`` decides which mentions
  open a conversation; numbers come from a per-tenant counter (gap-free); preview, sentiment,
  review flag, counts and times are kept as ``_add_inbound`` keeps them, and a new message in a
  resolved conversation reopens it.
* Routing runs the tenant's real rules (``inbox.routing.compile_rule`` over ``Facts``) on every
  new inbound message: routed / held-for-review events, departments, priorities, alerts (one
  open alert per department and conversation), SLA due dates from the tenant's policies
  (``inbox.sla.due_dates``).
* People: the brand's replies in a conversation's thread are its outbound messages (published:
  the message points at the brand's own mention, ``sent_at`` is when it went out), signed by
  the agent who gets the conversation; conversations are resolved after a while (some never:
  the backlog), assigned, tagged, noted; heads acknowledge and resolve alerts; the breaches
  the beat would have recorded are recorded.

Not written for this invented history: audit rows and notifications.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import orjson

from inbox import relevance
from inbox.routing import Facts
from inbox.sla import due_dates

from .rows import at
from .timeline import Post

OPEN, INF = ("new", "open", "pending"), math.inf
TAGS = {"Delivery": "livraison", "Billing": "remboursement", "App bug": "bug", "Customer service": "sav",
        "Product quality": "qualité"}
NOTES = ("Client relancé par MP, en attente de son n° de commande.", "Vu avec la logistique, renvoi du colis.",
         "Geste commercial accordé (bon de 10 €).", "Customer asked for a refund, forwarded to billing.",
         "Déjà traité par téléphone.", "@head-quality peux-tu regarder ce défaut ?", "@head-service à suivre stp")


@dataclass(slots=True, eq=False)
class Conv:
    id: int
    number: int
    platform: str
    key: str
    author: object
    created: float
    first: float
    last: float
    last_in: float = 0.0
    preview: str = ""
    sentiment: str = ""
    needs_review: bool = False
    count: int = 0
    status: str = "new"  # new / open while unresolved; set for good at the end
    resolve_at: float = INF  # when people will resolve it (INF: the backlog)
    closed_as: str = "resolved"
    resolved_at: float | None = None
    assignee: int | None = None
    department: int | None = None
    priority: str = "normal"
    tags: list = field(default_factory=list)
    first_response: float | None = None
    policy: object = None
    due: tuple = (None, None)
    alerts: dict = field(default_factory=dict)  # department id -> open Alert
    topic_ids: set = field(default_factory=set)
    breaches: list = field(default_factory=list)
    updated: float = 0.0


@dataclass(slots=True, eq=False)
class Alert:
    id: int
    conv: Conv
    department: int
    rule: int
    created: float
    head: int | None
    acknowledged: float | None = None
    resolved: float | None = None


class MentionView:
    """The attributes of a Mention that relevance and routing read."""

    __slots__ = ("pk", "text", "sentiment", "sentiment_confidence", "sentiment_source", "needs_review",
                 "review_reasons", "detected_language", "language", "platform", "author", "is_own", "is_repost",
                 "is_deleted", "parent_external_id", "conversation_external_id")

    def __init__(self, post: Post, parent: str, conversation: str):
        body = post.body
        self.pk, self.text, self.platform, self.author = post.mention_id, post.text, post.platform, post.author
        self.sentiment, self.sentiment_confidence, self.needs_review = body.sentiment, body.confidence, body.needs_review
        self.sentiment_source, self.review_reasons = "model", body.reasons
        self.detected_language = self.language = body.lang
        self.is_own, self.is_repost, self.is_deleted = post.own, post.repost, False  # the seed posts no deletions
        self.parent_external_id, self.conversation_external_id = parent, conversation


class InboxSim:
    def __init__(self, rng: random.Random, setup, out, ids, *, clock, end: float, own_handles: frozenset[str],
                 window_hours: int = 24):
        self.rng, self.setup, self.out, self.ids, self.clock, self.end = rng, setup, out, ids, clock, end
        self.tid = setup.tenant_id
        self.rules = relevance.effective_rules({})
        self.facts = relevance.TenantFacts(own_handles=own_handles, own_post_ids=set())  # filled as own posts come
        self.window = window_hours * 3600.0
        self.threads: dict[tuple[str, str], Conv] = {}
        self.by_message: dict[tuple[str, str], Conv] = {}
        self.windows: dict[tuple[str, int], Conv] = {}
        self.conversations: list[Conv] = []
        self.agents = {name: uid for uid, name in setup.agents}
        self.agent_ids = [uid for uid, _name in setup.agents]
        self.policies = setup.sla_policies
        self.topic_names = {pk: name for name, pk in setup.topics.items()}
        self.head_of = {setup.departments[k]: head for k, head in setup.heads.items()}

    # -- writing --

    def event(self, c: Conv, kind: str, t: float, *, actor=None, rule=None, **data) -> None:
        t = min(t, self.end)
        self.out.add("inbox_conversationevent", (self.ids.take("inbox_conversationevent"), self.tid, c.id, kind, actor,
                                                 rule, orjson.dumps(data).decode(), at(t)))
        c.updated = max(c.updated, t)

    # -- placement (inbox/grouping.place) --

    def _place(self, post: Post, m: MentionView) -> tuple[str, Conv | None, bool]:
        platform = post.platform
        if m.conversation_external_id:
            key = f"thread:{m.conversation_external_id}"
            c = self.threads.get((platform, key))
            if c is None and m.parent_external_id:
                c = self.by_message.get((platform, m.parent_external_id))
            return key, c, True
        if m.parent_external_id:
            c = self.by_message.get((platform, m.parent_external_id))
            key = c.key if c else f"thread:{m.parent_external_id}"
            return key, c or self.threads.get((platform, key)), True
        root = self.threads.get((platform, f"thread:{post.external_id}"))
        if root is not None:
            return root.key, root, True
        window = self.windows.get((platform, post.author.id))
        if window is not None and window.resolve_at > post.t and window.last_in >= post.t - self.window:
            return window.key, window, False
        return f"author:{post.author.id}:{int(post.t)}", None, False

    # -- one mention --

    def mention(self, post: Post, parent: str, conversation: str, topic_ids, query_ids) -> None:
        m = MentionView(post, parent, conversation)
        if post.own:
            self.facts.own_post_ids.add(post.external_id)
            key, c, _in_thread = self._place(post, m)
            if c is not None and post.parent is not None:
                self._outbound(c, post)
            return
        if relevance.never_a_conversation(m):
            return
        key, c, _in_thread = self._place(post, m)
        stored = post.t + 36.5  # tagged by the NLP stage, which then queues inbox_attach
        if c is None:
            reason = relevance.relevance_reason(m, self.rules, self.facts, matched_query=bool(query_ids))
            if reason is None:
                return
            c = self._open(post, key, reason, stored)
        self._inbound(c, post, m, stored, topic_ids, query_ids)

    def _open(self, post: Post, key: str, reason: str, stored: float) -> Conv:
        rng = self.rng
        number = len(self.conversations) + 1
        c = Conv(id=self.ids.take("inbox_conversation"), number=number, platform=post.platform, key=key,
                 author=post.author, created=stored + 2.0, first=post.t, last=post.t, updated=stored + 2.0)
        if rng.random() < 0.03:
            c.resolve_at = INF  # the backlog
        elif post.body.sentiment == "negative":
            c.resolve_at = c.created + 3600 * math.exp(rng.gauss(math.log(6), 1.0))
        else:  # triaged in office hours: most need no more than a look
            c.resolve_at = self.clock.office(c.created, 50)
        c.closed_as = "closed" if rng.random() < 0.45 else "resolved"
        self.conversations.append(c)
        self.threads[(post.platform, key)] = c
        if key.startswith("author:"):
            self.windows[(post.platform, post.author.id)] = c
        post.author.in_inbox = True
        self.event(c, "created", c.created, mention=post.mention_id, relevance=reason)
        return c

    def _inbound(self, c: Conv, post: Post, m: MentionView, stored: float, topic_ids, query_ids) -> None:
        if self._settle(c, post.t):  # resolved before this message: it reopens
            self.event(c, "reopened", stored + 2, **{"from": c.closed_as, "mention": post.mention_id})
            c.status, c.resolved_at = "open", None
            c.resolve_at = post.t + 3600 * math.exp(self.rng.gauss(math.log(10), 1.0))
            c.closed_as = "closed" if self.rng.random() < 0.45 else "resolved"
        message_id = self.ids.take("inbox_message")
        # The mention's facts, as the message trigger copies them (inbox migration 0006); the
        # conversation's department is only known at the end: the seeder copies it then.
        self.out.add("inbox_message", (message_id, self.tid, c.id, "in", post.mention_id, "", None, None, "", "", "",
                                       0, at(post.t), None, post.author.id, at(post.t), post.body.lang))
        self.by_message[(post.platform, post.external_id)] = c
        if post.t >= c.last_in:
            c.preview, c.sentiment, c.last_in = post.text[:300], m.sentiment, post.t
        c.needs_review = c.needs_review or m.needs_review
        c.count += 1
        c.first, c.last = min(c.first, post.t), max(c.last, post.t)
        c.topic_ids.update(topic_ids)
        self._route(c, m, message_id, topic_ids, query_ids, stored + 3.0)

    def _route(self, c: Conv, m: MentionView, message_id: int, topic_ids, query_ids, t: float) -> None:
        facts = Facts(m, topic_ids=set(topic_ids), query_ids=set(query_ids))
        for compiled in self.setup.rules:
            if not compiled.matches(facts):
                continue
            rule = compiled.rule
            if compiled.held(facts):
                self.event(c, "held_for_review", t, rule=rule.pk, message=message_id, mention=m.pk,
                           rule_name=rule.name, review_reasons=orjson.loads(m.review_reasons))
            else:
                done = [self._action(c, rule, action, t) for action in rule.actions]
                self.event(c, "routed", t, rule=rule.pk, message=message_id, mention=m.pk, rule_name=rule.name,
                           actions=done)
            if rule.stop_processing:
                break
        self._sla(c)

    def _action(self, c: Conv, rule, action: dict, t: float) -> dict:
        if action["type"] == "priority":
            c.priority = action["value"]
            return dict(action)
        department = action["department"]
        c.department = department
        alert = c.alerts.get(department)
        created = alert is None
        if created:
            head = self.head_of.get(department)
            alert = c.alerts[department] = Alert(self.ids.take("inbox_alert"), c, department, rule.pk, t,
                                                 head[0] if head else None)
            self.event(c, "alert", t, rule=rule.pk, alert=alert.id, department=department, op="opened",
                       notified=[head[2]] if head else [])
            delay = 60 * math.exp(self.rng.gauss(math.log(25), 1.0))
            if head and t + delay < min(c.resolve_at, self.end):
                alert.acknowledged = t + delay
                self.event(c, "alert", alert.acknowledged, actor=alert.head, rule=rule.pk, alert=alert.id,
                           department=department, op="acknowledged")
        return {"type": "route", "department": department, "alert": alert.id, "alert_created": created}

    def _sla(self, c: Conv) -> None:
        policy = self.policies["urgent"] if c.priority == "urgent" else self.policies["default"]
        if policy is not c.policy:
            first, resolution = due_dates(policy, at(max(c.first, c.created)))
            c.policy, c.due = policy, (first and first.timestamp(), resolution and resolution.timestamp())

    def _settle(self, c: Conv, t: float) -> bool:
        """Resolve the conversation if people did so before ``t``; whether it is resolved."""
        if c.resolved_at is None and c.resolve_at <= t:
            self._resolve(c, c.resolve_at)
        return c.resolved_at is not None

    def _outbound(self, c: Conv, post: Post) -> None:
        """The brand's reply in the conversation's thread, sent from the inbox (a reply to a
        resolved conversation does not reopen it)."""
        resolved = self._settle(c, post.t)
        agent = self.agents.get(post.agent) or c.assignee or self.rng.choice(self.agent_ids)
        if c.assignee is None and not resolved:
            self._assign(c, agent, post.t - 180)
        if c.status == "new" and not resolved:
            self.event(c, "status", post.t - 170, actor=agent, **{"from": "new", "to": "open"})
            c.status = "open"
        written = post.t - 60 * self.rng.uniform(1, 6)
        self.out.add("inbox_message", (self.ids.take("inbox_message"), self.tid, c.id, "out", post.mention_id,
                                       post.text, agent, None, "sent", post.external_id, "", 1, at(written),
                                       at(post.t), None, None, ""))
        c.count += 1
        c.last = max(c.last, post.t)
        c.first_response = post.t if c.first_response is None else min(c.first_response, post.t)
        if not resolved and c.resolve_at < post.t + 600:
            c.resolve_at = post.t + 600 + 3600 * self.rng.random()
        c.updated = max(c.updated, post.t)

    def _assign(self, c: Conv, user_id: int, t: float) -> None:
        c.assignee = user_id
        self.event(c, "assigned", t, actor=user_id, **{"from": None, "to": user_id})

    def _resolve(self, c: Conv, t: float) -> None:
        if c.assignee is None:
            self._assign(c, self.rng.choice(self.agent_ids), t - 120)
        if c.topic_ids and self.rng.random() < 0.2:
            new = [TAGS[self.topic_names[k]] for k in sorted(c.topic_ids) if self.topic_names.get(k) in TAGS][:2]
            tags = list(dict.fromkeys([*c.tags, *new]))
            if tags != c.tags:
                self.event(c, "tags", t - 60, actor=c.assignee, **{"from": c.tags, "to": tags})
                c.tags = tags
        self.event(c, "status", t, actor=c.assignee, **{"from": c.status, "to": c.closed_as})
        c.status, c.resolved_at = c.closed_as, t
        for department, alert in list(c.alerts.items()):
            alert.resolved = t
            self.event(c, "alert", t, actor=alert.head, rule=alert.rule, alert=alert.id, department=department,
                       op="resolved")
            self._alert_row(alert, "resolved")
            del c.alerts[department]

    # -- the end of the span --

    def finish(self) -> None:
        """Resolve what is due, settle the rest, record breaches; write conversations, alerts
        and notes."""
        rng, end = self.rng, self.end
        for c in self.conversations:
            if not self._settle(c, end):
                if c.assignee is None and c.created < end - 3 * 3600 and rng.random() < 0.6:
                    self._assign(c, rng.choice(self.agent_ids), c.created + 60 * math.exp(rng.gauss(math.log(40), 1)))
                if c.status == "new" and c.assignee is not None:
                    self.event(c, "status", c.updated + 30, actor=c.assignee, **{"from": "new", "to": "open"})
                    c.status = "open"
                if c.status == "open" and c.first_response is not None and rng.random() < 0.5:
                    self.event(c, "status", c.updated + 30, actor=c.assignee, **{"from": "open", "to": "pending"})
                    c.status = "pending"
                for alert in c.alerts.values():
                    late = alert.acknowledged is None and alert.created + 1800 < end
                    self._alert_row(alert, "escalated" if late else "acknowledged" if alert.acknowledged else "open")
                    if late:
                        self.event(c, "alert", alert.created + 1800, rule=alert.rule, alert=alert.id,
                                   department=alert.department, op="escalated", level=self._level(alert))
            if c.assignee is not None and rng.random() < 0.04:
                self._note(c)
            self._breaches(c)
            self._conversation_row(c)

    def _breaches(self, c: Conv) -> list[str]:
        breaches = []
        for target, due, done in (("first_response", c.due[0], c.first_response),
                                  ("resolution", c.due[1], c.resolved_at)):
            if target == "first_response" and done is None:
                done = c.resolved_at  # resolved without an answer: nothing is waiting any more
            if due is not None and due + 300 < self.end and (done is None or done > due):
                breaches.append(target)  # found by the beat's check (every few minutes) after the due time
                self.event(c, "sla_breach", due + self.rng.uniform(30, 300), target=target, due_at=at(due).isoformat())
        c.breaches = breaches
        return breaches

    def _note(self, c: Conv) -> None:
        body = self.rng.choice(NOTES)
        mentioned = [self.setup.heads[k][0] for k in ("quality", "service") if f"@head-{k}" in body]
        t = min(self.end, c.created + 60 * math.exp(self.rng.gauss(math.log(90), 1.0)))
        note_id = self.ids.take("inbox_note")
        self.out.add("inbox_note", (note_id, self.tid, c.id, c.assignee, body, orjson.dumps(mentioned).decode(), at(t)))
        self.event(c, "note", t, actor=c.assignee, note=note_id, mentioned=mentioned)

    def _level(self, alert: Alert) -> int:
        return 2 if alert.head is None else 1  # one head: the next level is the tenant admins

    def _alert_row(self, alert: Alert, status: str) -> None:
        level = self._level(alert) if status == "escalated" else 0
        updated = max(x for x in (alert.created, alert.acknowledged or 0, alert.resolved or 0))
        self.out.add("inbox_alert", (alert.id, self.tid, alert.conv.id, alert.department, alert.rule, status, level,
                                     at(alert.created + 1800), alert.head if alert.acknowledged else None,
                                     at(alert.acknowledged), at(alert.created), at(updated)))

    def _conversation_row(self, c: Conv) -> None:
        policy = c.policy
        self.out.add("inbox_conversation", (
            c.id, self.tid, c.number, c.platform, c.key, c.status, c.priority, c.author.id, c.assignee, c.department,
            orjson.dumps(c.tags).decode(), c.preview, c.sentiment, c.needs_review, c.count, at(c.first), at(c.last),
            at(c.last_in), at(c.first_response), at(c.resolved_at), policy.pk if policy else None, at(c.due[0]),
            at(c.due[1]), orjson.dumps(c.breaches).decode(), at(c.created), at(max(c.updated, c.last))))
