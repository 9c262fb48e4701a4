"""``{% load sla %}{% sla_timer conversation %}``: the conversation's SLA timers (first response,
resolution) with their state, for the inbox list and the conversation page."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

register = template.Library()

SOON = timedelta(hours=1)  # a timer turns amber this long before it is due


def _timer(label, due, done_at, breached: bool, now) -> dict | None:
    if due is None:
        return None
    if breached or (done_at is None and due < now) or (done_at is not None and done_at > due):
        state = "breached"
    elif done_at is not None:
        state = "met"
    elif due - now <= SOON:
        state = "soon"
    else:
        state = "running"
    return {"label": label, "due": due, "state": state, "done_at": done_at}


@register.inclusion_tag("inbox/routing/_sla_timer.html")
def sla_timer(conversation, now=None):
    now = now or timezone.now()
    breaches = conversation.sla_breaches or []
    timers = [
        _timer(_("First response"), conversation.first_response_due_at, conversation.first_response_at,
               "first_response" in breaches, now),
        _timer(_("Resolution"), conversation.resolution_due_at, conversation.resolved_at,
               "resolution" in breaches, now),
    ]
    return {"timers": [t for t in timers if t], "now": now}
