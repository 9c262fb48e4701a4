"""Under /t/<tenant_slug>/: every view is a TenantView."""

from django.urls import path

from . import views

urlpatterns = [
    path("crisis/", views.AlertListView.as_view(), name="crisis-alerts"),
    path("crisis/settings/", views.CrisisSettingsView.as_view(), name="crisis-settings"),
    path("crisis/<int:alert_id>/", views.AlertDetailView.as_view(), name="crisis-alert"),
    path("crisis/<int:alert_id>/acknowledge/", views.AlertAcknowledgeView.as_view(), name="crisis-alert-acknowledge"),
    path("crisis/<int:alert_id>/close/", views.AlertCloseView.as_view(), name="crisis-alert-close"),
]
