"""Which listening hits open a conversation: the tenant's relevance rules.

``InboxSettings.relevance`` holds booleans; a missing key takes its default below. A mention is
relevant when any enabled rule says so:

* ``names_own_account`` (on): the text names one of the tenant's own accounts (``@handle`` of a
  connected account marked as the brand's own);
* ``replies_to_own_post`` (on): it replies to (or sits in the thread of) one of the tenant's own
  posts;
* ``brand_negative`` (on): it matched a listening query and its sentiment is negative;
* ``brand_question`` (on): it matched a listening query and asks a question ("?");
* ``brand_needs_review`` (on): it matched a listening query and the NLP flagged it for review;
* ``all_matches`` (off): every listening hit opens a conversation.

Never relevant, whatever the rules: the tenant's own posts and plain reposts. A mention that
replies into a thread that already has a conversation joins it without asking these rules
(inbox/grouping.py decides that before calling ``is_relevant``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

DEFAULT_RULES: dict[str, bool] = {
    "names_own_account": True,
    "replies_to_own_post": True,
    "brand_negative": True,
    "brand_question": True,
    "brand_needs_review": True,
    "all_matches": False,
}

RULE_LABELS = {
    "names_own_account": _("It names one of our own accounts (@handle)"),
    "replies_to_own_post": _("It replies to one of our own posts"),
    "brand_negative": _("It matched a listening query and is negative"),
    "brand_question": _("It matched a listening query and asks a question"),
    "brand_needs_review": _("It matched a listening query and needs a person's review"),
    "all_matches": _("Every listening hit (noisy)"),
}


def effective_rules(stored: dict | None) -> dict[str, bool]:
    """The tenant's rules with the defaults filled in; unknown keys are ignored."""
    stored = stored or {}
    return {name: bool(stored.get(name, default)) for name, default in DEFAULT_RULES.items()}


@dataclass(frozen=True)
class TenantFacts:
    """What the rules need to know about the tenant, read once per batch."""

    own_handles: frozenset[str]  # lower case, without "@"
    own_post_ids: frozenset[str]  # external ids of the tenant's own posts among the parents asked about


def names_own_account(text: str, own_handles: frozenset[str]) -> bool:
    if not own_handles or not text:
        return False
    return any(h.lower() in own_handles for h in re.findall(r"@([\w.]+)", text))


def never_a_conversation(mention) -> bool:
    # is_deleted: deleted on the platform, or by a GDPR-erased person (stored blank, listening.ingest)
    return bool(mention.is_own or mention.is_repost or mention.is_deleted)


def relevance_reason(mention, rules: dict[str, bool], facts: TenantFacts, *, matched_query: bool) -> str | None:
    """The name of the first rule that makes the mention relevant, or None."""
    if never_a_conversation(mention):
        return None
    if rules["names_own_account"] and names_own_account(mention.text, facts.own_handles):
        return "names_own_account"
    parents = {mention.parent_external_id, mention.conversation_external_id} - {""}
    if rules["replies_to_own_post"] and parents & facts.own_post_ids:
        return "replies_to_own_post"
    if not matched_query:
        return None
    if rules["all_matches"]:
        return "all_matches"
    if rules["brand_negative"] and mention.sentiment == "negative":
        return "brand_negative"
    if rules["brand_question"] and "?" in (mention.text or ""):
        return "brand_question"
    if rules["brand_needs_review"] and mention.needs_review:
        return "brand_needs_review"
    return None
