"""Under /api/v1/: tenant endpoints under t/<tenant_slug>/, on TenantScopedViewSet."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("webhooks", api.WebhookEndpointViewSet, basename="api-webhooks")
router.register("webhook-deliveries", api.WebhookDeliveryViewSet, basename="api-webhook-deliveries")

urlpatterns = [path("t/<slug:tenant_slug>/", include(router.urls))]
