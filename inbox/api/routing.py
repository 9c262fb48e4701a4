"""API: routing rules (CRUD, dry run, reorder), department alerts (list, retrieve and the heads'
actions) and SLA policies (CRUD): thin viewsets over inbox/routing.py, inbox/alerts.py and
inbox/sla.py.

Rules and SLA policies need ROUTING_MANAGE; alerts ALERTS_ACT, and a department head sees only
the alerts of departments they head (another one's is a 404, as a missing one). An action's
ValidationError is a 400 with field errors, e.g. ``{"actions": ["#1: Unknown departments: 12"]}``
for a department of another tenant."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from listening.api.serializers import PreviewMentionSerializer
from social_crm.tenancy.api import filters
from social_crm.tenancy.api.base import TenantScopedViewSet
from social_crm.tenancy.permissions import Action

from .. import alerts, routing, routing_rules, sla
from ..models import Alert, AlertComment, AlertStatus, RoutingRule, SlaPolicy

_MANAGE, _ACT = Action.ROUTING_MANAGE, Action.ALERTS_ACT
_CRUD = {"list": _MANAGE, "retrieve": _MANAGE, "create": _MANAGE, "update": _MANAGE, "partial_update": _MANAGE,
         "destroy": _MANAGE}
_RULE_HELP = "The rule language is documented in inbox/routing.py (conditions AND-ed; actions in order)."


class RoutingRuleSerializer(serializers.ModelSerializer):
    conditions = serializers.JSONField(help_text=_RULE_HELP)
    actions = serializers.JSONField(help_text=_RULE_HELP)

    class Meta:
        model = RoutingRule
        fields = ["id", "name", "position", "is_active", "stop_processing", "conditions", "actions", "created_at",
                  "updated_at"]
        read_only_fields = ["id", "position", "created_at", "updated_at"]
        validators = []


class DryRunSerializer(serializers.Serializer):
    conditions = serializers.JSONField(help_text=_RULE_HELP)
    actions = serializers.JSONField(help_text=_RULE_HELP)
    last_n = serializers.ChoiceField(choices=routing.DRY_RUN_SIZES, required=False, default=200)


class DryRunHitSerializer(serializers.Serializer):
    mention = PreviewMentionSerializer()  # the same short mention as the topic preview
    actions = serializers.ListField(child=serializers.CharField())
    held = serializers.BooleanField(help_text="A negative held for review: nothing would be done.")


class DryRunResultSerializer(serializers.Serializer):
    scanned = serializers.IntegerField()
    matched = DryRunHitSerializer(many=True)


class ReorderSerializer(serializers.Serializer):
    rule_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=1000)


class _ActionCrud(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  mixins.UpdateModelMixin, mixins.DestroyModelMixin, TenantScopedViewSet):
    """CRUD whose writes are one action each: ``save_action(tenant_id, *, actor, <id_kwarg>,
    **fields)`` and ``delete_action(tenant_id, *, actor, <id_kwarg>)``. A partial update sends
    the stored value of every field it does not name."""

    action_permissions = _CRUD
    save_action = delete_action = None
    id_kwarg = ""
    defaults: dict = {}  # field -> default when creating without it

    def _save(self, serializer, object_id=None):
        data, instance = serializer.validated_data, serializer.instance
        fields = {name: data[name] if name in data else getattr(instance, name, default)
                  for name, default in self.defaults.items()}
        serializer.instance = self.save_action(self.tenant.pk, actor=self.request.user,
                                               **{self.id_kwarg: object_id}, **fields)

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance.pk)

    def perform_destroy(self, instance):
        self.delete_action(self.tenant.pk, actor=self.request.user, **{self.id_kwarg: instance.pk})


class RoutingRuleViewSet(filters.FilteredListMixin, _ActionCrud):
    serializer_class = RoutingRuleSerializer
    model = RoutingRule
    action_permissions = {**_CRUD, "dry_run": _MANAGE, "reorder": _MANAGE}
    save_action, delete_action = staticmethod(routing_rules.rule_save), staticmethod(routing_rules.rule_delete)
    id_kwarg = "rule_id"
    defaults = {"name": "", "conditions": [], "actions": [], "stop_processing": True, "is_active": True}
    list_filters = [filters.QueryFilter("is_active", "is_active", bool, description="Only active (true) or inactive rules.")]

    def scoped_queryset(self):
        return self.filter_list(RoutingRule.objects.order_by("position", "id"))

    @extend_schema(request=DryRunSerializer, responses=DryRunResultSerializer)
    @action(detail=False, methods=["post"], url_path="dry-run")
    def dry_run(self, request, tenant_slug=None):
        """What the rule would have done to the last ``last_n`` mentions; nothing is written."""
        serializer = DryRunSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        hits, scanned = routing.dry_run(self.tenant.pk, {"conditions": data["conditions"], "actions": data["actions"]},
                                        last_n=int(data["last_n"]))
        return Response(DryRunResultSerializer({"scanned": scanned, "matched": [
            {"mention": h.mention, "actions": h.actions, "held": h.held} for h in hits]}).data)

    @extend_schema(request=ReorderSerializer, responses=RoutingRuleSerializer(many=True))
    @action(detail=False, methods=["post"])
    def reorder(self, request, tenant_slug=None):
        """Put every rule of the tenant in this order (first runs first)."""
        serializer = ReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rules = routing_rules.rules_reorder(self.tenant.pk, actor=request.user,
                                            rule_ids=serializer.validated_data["rule_ids"])
        return Response(RoutingRuleSerializer(rules, many=True).data)


class AlertCommentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author_user", read_only=True, default=None)

    class Meta:
        model = AlertComment
        fields = ["id", "author", "body", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class AlertSerializer(serializers.ModelSerializer):
    conversation_number = serializers.IntegerField(source="conversation.number", read_only=True)
    department_name = serializers.CharField(source="department.name", read_only=True)
    comments = AlertCommentSerializer(many=True, read_only=True)

    class Meta:
        model = Alert
        fields = ["id", "conversation", "conversation_number", "department", "department_name", "rule", "status",
                  "escalation_level", "escalate_at", "acknowledged_by", "acknowledged_at", "created_at", "updated_at",
                  "comments"]
        read_only_fields = fields


class CommentBodySerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


class AlertViewSet(filters.FilteredListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    serializer_class = AlertSerializer
    model = Alert
    action_permissions = {"list": _ACT, "retrieve": _ACT, "acknowledge": _ACT, "comment": _ACT, "hand_back": _ACT,
                          "escalate": _ACT, "resolve": _ACT}
    list_filters = [
        filters.QueryFilter("status", "status", choices=tuple(AlertStatus.values), description="Only alerts in this status."),
        filters.QueryFilter("department", "department_id", int, description="Only alerts of this department."),
        filters.QueryFilter("conversation", "conversation_id", int, description="Only alerts of this conversation."),
    ]

    def scoped_queryset(self):
        return self.filter_list(
            alerts.visible_alerts(self.tenant.pk, self.membership).select_related("conversation", "department")
            .prefetch_related("comments__author_user").order_by("-created_at", "-id"))

    def _act(self, fn, **extra):
        alert = self.get_object()  # 404 (scoped, and the head's departments) before any write
        fn(self.tenant.pk, actor=self.request.user, membership=self.membership, alert_id=alert.pk, **extra)
        return Response(AlertSerializer(self.get_queryset().get(pk=alert.pk)).data)

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, tenant_slug=None, pk=None):
        return self._act(alerts.alert_acknowledge)

    @extend_schema(request=CommentBodySerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def comment(self, request, tenant_slug=None, pk=None):
        serializer = CommentBodySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._act(alerts.alert_comment, body=serializer.validated_data["body"])

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"], url_path="hand-back")
    def hand_back(self, request, tenant_slug=None, pk=None):
        return self._act(alerts.alert_hand_back)

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def escalate(self, request, tenant_slug=None, pk=None):
        return self._act(alerts.alert_escalate)

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, tenant_slug=None, pk=None):
        return self._act(alerts.alert_resolve)


class SlaPolicySerializer(serializers.ModelSerializer):
    business_hours = serializers.JSONField(help_text='{"mon": [["09:00", "18:00"]], ..., "sun": []}')
    holidays = serializers.ListField(child=serializers.CharField(max_length=10), required=False, max_length=400,
                                     help_text="Dates YYYY-MM-DD, in the policy's time zone.")

    class Meta:
        model = SlaPolicy
        fields = ["id", "name", "priority", "is_default", "first_response_minutes", "resolution_minutes", "time_zone",
                  "business_hours", "holidays", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []


class SlaPolicyViewSet(_ActionCrud):
    serializer_class = SlaPolicySerializer
    model = SlaPolicy
    save_action, delete_action = staticmethod(sla.sla_policy_save), staticmethod(sla.sla_policy_delete)
    id_kwarg = "policy_id"
    defaults = {"name": "", "first_response_minutes": 0, "resolution_minutes": 0, "time_zone": "Europe/Paris",
                "business_hours": {}, "holidays": [], "priority": "", "is_default": False}

    def scoped_queryset(self):
        return SlaPolicy.objects.order_by("name")


def register(router) -> None:
    """Register this module's viewsets on a tenant router (inbox/api/urls.py)."""
    router.register("routing-rules", RoutingRuleViewSet, basename="api-routing-rules")
    router.register("alerts", AlertViewSet, basename="api-alerts")
    router.register("sla-policies", SlaPolicyViewSet, basename="api-sla-policies")
