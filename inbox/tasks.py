"""Inbox tasks: they take ids, run in the tenant's scope and are idempotent."""

from __future__ import annotations

from celery import shared_task  # noqa: F401

# --- Conversations (inbox/conversations.py) -----------------------------------------------------


# --- Routing, alerts, escalations and SLA timers (inbox/routing.py, inbox/alerts.py, inbox/sla.py)
