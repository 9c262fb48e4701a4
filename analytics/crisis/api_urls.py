"""Under /api/v1/: t/<tenant_slug>/crisis-alerts (with or without the trailing slash)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(trailing_slash="/?")
router.register("crisis-alerts", api.CrisisAlertViewSet, basename="api-crisis-alerts")

urlpatterns = [path("t/<slug:tenant_slug>/", include(router.urls))]
