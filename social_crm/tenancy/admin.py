from django.contrib import admin

from .models import ApiToken, AuditEvent, Department, Invitation, Membership, Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "default_language", "is_active", "created_at"]
    list_filter = ["is_active", "default_language"]
    search_fields = ["name", "slug"]


class TenantOwnedAdmin(admin.ModelAdmin):
    list_filter = ["tenant"]
    readonly_fields = ["tenant"]

    def has_add_permission(self, request):
        return False  # rows are created through the tenant UI, API or commands (actions + audit)


@admin.register(Membership)
class MembershipAdmin(TenantOwnedAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    search_fields = ["user__email"]


@admin.register(Department)
class DepartmentAdmin(TenantOwnedAdmin):
    list_display = ["name", "slug", "tenant"]


@admin.register(Invitation)
class InvitationAdmin(TenantOwnedAdmin):
    list_display = ["email", "tenant", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    exclude = ["token_hash"]


@admin.register(ApiToken)
class ApiTokenAdmin(TenantOwnedAdmin):
    list_display = ["name", "prefix", "user", "tenant", "created_at", "last_used_at", "revoked_at"]
    exclude = ["key_hash"]


@admin.register(AuditEvent)
class AuditEventAdmin(TenantOwnedAdmin):
    list_display = ["created_at", "tenant", "actor_label", "action", "target_label"]

    def has_change_permission(self, request, obj=None):
        return False
