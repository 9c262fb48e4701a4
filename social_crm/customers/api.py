"""Customers API: thin viewsets over social_crm.customers.actions / linking / csv_io.

Reading needs CUSTOMERS_VIEW; every write, the CSV import and the export CUSTOMERS_MANAGE. An
action's ValidationError is a 400 with field errors (social_crm.tenancy.api.errors): e.g.
another tenant's customer id in "customer", "merged" or "merge_record"."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from listening.api.serializers import source_platform_field
from social_crm.tenancy.api import filters
from social_crm.tenancy.api.base import TenantScopedViewSet
from social_crm.tenancy.permissions import Action

from . import actions, csv_io, gdpr
from .models import Customer, LinkSuggestion, MergeRecord, SocialIdentity, SuggestionStatus, Tier

_VIEW, _MANAGE = Action.CUSTOMERS_VIEW, Action.CUSTOMERS_MANAGE
_CRUD = {"list": _VIEW, "retrieve": _VIEW, "create": _MANAGE, "update": _MANAGE, "partial_update": _MANAGE,
         "destroy": _MANAGE}


class CustomerSerializer(serializers.ModelSerializer):
    emails = serializers.ListField(child=serializers.CharField(max_length=254), required=False, max_length=50)
    phones = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=50,
                                   help_text="Normalised to E.164; a national number starting with 0 is read as French.")
    handles = serializers.ListField(child=serializers.CharField(max_length=500), required=False, max_length=50,
                                    help_text="Handles (@name) and profile URLs known from the CRM.")
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    is_vip = serializers.BooleanField(read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "name", "emails", "phones", "handles", "external_crm_id", "tier", "is_vip", "notes",
                  "consent_marketing", "consent_contact", "consent_at", "merged_into", "created_at", "updated_at"]
        read_only_fields = ["id", "merged_into", "created_at", "updated_at"]
        validators = []


class IdentitySerializer(serializers.ModelSerializer):
    # Not a URLField: an identity seen without a profile link has "" (the schema said format uri).
    profile_url = serializers.CharField(read_only=True, help_text="The profile's address, or empty when unknown.")
    platform = source_platform_field()

    class Meta:
        model = SocialIdentity
        fields = ["id", "platform", "platform_user_id", "handle", "name", "profile_url", "author", "customer",
                  "linked_at", "created_at"]
        read_only_fields = fields


class SuggestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = LinkSuggestion
        fields = ["id", "identity", "customer", "confidence", "evidence", "status", "decided_at", "created_at"]
        read_only_fields = fields


class MergeRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = MergeRecord
        fields = ["id", "survivor", "merged", "created_at", "undone_at"]
        read_only_fields = fields


class MergeRequestSerializer(serializers.Serializer):
    merged = serializers.IntegerField(min_value=1, help_text="The customer merged into this one (the survivor).")


class UndoMergeRequestSerializer(serializers.Serializer):
    merge_record = serializers.IntegerField(min_value=1)


class LinkRequestSerializer(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="The CSV file (multipart).")
    csv = serializers.CharField(required=False, help_text="Or the CSV text itself (JSON).")


class ImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.ListField(child=serializers.DictField())


def _id(serializer_class, request, field: str) -> int:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data[field]


class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      mixins.UpdateModelMixin, mixins.DestroyModelMixin, TenantScopedViewSet):
    """Customers; the list shows live ones (``?merged=1`` adds the merged), ``?q=`` searches
    name, e-mail and external id."""

    serializer_class = CustomerSerializer
    model = Customer
    ordering = "name"
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_permissions = {**_CRUD, "merge": _MANAGE, "undo_merge": _MANAGE, "import_csv": _MANAGE,
                          "export_csv": _MANAGE, "gdpr_export": _MANAGE, "gdpr_erase": Action.SETTINGS_MANAGE}

    def scoped_queryset(self):
        queryset = Customer.objects.all()
        if self.action == "list":
            if self.request.query_params.get("merged") != "1":
                queryset = queryset.filter(merged_into__isnull=True)
            if q := self.request.query_params.get("q", "").strip():
                from .selectors import search

                queryset = search(queryset, q)
        return queryset

    def _save(self, serializer, customer_id=None):
        data, instance = serializer.validated_data, serializer.instance

        def value(name, default):
            return data[name] if name in data else getattr(instance, name, default)

        serializer.instance = actions.customer_save(
            self.tenant.pk, actor=self.request.user, customer_id=customer_id, name=value("name", ""),
            emails=value("emails", []), phones=value("phones", []), handles=value("handles", []),
            external_crm_id=value("external_crm_id", ""), tier=value("tier", Tier.STANDARD), notes=value("notes", ""),
            consent_marketing=value("consent_marketing", False), consent_contact=value("consent_contact", False),
            consent_at=data.get("consent_at"))

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance.pk)

    def perform_destroy(self, instance):
        actions.customer_delete(self.tenant.pk, actor=self.request.user, customer_id=instance.pk)

    @extend_schema(request=MergeRequestSerializer, responses=MergeRecordSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, tenant_slug=None, pk=None):
        """Merge the customer ``merged`` into this one (the survivor)."""
        survivor = self.get_object()
        record = actions.customer_merge(self.tenant.pk, actor=request.user, survivor_id=survivor.pk,
                                        merged_id=_id(MergeRequestSerializer, request, "merged"))
        return Response(MergeRecordSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UndoMergeRequestSerializer, responses=MergeRecordSerializer)
    @action(detail=False, methods=["post"], url_path="undo-merge")
    def undo_merge(self, request, tenant_slug=None):
        """Undo a merge exactly (refused when the survivor changed since)."""
        record = actions.customer_merge_undo(self.tenant.pk, actor=request.user,
                                             merge_id=_id(UndoMergeRequestSerializer, request, "merge_record"))
        return Response(MergeRecordSerializer(record).data)

    @extend_schema(request=ImportRequestSerializer, responses=ImportReportSerializer)
    @action(detail=False, methods=["post"], url_path="import")
    def import_csv(self, request, tenant_slug=None):
        """Import customers from CSV: a report with the rejected rows (row number and reason)."""
        upload = request.FILES.get("file")
        if upload is not None:
            data = upload.read(csv_io.MAX_IMPORT_BYTES + 1)
        elif isinstance(request.data.get("csv"), str):
            data = request.data["csv"].encode()
        else:
            raise serializers.ValidationError({"file": ["Send a CSV file (multipart \"file\") or its text (\"csv\")."]})
        report = csv_io.customers_import(self.tenant.pk, actor=request.user, data=data)
        return Response(report.as_dict())

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=False, methods=["get"], url_path="export")
    def export_csv(self, request, tenant_slug=None):
        """The live customers as CSV (streamed; the same columns as the import)."""
        response = StreamingHttpResponse(csv_io.customers_export(self.tenant.pk, actor=request.user),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="customers-{self.tenant.slug}.csv"'
        return response

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["get"], url_path="gdpr-export")
    def gdpr_export(self, request, tenant_slug=None, pk=None):
        """Everything held about this customer (GDPR access request), as JSON."""
        customer = self.get_object()
        return Response(gdpr.export_subject(self.tenant.pk, actor=request.user, customer_id=customer.pk))

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["post"], url_path="gdpr-erase")
    def gdpr_erase(self, request, tenant_slug=None, pk=None):
        """Erase this customer (GDPR): tenant admins only. Returns the counts."""
        customer = self.get_object()
        return Response(gdpr.erase_subject(self.tenant.pk, actor=request.user, customer_id=customer.pk))


@extend_schema(parameters=[
    OpenApiParameter("customer", int, description="Only identities linked to this customer."),
    OpenApiParameter("linked", str, enum=["0", "1"], description="0: only unlinked identities; 1: only linked ones."),
])
class IdentityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Social identities; ``?customer=<id>`` or ``?linked=0`` filter the list."""

    serializer_class = IdentitySerializer
    model = SocialIdentity
    ordering = "-id"
    action_permissions = {"list": _VIEW, "retrieve": _VIEW, "link": _MANAGE, "unlink": _MANAGE}

    def scoped_queryset(self):
        queryset = SocialIdentity.objects.all()
        params = self.request.query_params
        if self.action == "list" and params.get("customer", "").isdigit():
            queryset = queryset.filter(customer_id=int(params["customer"]))
        if self.action == "list" and params.get("linked") in ("0", "1"):
            queryset = queryset.filter(customer__isnull=params["linked"] == "0")
        return queryset

    @extend_schema(request=LinkRequestSerializer, responses=IdentitySerializer)
    @action(detail=True, methods=["post"])
    def link(self, request, tenant_slug=None, pk=None):
        identity = actions.identity_link(self.tenant.pk, actor=request.user, identity_id=self.get_object().pk,
                                         customer_id=_id(LinkRequestSerializer, request, "customer"))
        return Response(IdentitySerializer(identity).data)

    @extend_schema(request=None, responses=IdentitySerializer)
    @action(detail=True, methods=["post"])
    def unlink(self, request, tenant_slug=None, pk=None):
        identity = actions.identity_unlink(self.tenant.pk, actor=request.user, identity_id=self.get_object().pk)
        return Response(IdentitySerializer(identity).data)


