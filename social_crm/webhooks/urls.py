"""Under /t/<tenant_slug>/: every view is a TenantView."""

from django.urls import path

from . import views

urlpatterns = [
    path("webhooks/", views.EndpointListView.as_view(), name="webhooks"),
    path("webhooks/new/", views.EndpointEditView.as_view(), name="webhook-new"),
    path("webhooks/deliveries/", views.DeliveryListView.as_view(), name="webhook-deliveries"),
    path("webhooks/deliveries/<int:delivery_id>/", views.DeliveryDetailView.as_view(), name="webhook-delivery"),
    path("webhooks/deliveries/<int:delivery_id>/replay/", views.DeliveryReplayView.as_view(),
         name="webhook-delivery-replay"),
    path("webhooks/<int:endpoint_id>/", views.EndpointDetailView.as_view(), name="webhook-detail"),
    path("webhooks/<int:endpoint_id>/edit/", views.EndpointEditView.as_view(), name="webhook-edit"),
    path("webhooks/<int:endpoint_id>/delete/", views.EndpointDeleteView.as_view(), name="webhook-delete"),
    path("webhooks/<int:endpoint_id>/rotate-secret/", views.EndpointRotateView.as_view(), name="webhook-rotate"),
    path("webhooks/<int:endpoint_id>/ping/", views.EndpointPingView.as_view(), name="webhook-ping"),
]
