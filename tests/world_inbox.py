"""Inbox rows of the two-tenant world: one of every table, same shapes in both tenants.
(Called by tests/conftest.py build_world; the inbox code may replace these with its actions.)"""

from __future__ import annotations


def add_inbox(tw) -> None:
    from django.utils import timezone

    from inbox.models import (Alert, AlertComment, CannedAnswer, Conversation, ConversationEvent, InboxSettings,
                              Message, Note, RoutingRule, SavedView, SlaPolicy)
    from listening.models import Mention
    from social_crm.tenancy.permissions import Role
    from social_crm.tenancy.scope import tenant_context

    tid = tw.tenant.pk
    cm = tw.members[Role.COMMUNITY_MANAGER].user
    with tenant_context(tid):
        mention = Mention.objects.filter(tenant_id=tid).select_related("author").order_by("id").first()
        InboxSettings.objects.create(tenant_id=tid, next_number=2)
        tw.sla_policy = SlaPolicy.objects.create(
            tenant_id=tid, name="Standard", first_response_minutes=60, resolution_minutes=480, is_default=True,
            business_hours={d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")})
        tw.conversation = Conversation.objects.create(
            tenant_id=tid, number=1, platform=mention.platform, thread_key=f"thread:{mention.external_id}",
            author=mention.author, department=tw.departments["customer-service"], preview=mention.text[:300],
            message_count=1, first_message_at=mention.created_at, last_message_at=mention.created_at,
            last_inbound_at=mention.created_at, sla_policy=tw.sla_policy)
        Message.objects.create(tenant_id=tid, conversation=tw.conversation, direction="in", mention=mention,
                               created_at=mention.created_at)
        tw.note = Note.objects.create(tenant_id=tid, conversation=tw.conversation, author_user=cm, body="Vu, je gère.")
        tw.routing_rule = RoutingRule.objects.create(
            tenant_id=tid, name="Complaints to customer service", position=1,
            conditions=[{"field": "sentiment", "op": "in", "value": ["negative"]}],
            actions=[{"type": "route", "department": tw.departments["customer-service"].pk}])
        ConversationEvent.objects.create(tenant_id=tid, conversation=tw.conversation, kind="routed",
                                         rule=tw.routing_rule, data={"department": tw.departments["customer-service"].pk})
        tw.alert = Alert.objects.create(tenant_id=tid, conversation=tw.conversation,
                                        department=tw.departments["customer-service"], rule=tw.routing_rule,
                                        escalate_at=timezone.now() + timezone.timedelta(hours=2))
        AlertComment.objects.create(tenant_id=tid, alert=tw.alert, author_user=cm, body="À traiter vite.")
        tw.canned_answer = CannedAnswer.objects.create(
            tenant_id=tid, name="Delivery delay", shortcut="delay",
            body_en="Hello {first_name}, sorry for the delay on order {order_number}.",
            body_fr="Bonjour {first_name}, désolés pour le retard de la commande {order_number}.")
        tw.saved_view = SavedView.objects.create(tenant_id=tid, user=cm, name="My open",
                                                 filters={"status": ["open"], "assignee": ["me"]})


def make_mention(tw, external_id: str, text: str = "Colis en retard", *, minutes: int = 0, author: str = "u-7",
                 matched: bool = True, **fields):
    """A tagged mention of the tenant (platform x), optionally matched by the world's brand query.
    ``minutes`` after 2026-11-02 10:00 UTC. Same external ids in both tenants on purpose."""
    from datetime import datetime, timedelta
    from datetime import timezone as dt_timezone

    from listening.models import Author, Mention, MentionMatch
    from social_crm.tenancy.scope import tenant_context

    tid = tw.tenant.pk
    fields.setdefault("sentiment", "negative")
    with tenant_context(tid):
        who = None
        if author:
            who, _created = Author.objects.get_or_create(tenant_id=tid, platform="x", platform_user_id=author,
                                                         defaults={"handle": f"h{author}", "name": f"Name {author}"})
        mention = Mention.objects.create(
            tenant_id=tid, platform="x", external_id=external_id, text=text, author=who,
            created_at=datetime(2026, 11, 2, 10, tzinfo=dt_timezone.utc) + timedelta(minutes=minutes), **fields)
        if matched:
            MentionMatch.objects.create(tenant_id=tid, mention=mention, query=tw.query)
    return mention
