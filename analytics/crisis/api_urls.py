"""Under /api/v1/: t/<tenant_slug>/crisis-alerts and t/<tenant_slug>/report-deliveries (with or
without the trailing slash)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from analytics.api_reports import ReportDeliveryViewSet

from . import api

router = SimpleRouter()
router.trailing_slash = "/?"  # the contract writes the path without one; both answer
router.register("crisis-alerts", api.CrisisAlertViewSet, basename="api-crisis-alerts")
router.register("report-deliveries", ReportDeliveryViewSet, basename="api-report-deliveries")

urlpatterns = [path("t/<slug:tenant_slug>/", include(router.urls))]
