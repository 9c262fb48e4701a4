"""Writes for routing rules (tenant id first, one transaction, audit row): save, delete, order.
The rule language and its validation are in inbox/routing.py."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from social_crm.tenancy.access import scoped_get
from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.scope import tenant_context

from .models import RoutingRule
from .routing import clean_rule


def access_rule(tenant_id: int, rule_id) -> RoutingRule:
    return scoped_get(RoutingRule.objects.all(), tenant_id, rule_id)


def rule_save(tenant_id: int, *, actor, rule_id: int | None = None, name: str, conditions, actions,
              stop_processing: bool = True, is_active: bool = True) -> RoutingRule:
    """Create (at the end of the order) or update a rule. Idempotent: saving the same values
    again changes nothing but ``updated_at``. ValidationError on name, conditions or actions."""
    with tenant_context(tenant_id):
        rule = access_rule(tenant_id, rule_id) if rule_id else RoutingRule(tenant_id=tenant_id)
        name = (name or "").strip()
        errors = {}
        if not name:
            errors["name"] = [_("Give the rule a name.")]
        elif RoutingRule.objects.filter(tenant_id=tenant_id, name__iexact=name).exclude(pk=rule.pk).exists():
            errors["name"] = [_("Another rule already has this name.")]
        try:
            conditions, actions = clean_rule(tenant_id, conditions=conditions, actions=actions)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)
        if rule.pk is None:
            last = RoutingRule.objects.filter(tenant_id=tenant_id).aggregate(m=Max("position"))["m"]
            rule.position = (last or 0) + 1
        rule.name, rule.conditions, rule.actions = name, conditions, actions
        rule.stop_processing, rule.is_active, rule.updated_at = stop_processing, is_active, timezone.now()
        try:
            with transaction.atomic():
                rule.save()
        except IntegrityError as exc:  # a concurrent twin with the same name
            raise ValidationError({"name": [_("Another rule already has this name.")]}) from exc
        audit_record(tenant_id, actor=actor, action="routing_rule.created" if rule_id is None else "routing_rule.updated",
                     target=rule, data={"conditions": conditions, "actions": _redacted(actions),
                                        "stop_processing": stop_processing, "is_active": is_active})
        return rule


def _redacted(actions: list[dict]) -> list[dict]:
    return [{**a, "secret": "***"} if "secret" in a else a for a in actions]


def rule_delete(tenant_id: int, *, actor, rule_id: int) -> None:
    """Delete a rule; the events it left keep their data (rule set to null)."""
    with tenant_context(tenant_id):
        rule = access_rule(tenant_id, rule_id)
        audit_record(tenant_id, actor=actor, action="routing_rule.deleted", target=rule)
        rule.delete()


def rules_reorder(tenant_id: int, *, actor, rule_ids: list[int]) -> list[RoutingRule]:
    """Put the rules in this order (every rule of the tenant, each once). Idempotent."""
    with tenant_context(tenant_id):
        rules = {r.pk: r for r in RoutingRule.objects.filter(tenant_id=tenant_id).select_for_update()}
        if sorted(rule_ids) != sorted(rules) or len(set(rule_ids)) != len(rule_ids):
            raise ValidationError({"rule_ids": [_("List every rule of the tenant once (unknown: %(ids)s).") % {
                "ids": ", ".join(str(i) for i in rule_ids if i not in rules) or "-"}]})
        for position, rule_id in enumerate(rule_ids, start=1):
            if rules[rule_id].position != position:
                rules[rule_id].position = position
                rules[rule_id].save(update_fields=["position"])
        audit_record(tenant_id, actor=actor, action="routing_rule.reordered", data={"order": rule_ids})
        return [rules[i] for i in rule_ids]


def rule_move(tenant_id: int, *, actor, rule_id: int, direction: str) -> list[RoutingRule]:
    """Move a rule one place up or down (the list page's buttons)."""
    with tenant_context(tenant_id):
        access_rule(tenant_id, rule_id)
        order = list(RoutingRule.objects.filter(tenant_id=tenant_id).order_by("position", "id")
                     .values_list("pk", flat=True))
        i = order.index(int(rule_id))
        j = i - 1 if direction == "up" else i + 1
        if 0 <= j < len(order):
            order[i], order[j] = order[j], order[i]
        return rules_reorder(tenant_id, actor=actor, rule_ids=order)
