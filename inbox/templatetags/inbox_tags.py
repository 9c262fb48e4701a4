"""Template helpers of the inbox pages."""

from __future__ import annotations

from django import template
from django.template.loader import select_template

register = template.Library()


@register.simple_tag(takes_context=True)
def include_if_exists(context, template_name: str, **extra) -> str:
    """Render ``template_name`` with the current context (plus ``extra``), or nothing if it does
    not exist (the customer card is built by another part of the app and may not be there yet)."""
    try:
        found = select_template([template_name])
    except template.TemplateDoesNotExist:
        return ""
    return found.render({**context.flatten(), **extra}, context.get("request"))


@register.filter
def template_exists(template_name: str) -> bool:
    try:
        select_template([template_name])
    except template.TemplateDoesNotExist:
        return False
    return True
