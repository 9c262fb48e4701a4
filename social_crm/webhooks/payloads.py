"""The ``data`` of the inbox's events, built from the rows at the moment they happen (what the
receiver gets is a snapshot; the API has the current state). Ids are database ids, usable with
the API (``/api/v1/t/<tenant>/conversations/<id>/``); ``number`` is what users see (#12)."""

from __future__ import annotations


def conversation_data(conversation) -> dict:
    return {"id": conversation.pk, "number": conversation.number, "platform": conversation.platform,
            "status": conversation.status, "priority": conversation.priority,
            "department": conversation.department_id, "assignee": conversation.assignee_id,
            "tags": list(conversation.tags or []), "sentiment": conversation.sentiment,
            "needs_review": conversation.needs_review, "preview": conversation.preview,
            "last_message_at": conversation.last_message_at}


def conversation_routed(conversation, event) -> dict:
    """A routing decision (the "routed" ConversationEvent): which rule, what it did."""
    return {"conversation": conversation_data(conversation), "decision_id": event.pk, "routed_at": event.created_at,
            "rule": {"id": event.rule_id, "name": event.data.get("rule_name", "")},
            "mention": event.data.get("mention"), "actions": event.data.get("actions", [])}


def alert_raised(alert) -> dict:
    department = alert.department
    return {"alert": {"id": alert.pk, "status": alert.status, "rule": alert.rule_id,
                      "department": {"id": department.pk, "slug": department.slug, "name": department.name},
                      "escalate_at": alert.escalate_at, "created_at": alert.created_at},
            "conversation": conversation_data(alert.conversation)}
