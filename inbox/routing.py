"""Routing rules: conditions on a conversation's newest messages, ordered actions, stop or
continue. (Being written: issue #5 item 4.)"""

from __future__ import annotations


def route(tenant_id: int, conversation_ids: list[int]) -> int:
    """Apply the tenant's active rules, in order, to these conversations (called after new
    inbound messages joined them); record each decision on the conversation. Returns how many
    rule actions were applied."""
    return 0
