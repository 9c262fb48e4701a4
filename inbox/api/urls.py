"""Under /api/v1/: tenant endpoints under t/<tenant_slug>/, on TenantScopedViewSet."""

urlpatterns: list = []
