"""Tenants, memberships, departments, invitations, API tokens and the audit log.

Every table here except Tenant carries ``tenant`` and inherits TenantOwned, which is what
social_crm.core.rls uses to put the row-level security policy on it. Indexes and unique
constraints start with the tenant.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext_lazy as _

from .permissions import Role

LANGUAGES = [("fr", _("French")), ("en", _("English"))]

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    _("Use 1 to 50 lower-case letters, digits and hyphens, not starting or ending with a hyphen."),
)

RESERVED_SLUGS = frozenset({"admin", "api", "static", "accounts", "healthz", "invitations", "t", "i18n"})


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone (e.g. Europe/Paris)."), params={"value": value})


def validate_slug_not_reserved(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(_("%(value)s is reserved."), params={"value": value})


class Tenant(models.Model):
    """A brand or company. Not tenant-owned itself: it is what the policies compare against."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(
        _("slug"), max_length=50, unique=True, validators=[slug_validator, validate_slug_not_reserved],
        help_text=_("Used in URLs; cannot be changed."),
    )
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris", validators=[validate_timezone])
    default_language = models.CharField(_("default language"), max_length=2, choices=LANGUAGES, default="fr")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TenantOwned(models.Model):
    """Base of every tenant-owned model: the tenant column and the RLS policy that guards it."""

    # No index of its own: every tenant-owned table has a unique constraint or index that starts
    # with tenant (GUIDE), which serves tenant look-ups and cascades; one index fewer per write.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", editable=False, db_index=False)

    # (policy name, command, USING expression): extra permissive policies, OR-ed with the
    # tenant policy by PostgreSQL. See social_crm.core.rls.
    rls_extra_policies: tuple[tuple[str, str, str], ...] = ()

    class Meta:
        abstract = True


class Membership(TenantOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(default=dj_timezone.now)

    # A user reads their own memberships in every tenant, to list and switch tenants.
    rls_extra_policies = (("membership_self", "SELECT", "user_id = app_current_user()"),)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_tenant_user_unique")]
        indexes = [models.Index(fields=["user", "tenant"], name="membership_user_idx")]

    def __str__(self) -> str:
        return str(self.user)  # language-neutral: it is stored in audit labels


class Department(TenantOwned):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=50, validators=[slug_validator])
    description = models.TextField(_("description"), blank=True)
    email = models.EmailField(_("team e-mail"), blank=True, help_text=_("Optional shared mailbox for alerts."))
    heads = models.ManyToManyField(Membership, through="DepartmentHead", related_name="departments_headed", blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="department_tenant_slug_unique"),
            models.UniqueConstraint(fields=["tenant", "name"], name="department_tenant_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class DepartmentHead(TenantOwned):
    department = models.ForeignKey(Department, on_delete=models.CASCADE)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "department", "membership"], name="department_head_unique")
        ]


class Invitation(TenantOwned):
    """A one-time link sent by e-mail. Only the SHA-256 of the secret is stored."""

    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    departments = models.JSONField(default=list, blank=True)  # department ids for department heads
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=dj_timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "email"], name="invitation_tenant_email_idx")]

    def __str__(self) -> str:
        return self.email

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= dj_timezone.now():
            return "expired"
        return "pending"

    @property
    def is_usable(self) -> bool:
        return self.status == "pending"


class ApiToken(TenantOwned):
    """A per-user token bound to one tenant; it acts with the user's role there."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12)  # shown in lists so people can tell tokens apart
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "user"], name="apitoken_tenant_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditEvent(TenantOwned):
    """Who did what, when, in the tenant. Written by actions, read by tenant admins."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=254, blank=True)  # kept if the user is deleted
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=254, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created_idx")]


class Notification(TenantOwned):
    """An in-app notification for one member (e.g. a broken channel). E-mail copies are sent
    by the action that creates it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "user", "read_at"], name="notification_unread_idx")]
