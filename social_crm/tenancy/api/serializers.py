"""Serializers validate and present; writes go through tenancy.actions."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from social_crm.tenancy.models import ApiToken, AuditEvent, Department, Invitation, Membership, Notification
from social_crm.tenancy.permissions import Role

User = get_user_model()


class TenantScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """Accepts only ids of the request's tenant: another tenant's id is 'does not exist' (400)."""

    def __init__(self, **kwargs):
        self.scope = kwargs.pop("scope", None)
        super().__init__(**kwargs)

    def get_queryset(self):
        tenant = self.context["tenant"]
        queryset = self.queryset.filter(tenant_id=tenant.pk)
        return self.scope(queryset) if self.scope else queryset


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "language"]


class MembershipSerializer(serializers.ModelSerializer):
    user = UserSerializer(read_only=True)
    departments = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "departments", "created_at"]
        read_only_fields = ["id", "user", "departments", "created_at"]

    def get_departments(self, obj) -> list[int]:
        return sorted(h.department_id for h in obj.departmenthead_set.all())


class MembershipRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class DepartmentSerializer(serializers.ModelSerializer):
    heads = TenantScopedPrimaryKeyRelatedField(
        many=True, required=False, queryset=Membership.objects.all(),
        scope=lambda qs: qs.filter(role=Role.DEPARTMENT_HEAD),
        help_text="Membership ids of department heads of this tenant.",
    )

    class Meta:
        model = Department
        fields = ["id", "name", "slug", "description", "email", "heads", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []  # uniqueness per tenant is checked by the action (400 with a field error)


class InvitationSerializer(serializers.ModelSerializer):
    departments = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "departments", "status", "created_at", "expires_at"]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)
    departments = TenantScopedPrimaryKeyRelatedField(many=True, required=False, queryset=Department.objects.all())

    def validate(self, data):
        if data["role"] == Role.DEPARTMENT_HEAD and not data.get("departments"):
            raise serializers.ValidationError({"departments": "Choose at least one department for a department head."})
        return data


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor_label", "action", "target_type", "target_id", "target_label", "data"]


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "created_at", "read_at"]
        read_only_fields = fields


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]


class TenantSummarySerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField()


class MeSerializer(serializers.Serializer):
    user = UserSerializer()
    tenants = TenantSummarySerializer(many=True)
