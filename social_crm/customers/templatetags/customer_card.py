"""``{% customer_card_data author as card %}``: what the customer card of a conversation shows
(templates/customers/_card.html). Runs inside the request's tenant transaction (TenantView
renders eagerly) and filters on the request's tenant, so it reads only that tenant's rows."""

from django import template

from social_crm.tenancy.permissions import Action, role_can

from ..linking import pending_for_identity
from ..models import SocialIdentity

register = template.Library()


@register.simple_tag(takes_context=True)
def customer_card_data(context, author) -> dict:
    request = context.get("request")
    membership = getattr(request, "membership", None)
    if author is None or membership is None or not role_can(membership.role, Action.CUSTOMERS_VIEW):
        return {"visible": False}
    tenant_id = membership.tenant_id
    identity = (SocialIdentity.objects.filter(tenant_id=tenant_id, author_id=author.pk)
                .select_related("customer").first())
    customer = identity.customer if identity else None
    suggestions = list(pending_for_identity(tenant_id, identity.pk)) if identity and not customer else []
    return {"visible": True, "identity": identity, "customer": customer, "suggestions": suggestions,
            "can_manage": role_can(membership.role, Action.CUSTOMERS_MANAGE), "tenant_slug": membership.tenant.slug}
