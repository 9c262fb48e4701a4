"""Under /t/<tenant_slug>/: the dashboard page (a TenantView)."""

from django.urls import path

from . import views

urlpatterns = [
    path("analytics/", views.DashboardView.as_view(), name="analytics-dashboard"),
]
