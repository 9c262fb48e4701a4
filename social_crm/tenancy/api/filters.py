"""Query-string filters of list endpoints, declared once for both the queryset and the OpenAPI
schema, and strict: a malformed value is a 400 naming the parameter, never a silent "no filter"
(a client that typed ``status=opne`` must not receive every row)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers


@dataclass(frozen=True)
class QueryFilter:
    name: str
    lookup: str  # ORM lookup the value is given to
    kind: type = str  # str, int or bool
    choices: tuple[str, ...] = ()
    nullable: bool = False  # "none" selects rows where the lookup is null
    inverted: bool = False  # bool only: "true" gives False to the lookup (e.g. undone -> undone_at__isnull)
    description: str = ""

    def parameter(self) -> OpenApiParameter:
        if self.kind is int and self.nullable:
            # An id or the word "none": a string in the schema (schemathesis sends what it says).
            return OpenApiParameter(self.name, str, pattern=r"^(\d+|none)$", description=self.description)
        return OpenApiParameter(self.name, self.kind, enum=list(self.choices) or None, description=self.description)

    def value(self, raw: str):
        if self.nullable and raw == "none":
            return None
        if self.kind is int:
            if not raw.isdigit() or len(raw) > 18:
                raise ValueError(_("A valid integer is required."))
            return int(raw)
        if self.kind is bool:
            if raw not in ("true", "false"):
                raise ValueError(_("Use true or false."))
            return (raw == "true") != self.inverted
        if self.choices and raw not in self.choices:
            raise ValueError(_("Not one of %(choices)s.") % {"choices": ", ".join(self.choices)})
        return raw


def parameters(filters: list[QueryFilter]) -> list[OpenApiParameter]:
    return [f.parameter() for f in filters]


def apply(queryset, params, filters: list[QueryFilter]):
    errors: dict[str, list[str]] = {}
    for f in filters:
        raw = params.get(f.name, "")
        if raw == "":
            continue
        try:
            value = f.value(raw)
        except ValueError as exc:
            errors[f.name] = [str(exc)]
            continue
        queryset = queryset.filter(**({f"{f.lookup}__isnull": True} if value is None else {f.lookup: value}))
    if errors:
        raise serializers.ValidationError(errors)
    return queryset


class FilteredListMixin:
    """For a TenantScopedViewSet: ``list_filters`` narrow the list (not the detail, nor writes)
    and are documented on the list operation only. A subclass that overrides
    ``scoped_queryset()`` passes its queryset through ``self.filter_list()``."""

    list_filters: list[QueryFilter] = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "list_filters" in cls.__dict__:
            extend_schema_view(list=extend_schema(parameters=parameters(cls.list_filters)))(cls)

    def filter_list(self, queryset):
        return apply(queryset, self.request.query_params, self.list_filters) if self.action == "list" else queryset

    def scoped_queryset(self):
        return self.filter_list(super().scoped_queryset())
