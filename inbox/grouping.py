"""Which conversation a mention belongs to.

* The platform's thread: ``thread:<conversation_external_id>`` when the platform gives one (X's
  conversation_id, Mastodon's context...); else a reply joins the conversation of the message
  it replies to, or ``thread:<parent_external_id>``.
* No thread (a top-level post): the author's open conversation on the platform whose last
  inbound message is at most ``author_window_hours`` old (``author:<author id>:<unix time of the
  first message>``); else a new author window.
* Neither author nor thread: the mention alone (``mention:<external id>``).

Callers hold the tenant's InboxSettings row lock (inbox/conversations.py), so two workers never
open the same thread or window twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .models import Conversation, Message, Status

OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)


@dataclass(frozen=True)
class Placement:
    thread_key: str
    conversation: Conversation | None  # an existing conversation to join, or None: open one
    in_thread: bool  # a reply into a platform thread (joins an existing one whatever the relevance rules)


def _thread_conversation(tenant_id: int, platform: str, key: str) -> Conversation | None:
    return Conversation.objects.select_for_update().filter(tenant_id=tenant_id, platform=platform, thread_key=key).first()


def _parent_conversation(tenant_id: int, platform: str, parent_external_id: str) -> Conversation | None:
    message = (Message.objects.filter(tenant_id=tenant_id, direction="in", mention__platform=platform,
                                      mention__external_id=parent_external_id)
               .select_related("conversation").first())
    if message is None:
        return None
    return Conversation.objects.select_for_update().get(tenant_id=tenant_id, pk=message.conversation_id)


def place(tenant_id: int, mention, *, window_hours: int) -> Placement:
    """Where the mention goes (reads only; the caller creates or updates)."""
    platform = mention.platform
    if mention.conversation_external_id:
        key = f"thread:{mention.conversation_external_id}"
        conversation = _thread_conversation(tenant_id, platform, key)
        if conversation is None and mention.parent_external_id:
            conversation = _parent_conversation(tenant_id, platform, mention.parent_external_id)
        return Placement(key, conversation, in_thread=True)
    if mention.parent_external_id:
        conversation = _parent_conversation(tenant_id, platform, mention.parent_external_id)
        key = conversation.thread_key if conversation else f"thread:{mention.parent_external_id}"
        return Placement(key, conversation or _thread_conversation(tenant_id, platform, key), in_thread=True)
    # A top-level post may be the root of a thread someone already replied into.
    root = _thread_conversation(tenant_id, platform, f"thread:{mention.external_id}")
    if root is not None:
        return Placement(root.thread_key, root, in_thread=True)
    if mention.author_id is None:
        return Placement(f"mention:{mention.external_id}", None, in_thread=False)
    since = mention.created_at - timedelta(hours=window_hours)
    window = (Conversation.objects.select_for_update()
              .filter(tenant_id=tenant_id, platform=platform, author_id=mention.author_id, status__in=OPEN_STATUSES,
                      thread_key__startswith=f"author:{mention.author_id}:", last_inbound_at__gte=since)
              .order_by("-last_inbound_at", "-id").first())
    if window is not None:
        return Placement(window.thread_key, window, in_thread=False)
    return Placement(f"author:{mention.author_id}:{int(mention.created_at.timestamp())}", None, in_thread=False)
