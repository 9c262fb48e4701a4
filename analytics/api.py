"""Reputation metrics API: ``GET /api/v1/t/<tenant>/analytics/<series>`` (the shared analytics
contract). Thin: validate the filters (400 with field errors), read through ``selectors``
inside the tenant transaction, serialise; ``?format=csv`` gives the same data as CSV."""

from __future__ import annotations

import csv
import io

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from social_crm.tenancy.api.base import TenantScopedViewSet
from social_crm.tenancy.permissions import Action

from . import selectors
from .filters import FilterSerializer


class CSVRenderer(BaseRenderer):
    """One row per point / table row. A response with several tables (top authors) gets a
    ``table`` column; an error response is one row of its field errors."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        tables = [(k, v) for k, v in (data or {}).items() if isinstance(v, list) and all(isinstance(r, dict) for r in v)
                  and (v or k in ("points", "rows", "by_volume", "by_reach"))] if isinstance(data, dict) else []
        if isinstance(data, list):
            rows = data
        elif len(tables) == 1:
            rows = tables[0][1]
        elif tables:
            rows = [{"table": name, **row} for name, items in tables for row in items]
        else:  # errors, or a table-less answer
            rows = [{k: "; ".join(map(str, v)) if isinstance(v, list) else v for k, v in (data or {}).items()}]
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().encode("utf-8")


_FORMAT = OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"], description="csv: the same data as CSV")
_DOCS = {
    "volume": "Mentions per time bucket (hour, day or week, chosen from the range) and per sentiment.",
    "sentiment": "Net sentiment (positive - negative) / tagged mentions per bucket, over the range and over the "
                 "period of the same length before it (trend).",
    "reach": "Reach (sum of the authors' followers) and interactions (likes + shares + replies) per bucket; "
             "engagement rate = interactions / reach.",
    "share-of-voice": "Mentions of each own-brand and competitor listening query and its share of their sum.",
    "top-authors": "Authors with the most mentions in the range, and those with the widest reach.",
    "top-topics": "Topics by mentions, with their sentiment counts and net sentiment.",
    "top-terms": "Brands, products, handles and names recognised in the mentions, by mentions.",
}


class AnalyticsSeriesViewSet(TenantScopedViewSet):
    """One series of the reputation dashboard; ``series`` is set per route (api_urls.py)."""

    action_permissions = {"list": Action.ANALYTICS_VIEW}
    renderer_classes = [JSONRenderer, CSVRenderer]
    pagination_class = None
    series = ""

    def list(self, request, tenant_slug=None):
        filters = FilterSerializer(data=request.query_params, context={"tenant": self.tenant})
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        if self.series == "top-authors":
            data = selectors.top_authors(self.tenant.pk, f)
        else:
            data = selectors.SERIES[self.series](self.tenant.pk, f)
        meta = {"series": self.series, "from": f.first_day.isoformat(), "to": f.last_day.isoformat(), "tz": f.tz}
        return Response({**meta, **data})

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if getattr(request, "accepted_renderer", None) is not None and request.accepted_renderer.format == "csv":
            response["Content-Disposition"] = f'attachment; filename="{self.series}.csv"'
        return response


def series_view(series: str):
    """A view class per series, so each has its own OpenAPI operation and description."""
    schema = extend_schema(
        operation_id=f"analytics_{series.replace('-', '_')}", summary=_DOCS[series], tags=["analytics"],
        parameters=[FilterSerializer, _FORMAT],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description=_DOCS[series]),
                   400: OpenApiResponse(OpenApiTypes.OBJECT, description="Field errors of the filters")},
    )
    cls = type(f"Analytics{series.title().replace('-', '')}ViewSet", (AnalyticsSeriesViewSet,), {"series": series})
    return extend_schema_view(list=schema)(cls)
