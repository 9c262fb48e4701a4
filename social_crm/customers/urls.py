"""Under /t/<tenant_slug>/: every view is a TenantView."""

urlpatterns: list = []
