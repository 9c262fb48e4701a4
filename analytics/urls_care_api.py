"""Care metrics under /api/v1/t/<tenant_slug>/analytics/care (the paths of the analytics contract,
without a trailing slash)."""

from django.urls import path

from .api_care import CareMetricsViewSet

urlpatterns = [
    path("t/<slug:tenant_slug>/analytics/care", CareMetricsViewSet.as_view({"get": "summary"}),
         name="api-analytics-care"),
    path("t/<slug:tenant_slug>/analytics/care/by_department", CareMetricsViewSet.as_view({"get": "by_department"}),
         name="api-analytics-care-by-department"),
    path("t/<slug:tenant_slug>/analytics/care/by_agent", CareMetricsViewSet.as_view({"get": "by_agent"}),
         name="api-analytics-care-by-agent"),
]
