"""Under /api/v1/: tenant endpoints under t/<tenant_slug>/, on TenantScopedViewSet."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("customers", api.CustomerViewSet, basename="api-customers")
router.register("identities", api.IdentityViewSet, basename="api-identities")
router.register("link-suggestions", api.LinkSuggestionViewSet, basename="api-link-suggestions")
router.register("merge-records", api.MergeRecordViewSet, basename="api-merge-records")
router.register("gdpr", api.GdprViewSet, basename="api-gdpr")

urlpatterns = [path("t/<slug:tenant_slug>/", include(router.urls))]
