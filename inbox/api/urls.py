"""Under /api/v1/: tenant endpoints under t/<tenant_slug>/, on TenantScopedViewSet."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
views.register(router)

urlpatterns: list = [
    path("t/<slug:tenant_slug>/", include(router.urls)),
]

# --- Routing rules, department alerts, SLA policies (inbox/api/routing.py) ----------------------
# Their own router: the one above has already built its URLs.
from . import routing as _routing  # noqa: E402

_routing_router = DefaultRouter(trailing_slash=True)
_routing_router.include_root_view = False
_routing.register(_routing_router)
urlpatterns.append(path("t/<slug:tenant_slug>/", include(_routing_router.urls)))

# --- Replies and canned answers (inbox/api/replies.py) ----------------------------------------------
from . import replies as _replies  # noqa: E402

_replies_router = DefaultRouter(trailing_slash=True)
_replies_router.include_root_view = False
_replies.register(_replies_router)
urlpatterns.append(path("t/<slug:tenant_slug>/", include(_replies_router.urls)))
