"""Under /t/<tenant_slug>/: the dashboard page (a TenantView)."""

from django.urls import path

from . import views

urlpatterns = [
    path("analytics/", views.DashboardView.as_view(), name="analytics-dashboard"),
    path("analytics/export.pdf", views.DashboardPdfView.as_view(), name="analytics-export-pdf"),
    path("analytics/reports/", views.ReportsView.as_view(), name="analytics-reports"),
]
