"""Forms validate input only; the views hand the cleaned data to one action each.

Every choice of a tenant-owned object is built from a queryset already filtered by the tenant,
so another tenant's id is an invalid choice (400 with a field error), never a lookup.
"""

from __future__ import annotations

import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import LANGUAGES, Department, Membership, Tenant
from .permissions import Role

TIMEZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz and not tz.startswith("Etc/")]


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    departments = forms.ModelMultipleChoiceField(
        label=_("Departments (for department heads)"), queryset=Department.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departments"].queryset = Department.objects.filter(tenant_id=tenant.pk)

    def clean(self):
        data = super().clean()
        if data.get("role") == Role.DEPARTMENT_HEAD and not data.get("departments"):
            self.add_error("departments", _("Choose at least one department for a department head."))
        return data


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class DepartmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    slug = forms.SlugField(label=_("Slug"), max_length=50, help_text=_("Short code used in rules and the API."))
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    email = forms.EmailField(label=_("Team e-mail"), required=False)
    heads = forms.ModelMultipleChoiceField(
        label=_("Heads"), queryset=Membership.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["heads"].queryset = Membership.objects.filter(
            tenant_id=tenant.pk, role=Role.DEPARTMENT_HEAD
        ).select_related("user")
        self.fields["heads"].label_from_instance = lambda m: m.user.get_full_name()


class TenantSettingsForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=TIMEZONE_CHOICES)
    default_language = forms.ChoiceField(label=_("Default language"), choices=LANGUAGES)


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100, help_text=_("What will use it, e.g. “BI export”."))


class AcceptInvitationForm(forms.Form):
    """For a new person: choose a name and a password."""

    full_name = forms.CharField(label=_("Your name"), max_length=150)
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, email: str, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)

    def clean(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.password_validation import validate_password

        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            try:
                validate_password(p1, get_user_model()(email=self.email, full_name=data.get("full_name", "")))
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data
