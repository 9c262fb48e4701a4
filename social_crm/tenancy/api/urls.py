from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("members", views.MembershipViewSet, basename="api-members")
router.register("departments", views.DepartmentViewSet, basename="api-departments")
router.register("invitations", views.InvitationViewSet, basename="api-invitations")
router.register("audit-events", views.AuditEventViewSet, basename="api-audit-events")
router.register("notifications", views.NotificationViewSet, basename="api-notifications")
router.register("tokens", views.ApiTokenViewSet, basename="api-tokens")

urlpatterns = [
    path("me", views.me, name="api-me"),
    path("t/<slug:tenant_slug>/", include(router.urls)),
]
