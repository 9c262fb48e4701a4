"""Platform webhooks. Public routes by nature (the platform calls them); a delivery is trusted
only after its signature checks out, and is then handed to the tenant's queue."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from social_crm.core.db import APP_ALIAS, OWNER_ALIAS
from social_crm.tenancy.scope import dangerously_cross_tenant

from .models import ConnectedAccount, Platform

logger = logging.getLogger(__name__)


@csrf_exempt
@require_http_methods(["GET", "POST"])
@transaction.non_atomic_requests(using=APP_ALIAS)
@transaction.non_atomic_requests(using=OWNER_ALIAS)
def facebook(request):
    from .connectors.facebook.webhook import WebhookRejected, check_signature, verify_challenge
    from .tasks import ingest_webhook

    if request.method == "GET":  # Meta's subscription handshake
        try:
            return HttpResponse(verify_challenge(request.GET, settings.FACEBOOK_VERIFY_TOKEN), content_type="text/plain")
        except WebhookRejected as exc:
            logger.warning("facebook webhook verification refused: %s", exc)
            return HttpResponseForbidden("verification refused")
    try:
        check_signature(request.body, request.headers.get("X-Hub-Signature-256"), settings.FACEBOOK_APP_SECRET)
    except WebhookRejected as exc:
        logger.warning("facebook webhook delivery rejected (%s) from %s", exc, request.META.get("REMOTE_ADDR"))
        return HttpResponseForbidden("bad signature")
    try:
        payload = json.loads(request.body)
        page_ids = {str(entry["id"]) for entry in payload.get("entry", [])}
    except (ValueError, TypeError, KeyError, AttributeError):
        logger.warning("facebook webhook: signed but unparsable body")
        return HttpResponseBadRequest("unparsable body")
    with dangerously_cross_tenant("facebook webhook: route a Page id to the tenants that connected it"):
        targets = list(ConnectedAccount.objects.filter(platform=Platform.FACEBOOK, external_id__in=page_ids, is_active=True)
                       .values_list("tenant_id", "pk"))
    for tenant_id, account_id in targets:
        ingest_webhook.apply_async((tenant_id, account_id, Platform.FACEBOOK.value, payload), queue="ingest")
    return HttpResponse("ok", content_type="text/plain")
