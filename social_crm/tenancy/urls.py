"""Every route here is under /t/<tenant_slug>/ and every view is a TenantView."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.TenantHomeView.as_view(), name="tenant-home"),
    path("members/", views.MemberListView.as_view(), name="members"),
    path("members/invite/", views.InviteView.as_view(), name="member-invite"),
    path("members/<int:membership_id>/role/", views.MemberRoleView.as_view(), name="member-role"),
    path("members/<int:membership_id>/remove/", views.MemberRemoveView.as_view(), name="member-remove"),
    path("invitations/<int:invitation_id>/revoke/", views.InvitationRevokeView.as_view(), name="invitation-revoke"),
    path("departments/", views.DepartmentListView.as_view(), name="departments"),
    path("departments/new/", views.DepartmentEditView.as_view(), name="department-new"),
    path("departments/<int:department_id>/", views.DepartmentEditView.as_view(), name="department-edit"),
    path("departments/<int:department_id>/delete/", views.DepartmentDeleteView.as_view(), name="department-delete"),
    path("settings/", views.SettingsView.as_view(), name="settings"),
    path("audit/", views.AuditLogView.as_view(), name="audit-log"),
    path("tokens/", views.ApiTokenView.as_view(), name="api-tokens"),
    path("tokens/<int:token_id>/revoke/", views.ApiTokenRevokeView.as_view(), name="api-token-revoke"),
]