@extend_schema(parameters=[
    OpenApiParameter("status", str, enum=SuggestionStatus.values, description="Default: pending."),
    OpenApiParameter("identity", int, description="Only suggestions for this identity."),
    OpenApiParameter("customer", int, description="Only suggestions of this customer."),
])
class LinkSuggestionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Link suggestions, strongest first; pending ones by default (``?status=`` any status,
    ``?identity=`` / ``?customer=`` narrow)."""

    serializer_class = SuggestionSerializer
    model = LinkSuggestion
    ordering = "-id"
    action_permissions = {"list": _VIEW, "retrieve": _VIEW, "confirm": _MANAGE, "reject": _MANAGE}

    def scoped_queryset(self):
        queryset = LinkSuggestion.objects.all()
        if self.action != "list":
            return queryset
        params = self.request.query_params
        wanted = params.get("status", SuggestionStatus.PENDING)
        queryset = queryset.filter(status=wanted) if wanted in SuggestionStatus.values else queryset
        for name in ("identity", "customer"):
            if params.get(name, "").isdigit():
                queryset = queryset.filter(**{f"{name}_id": int(params[name])})
        return queryset

    @extend_schema(request=None, responses=SuggestionSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, tenant_slug=None, pk=None):
        suggestion = actions.suggestion_confirm(self.tenant.pk, actor=request.user, suggestion_id=self.get_object().pk)
        return Response(SuggestionSerializer(suggestion).data)

    @extend_schema(request=None, responses=SuggestionSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, tenant_slug=None, pk=None):
        suggestion = actions.suggestion_reject(self.tenant.pk, actor=request.user, suggestion_id=self.get_object().pk)
        return Response(SuggestionSerializer(suggestion).data)


class MergeRecordViewSet(filters.FilteredListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         TenantScopedViewSet):
    """Customer merges, newest first (the customer page's merge history); undo one with
    ``customers/undo-merge/``."""

    serializer_class = MergeRecordSerializer
    model = MergeRecord
    ordering = "-created_at"
    action_permissions = {"list": _VIEW, "retrieve": _VIEW}
    list_filters = [
        filters.QueryFilter("survivor", "survivor_id", int, description="Only merges into this customer."),
        filters.QueryFilter("merged", "merged_id", int, description="Only merges of this (merged) customer."),
        filters.QueryFilter("undone", "undone_at__isnull", bool, inverted=True,
                            description="false: merges in force; true: undone ones."),
    ]


class SubjectSerializer(serializers.Serializer):
    platform = serializers.CharField(max_length=20)
    handle = serializers.CharField(max_length=200)


class GdprViewSet(TenantScopedViewSet):
    """GDPR requests about a social handle: ``export/?platform=&handle=`` (CUSTOMERS_MANAGE) and
    ``erase/`` (tenant admins). A customer's are actions of the customer."""

    model = SocialIdentity
    action_permissions = {"export": _MANAGE, "erase": Action.SETTINGS_MANAGE}

    def scoped_queryset(self):
        return SocialIdentity.objects.all()

    @extend_schema(parameters=[SubjectSerializer], request=SubjectSerializer, responses={200: dict})
    @action(detail=False, methods=["get", "post"])
    def export(self, request, tenant_slug=None):
        """The subject in the query (GET) or the body (POST: keeps the handle out of access logs)."""
        subject = SubjectSerializer(data=request.query_params if request.method == "GET" else request.data)
        subject.is_valid(raise_exception=True)
        return Response(gdpr.export_subject(self.tenant.pk, actor=request.user, **subject.validated_data))

    @extend_schema(request=SubjectSerializer, responses={200: dict})
    @action(detail=False, methods=["post"])
    def erase(self, request, tenant_slug=None):
        subject = SubjectSerializer(data=request.data)
        subject.is_valid(raise_exception=True)
        return Response(gdpr.erase_subject(self.tenant.pk, actor=request.user, **subject.validated_data))
