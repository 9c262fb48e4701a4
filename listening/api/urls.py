from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import corrections, topics, views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("queries", views.ListeningQueryViewSet, basename="api-queries")
router.register("accounts", views.ConnectedAccountViewSet, basename="api-accounts")
router.register("mentions", views.MentionViewSet, basename="api-mentions")
router.register("quarantine", views.QuarantineViewSet, basename="api-quarantine")
router.register("nlp", views.NlpViewSet, basename="api-nlp")
topics.register(router)
corrections.register(router)

urlpatterns = [
    # Token-bound: the API token names the tenant (as the issue specifies the path).
    path("mentions/ingest", views.MentionViewSet.as_view({"post": "ingest"}), name="api-mentions-ingest-token"),
    path("nlp/analyze", views.NlpViewSet.as_view({"post": "analyze"}), name="api-nlp-analyze-token"),
    path("t/<slug:tenant_slug>/", include(router.urls)),
]
