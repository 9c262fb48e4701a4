"""Tenant API: thin viewsets over tenancy.actions, all built on TenantScopedViewSet."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from social_crm.tenancy import actions
from social_crm.tenancy.models import (ApiToken, AuditEvent, Department, DepartmentHead, Invitation, Membership,
                                       Notification)
from social_crm.tenancy.permissions import Action
from social_crm.tenancy.scope import user_context

from . import filters
from .base import TenantScopedViewSet
from .serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenSerializer,
    AuditEventSerializer,
    DepartmentSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    MembershipRoleSerializer,
    MembershipSerializer,
    MeSerializer,
    NotificationSerializer,
)


@extend_schema(responses=MeSerializer)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def me(request):
    """The caller and the tenants they may use (only the token's tenant for a token)."""
    with user_context(request.user.pk):
        memberships = Membership.objects.filter(user_id=request.user.pk, tenant__is_active=True).select_related("tenant")
        if isinstance(request.auth, ApiToken):
            memberships = memberships.filter(tenant_id=request.auth.tenant_id)
        tenants = [{"slug": m.tenant.slug, "name": m.tenant.name, "role": m.role} for m in memberships.order_by("tenant__name")]
    return Response(MeSerializer({"user": request.user, "tenants": tenants}).data)


class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantScopedViewSet):
    serializer_class = MembershipSerializer
    ordering = "-created_at"
    action_permissions = {
        "list": Action.MEMBERS_VIEW, "retrieve": Action.MEMBERS_VIEW,
        "destroy": Action.MEMBERS_MANAGE, "set_role": Action.MEMBERS_MANAGE,
    }

    def scoped_queryset(self):
        return Membership.objects.select_related("user").prefetch_related(
            Prefetch("departmenthead_set", queryset=DepartmentHead.objects.filter(tenant_id=self.tenant.pk))
        )

    def perform_destroy(self, instance):
        actions.membership_remove(self.tenant.pk, actor=self.request.user, membership_id=instance.pk)

    @extend_schema(request=MembershipRoleSerializer, responses=MembershipSerializer)
    @action(detail=True, methods=["post"], url_path="role")
    def set_role(self, request, tenant_slug=None, pk=None):
        membership = self.get_object()
        serializer = MembershipRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actions.membership_change_role(self.tenant.pk, actor=request.user, membership_id=membership.pk,
                                       role=serializer.validated_data["role"])
        return Response(MembershipSerializer(self.get_queryset().get(pk=membership.pk)).data)


class DepartmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        mixins.UpdateModelMixin, mixins.DestroyModelMixin, TenantScopedViewSet):
    serializer_class = DepartmentSerializer
    ordering = "name"
    action_permissions = {
        "list": Action.DEPARTMENTS_VIEW, "retrieve": Action.DEPARTMENTS_VIEW,
        "create": Action.DEPARTMENTS_MANAGE, "update": Action.DEPARTMENTS_MANAGE,
        "partial_update": Action.DEPARTMENTS_MANAGE, "destroy": Action.DEPARTMENTS_MANAGE,
    }

    def scoped_queryset(self):
        return Department.objects.prefetch_related(
            Prefetch("heads", queryset=Membership.objects.filter(tenant_id=self.tenant.pk))
        )

    def _save(self, serializer, department_id=None):
        data = serializer.validated_data
        instance = serializer.instance
        department = actions.department_save(
            self.tenant.pk, actor=self.request.user, department_id=department_id,
            name=data.get("name", getattr(instance, "name", "")), slug=data.get("slug", getattr(instance, "slug", "")),
            description=data.get("description", getattr(instance, "description", "")),
            email=data.get("email", getattr(instance, "email", "")),
            head_ids=[m.pk for m in data["heads"]] if "heads" in data
            else list(instance.heads.values_list("pk", flat=True)) if instance else [],
        )
        serializer.instance = self.get_queryset().get(pk=department.pk)

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer, department_id=serializer.instance.pk)

    def perform_destroy(self, instance):
        actions.department_delete(self.tenant.pk, actor=self.request.user, department_id=instance.pk)


class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    serializer_class = InvitationSerializer
    ordering = "-created_at"
    action_permissions = {
        "list": Action.MEMBERS_MANAGE, "retrieve": Action.MEMBERS_MANAGE,
        "create": Action.MEMBERS_MANAGE, "revoke": Action.MEMBERS_MANAGE,
    }
    model = Invitation

    @extend_schema(request=InvitationCreateSerializer, responses={201: InvitationSerializer})
    def create(self, request, tenant_slug=None):
        serializer = InvitationCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        invitation, _raw = actions.invitation_create(
            self.tenant.pk, actor=request.user, email=data["email"], role=data["role"],
            department_ids=[d.pk for d in data.get("departments", [])],
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, tenant_slug=None, pk=None):
        invitation = self.get_object()
        invitation = actions.invitation_revoke(self.tenant.pk, actor=request.user, invitation_id=invitation.pk)
        return Response(InvitationSerializer(invitation).data)


class AuditEventViewSet(filters.FilteredListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        TenantScopedViewSet):
    serializer_class = AuditEventSerializer
    ordering = "-created_at"
    action_permissions = {"list": Action.AUDIT_VIEW, "retrieve": Action.AUDIT_VIEW}
    model = AuditEvent
    list_filters = [
        filters.QueryFilter("action", "action", description='Only this action, e.g. "department.save".'),
        filters.QueryFilter("actor", "actor_id", int, nullable=True,
                            description="Only this user's actions (none: the system's)."),
        filters.QueryFilter("target_type", "target_type",
                            description='Only actions on this kind of object, e.g. "department".'),
    ]


class NotificationViewSet(filters.FilteredListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          TenantScopedViewSet):
    """The caller's own notifications in this tenant (the bell in the navigation bar)."""

    serializer_class = NotificationSerializer
    ordering = "-created_at"
    action_permissions = {"list": Action.TENANT_VIEW, "retrieve": Action.TENANT_VIEW}
    list_filters = [
        filters.QueryFilter("unread", "read_at__isnull", bool, description="true: only unread; false: only read ones."),
        filters.QueryFilter("kind", "kind", description='Only this kind, e.g. "channel.broken".'),
    ]

    def scoped_queryset(self):
        return self.filter_list(Notification.objects.filter(user_id=self.request.user.pk))


class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """The caller's own tokens in this tenant."""

    serializer_class = ApiTokenSerializer
    ordering = "-created_at"
    action_permissions = {
        "list": Action.API_TOKENS_OWN, "retrieve": Action.API_TOKENS_OWN,
        "create": Action.API_TOKENS_OWN, "revoke": Action.API_TOKENS_OWN,
    }

    def scoped_queryset(self):
        return ApiToken.objects.filter(user_id=self.request.user.pk)

    @extend_schema(request=ApiTokenSerializer, responses={201: ApiTokenCreatedSerializer})
    def create(self, request, tenant_slug=None):
        serializer = ApiTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = actions.api_token_create(self.tenant.pk, user=request.user, name=serializer.validated_data["name"])
        token.key = raw
        return Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiTokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, tenant_slug=None, pk=None):
        token = self.get_object()
        token = actions.api_token_revoke(self.tenant.pk, user=request.user, token_id=token.pk)
        return Response(ApiTokenSerializer(token).data)
