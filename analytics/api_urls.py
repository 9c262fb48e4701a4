"""/api/v1/t/<tenant>/analytics/<series>: one route per series (named, so the care helper's
``analytics/care`` routes live beside them)."""

from django.urls import path

from .api import series_view

SERIES = ("volume", "sentiment", "reach", "share-of-voice", "top-authors", "top-topics", "top-terms")

urlpatterns = [
    path(f"t/<slug:tenant_slug>/analytics/{name}", series_view(name).as_view({"get": "list"}),
         name=f"api-analytics-{name}")
    for name in SERIES
]
