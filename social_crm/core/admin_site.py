"""The Django admin is for platform staff only, and it is a cross-tenant path by nature:
every admin view runs inside ``dangerously_cross_tenant`` so staff see all tenants' rows."""

from functools import wraps

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

from social_crm.tenancy.scope import dangerously_cross_tenant


class PlatformAdminSite(admin.AdminSite):
    site_header = "Social CRM platform administration"
    site_title = "Social CRM platform"

    def has_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def wrapper(request, *args, **kwargs):
            if not self.has_permission(request):
                return inner(request, *args, **kwargs)  # redirects to the admin login
            with dangerously_cross_tenant(f"platform staff {request.user.email} in the Django admin"):
                response = inner(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response

        return wrapper


class PlatformAdminConfig(AdminConfig):
    default_site = "social_crm.core.admin_site.PlatformAdminSite"
