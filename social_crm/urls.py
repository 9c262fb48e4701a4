from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from social_crm.accounts import views as account_views
from social_crm.core import health
from listening import webhooks as listening_webhooks
from social_crm.tenancy import views as tenancy_views

# Routes outside /t/<tenant_slug>/ are listed in tests/test_url_scoping.py (PUBLIC_ROUTES):
# a new one fails that test until someone decides it is not tenant data.
urlpatterns = [
    path("", tenancy_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="accounts/login.html", redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password-reset/", auth_views.PasswordResetView.as_view(
        template_name="accounts/password_reset.html", email_template_name="accounts/email/password_reset.txt",
        subject_template_name="accounts/email/password_reset_subject.txt"), name="password_reset"),
    path("accounts/password-reset/sent/", auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"), name="password_reset_done"),
    path("accounts/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(template_name="accounts/password_reset_confirm.html"), name="password_reset_confirm"),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"), name="password_reset_complete"),
    path("accounts/profile/", account_views.profile, name="profile"),
    path("invitations/<str:token>/", tenancy_views.accept_invitation, name="invitation-accept"),
    path("t/<slug:tenant_slug>/", include("social_crm.tenancy.urls")),
    path("t/<slug:tenant_slug>/", include("listening.urls")),
    path("t/<slug:tenant_slug>/", include("inbox.urls")),
    path("t/<slug:tenant_slug>/", include("social_crm.customers.urls")),
    path("t/<slug:tenant_slug>/", include("social_crm.webhooks.urls")),
    path("t/<slug:tenant_slug>/", include("analytics.crisis.urls")),
    path("t/<slug:tenant_slug>/", include("analytics.urls")),
    path("webhooks/facebook", listening_webhooks.facebook, name="webhook-facebook"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("social_crm.tenancy.api.urls")),
    path("api/v1/", include("listening.api.urls")),
    path("api/v1/", include("inbox.api.urls")),
    path("api/v1/", include("social_crm.customers.api_urls")),
    path("api/v1/", include("social_crm.webhooks.api_urls")),
    path("api/v1/", include("analytics.urls_care_api")),
    path("api/v1/", include("analytics.crisis.api_urls")),
    path("api/v1/", include("analytics.api_urls")),
]
