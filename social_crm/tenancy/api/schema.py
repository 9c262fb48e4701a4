"""OpenAPI description of our token authentication (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TenantTokenScheme(OpenApiAuthenticationExtension):
    target_class = "social_crm.tenancy.api.authentication.TenantTokenAuthentication"
    name = "tenantToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (scrm_...) created on a tenant's API tokens page; bound to that tenant.",
        }
