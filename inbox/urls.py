"""Under /t/<tenant_slug>/: every view is a TenantView."""

from django.urls import include, path

urlpatterns: list = [
    path("", include("inbox.urls_routing")),
]
