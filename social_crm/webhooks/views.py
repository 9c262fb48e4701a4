"""Outgoing webhook pages for tenant admins: endpoints, the delivery log, replay. Thin views over
social_crm.webhooks.actions, all on TenantView."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from social_crm.tenancy.base import TenantView
from social_crm.tenancy.permissions import Action
from social_crm.tenancy.views import apply_errors

from . import actions
from .forms import DeliveryFilterForm, EndpointForm
from .models import WebhookDelivery, WebhookEndpoint
from .selectors import filter_deliveries

PAGE_SIZE = 50


def _secret_key(tenant_id: int) -> str:
    return f"new_webhook_secret:{tenant_id}"


class _WebhookView(TenantView):
    required_action = Action.WEBHOOKS_MANAGE

    def remember_secret(self, endpoint, raw: str) -> None:
        # Shown once, on the next page (post/redirect/get), then gone from the session.
        self.request.session[_secret_key(self.tenant.pk)] = {"endpoint": endpoint.pk, "secret": raw}

    def pop_secret(self):
        return self.request.session.pop(_secret_key(self.tenant.pk), None)

    def deliveries_page(self, deliveries):
        """Newest first, keyset pagination on id (``?before=``); returns (rows, older cursor)."""
        before = self.request.GET.get("before", "")
        if before.isdigit():
            deliveries = deliveries.filter(pk__lt=int(before))
        rows = list(deliveries.select_related("event", "endpoint").order_by("-id")[:PAGE_SIZE])
        return rows, rows[-1].pk if len(rows) == PAGE_SIZE else None


class EndpointListView(_WebhookView):
    template_name = "webhooks/endpoints.html"
    model = WebhookEndpoint

    def get(self, request):
        return self.render(endpoints=self.get_queryset(), new_secret=self.pop_secret())


class EndpointEditView(_WebhookView):
    template_name = "webhooks/endpoint_form.html"

    def get(self, request, endpoint_id: int | None = None):
        endpoint = actions.access_endpoint(self.tenant.pk, endpoint_id) if endpoint_id else None
        initial = {"is_active": True, "events": []}
        if endpoint:
            initial = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events,
                       "is_active": endpoint.is_active}
        return self.render(form=EndpointForm(initial=initial), endpoint=endpoint)

    def post(self, request, endpoint_id: int | None = None):
        endpoint = actions.access_endpoint(self.tenant.pk, endpoint_id) if endpoint_id else None
        form = EndpointForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if endpoint is None:
                    endpoint, raw = actions.endpoint_create(
                        self.tenant.pk, actor=request.user, url=data["url"], events=data["events"],
                        description=data["description"], is_active=data["is_active"])
                    self.remember_secret(endpoint, raw)
                else:
                    actions.endpoint_update(self.tenant.pk, actor=request.user, endpoint_id=endpoint.pk,
                                            url=data["url"], events=data["events"], description=data["description"],
                                            is_active=data["is_active"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Webhook endpoint saved."))
                return redirect("webhook-detail", tenant_slug=self.tenant.slug, endpoint_id=endpoint.pk)
        return self.render(status=400, form=form, endpoint=endpoint)


class EndpointDetailView(_WebhookView):
    template_name = "webhooks/endpoint_detail.html"

    def get(self, request, endpoint_id: int):
        endpoint = actions.access_endpoint(self.tenant.pk, endpoint_id)
        deliveries, older = self.deliveries_page(WebhookDelivery.objects.filter(tenant_id=self.tenant.pk,
                                                                                endpoint=endpoint))
        return self.render(endpoint=endpoint, deliveries=deliveries, older=older, new_secret=self.pop_secret())


class EndpointDeleteView(_WebhookView):
    def post(self, request, endpoint_id: int):
        actions.endpoint_delete(self.tenant.pk, actor=request.user, endpoint_id=endpoint_id)
        messages.success(request, _("Webhook endpoint deleted."))
        return redirect("webhooks", tenant_slug=self.tenant.slug)


class EndpointRotateView(_WebhookView):
    def post(self, request, endpoint_id: int):
        endpoint, raw = actions.endpoint_rotate_secret(self.tenant.pk, actor=request.user, endpoint_id=endpoint_id)
        self.remember_secret(endpoint, raw)
        return redirect("webhook-detail", tenant_slug=self.tenant.slug, endpoint_id=endpoint.pk)


class EndpointPingView(_WebhookView):
    def post(self, request, endpoint_id: int):
        actions.endpoint_ping(self.tenant.pk, actor=request.user, endpoint_id=endpoint_id)
        messages.success(request, _("Test event sent: its delivery appears below in a few seconds."))
        return redirect("webhook-detail", tenant_slug=self.tenant.slug, endpoint_id=endpoint_id)


class DeliveryListView(_WebhookView):
    template_name = "webhooks/deliveries.html"
    model = WebhookDelivery

    def get(self, request):
        form = DeliveryFilterForm(request.GET or None)
        deliveries = self.get_queryset()
        if form.is_valid():
            deliveries = filter_deliveries(deliveries, status=form.cleaned_data["status"],
                                           type=form.cleaned_data["type"])
        rows, older = self.deliveries_page(deliveries)
        return self.render(form=form, deliveries=rows, older=older)


class DeliveryDetailView(_WebhookView):
    template_name = "webhooks/delivery.html"

    def get(self, request, delivery_id: int):
        delivery = actions.access_delivery(self.tenant.pk, delivery_id)
        body = json.dumps(delivery.event.data, indent=2, ensure_ascii=False, sort_keys=True)
        return self.render(delivery=delivery, payload=body)


class DeliveryReplayView(_WebhookView):
    def post(self, request, delivery_id: int):
        try:
            replay = actions.delivery_replay(self.tenant.pk, actor=request.user, delivery_id=delivery_id)
        except ValidationError:
            messages.error(request, _("This delivery is still in progress: wait for its outcome before replaying it."))
            return redirect("webhook-delivery", tenant_slug=self.tenant.slug, delivery_id=delivery_id)
        messages.success(request, _("Replay queued, with the same event id."))
        return redirect("webhook-delivery", tenant_slug=self.tenant.slug, delivery_id=replay.pk)
