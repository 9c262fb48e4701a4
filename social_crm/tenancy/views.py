"""Tenant admin pages: thin views over tenancy.actions, all built on TenantView."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from . import actions
from .access import access_department, access_membership
from .base import TenantView
from .forms import (
    AcceptInvitationForm,
    ApiTokenForm,
    DepartmentForm,
    InviteForm,
    RoleForm,
    TenantSettingsForm,
)
from .models import ApiToken, AuditEvent, Department, DepartmentHead, Invitation, Membership
from .permissions import Action, Role
from .scope import user_context

User = get_user_model()


def apply_errors(form, exc: ValidationError) -> None:
    """Attach an action's ValidationError to the form (field errors where it names a field)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@login_required
def home(request):
    """Pick a tenant (or go straight to the only one)."""
    with user_context(request.user.pk):
        memberships = list(
            Membership.objects.filter(user_id=request.user.pk, tenant__is_active=True)
            .select_related("tenant").order_by("tenant__name")
        )
    if len(memberships) == 1 and not request.GET.get("all"):
        return redirect("tenant-home", tenant_slug=memberships[0].tenant.slug)
    return render(request, "tenancy/home.html", {"memberships": memberships})


class TenantHomeView(TenantView):
    required_action = Action.TENANT_VIEW
    template_name = "tenancy/tenant_home.html"

    def get(self, request):
        tid = self.tenant.pk
        return self.render(
            member_count=Membership.objects.filter(tenant_id=tid).count(),
            department_count=Department.objects.filter(tenant_id=tid).count(),
            pending_invitations=Invitation.objects.filter(tenant_id=tid, accepted_at__isnull=True, revoked_at__isnull=True).count(),
            my_departments=Department.objects.filter(tenant_id=tid, departmenthead__membership=self.membership),
        )


class MemberListView(TenantView):
    required_action = Action.MEMBERS_VIEW
    template_name = "tenancy/members.html"
    model = Membership

    def page(self, invite_form=None, status=200):
        memberships = (
            self.get_queryset().select_related("user").order_by("user__full_name", "user__email")
            .prefetch_related(Prefetch("departments_headed", queryset=Department.objects.filter(tenant_id=self.tenant.pk)))
        )
        can_manage = self.can(Action.MEMBERS_MANAGE)
        invitations = Invitation.objects.none()
        if can_manage:
            invitations = Invitation.objects.filter(
                tenant_id=self.tenant.pk, accepted_at__isnull=True, revoked_at__isnull=True
            ).select_related("invited_by")
        return self.render(
            status=status,
            memberships=memberships,
            invitations=invitations,
            invite_form=invite_form or InviteForm(tenant=self.tenant),
            role_choices=Role.choices,
            can_manage=can_manage,
        )

    def get(self, request):
        return self.page()


class InviteView(MemberListView):
    required_action = Action.MEMBERS_MANAGE

    def get(self, request):
        return self.page()

    def post(self, request):
        form = InviteForm(request.POST, tenant=self.tenant)
        if form.is_valid():
            try:
                actions.invitation_create(
                    self.tenant.pk, actor=request.user, email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"], department_ids=[d.pk for d in form.cleaned_data["departments"]],
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
                return redirect("members", tenant_slug=self.tenant.slug)
        return self.page(invite_form=form, status=400)


def _error_response(request, message: str) -> HttpResponse:
    return render(request, "tenancy/error.html", {"message": message}, status=400)


def _run(request, action, success: str, then) -> HttpResponse:
    """Run one action; a refused state guard is a 400 page, success a message and a redirect."""
    try:
        action()
    except ValidationError as exc:
        return _error_response(request, " ".join(exc.messages))
    messages.success(request, success)
    return then


class MemberRoleView(TenantView):
    required_action = Action.MEMBERS_MANAGE

    def post(self, request, membership_id: int):
        membership = access_membership(self.tenant, membership_id)  # 404 before any form error
        form = RoleForm(request.POST)
        if not form.is_valid():
            return _error_response(request, form.errors.as_text())
        return _run(request, lambda: actions.membership_change_role(
            self.tenant.pk, actor=request.user, membership_id=membership.pk, role=form.cleaned_data["role"]),
            _("Role changed."), redirect("members", tenant_slug=self.tenant.slug))


class MemberRemoveView(TenantView):
    required_action = Action.MEMBERS_MANAGE

    def post(self, request, membership_id: int):
        leaving = membership_id == self.membership.pk
        return _run(request, lambda: actions.membership_remove(self.tenant.pk, actor=request.user, membership_id=membership_id),
                    _("Member removed."), redirect("home") if leaving else redirect("members", tenant_slug=self.tenant.slug))


class InvitationRevokeView(TenantView):
    required_action = Action.MEMBERS_MANAGE

    def post(self, request, invitation_id: int):
        return _run(request, lambda: actions.invitation_revoke(self.tenant.pk, actor=request.user, invitation_id=invitation_id),
                    _("Invitation revoked."), redirect("members", tenant_slug=self.tenant.slug))


class DepartmentListView(TenantView):
    required_action = Action.DEPARTMENTS_VIEW
    template_name = "tenancy/departments.html"
    model = Department

    def get(self, request):
        departments = self.get_queryset().prefetch_related(
            Prefetch("departmenthead_set", queryset=DepartmentHead.objects.filter(tenant_id=self.tenant.pk).select_related("membership__user"))
        )
        return self.render(departments=departments, can_manage=self.can(Action.DEPARTMENTS_MANAGE))


class DepartmentEditView(TenantView):
    """Create (no id) or edit a department."""

    required_action = Action.DEPARTMENTS_MANAGE
    template_name = "tenancy/department_form.html"

    def _department(self, department_id):
        return access_department(self.tenant, department_id) if department_id is not None else None

    def get(self, request, department_id: int | None = None):
        department = self._department(department_id)
        initial = {}
        if department is not None:
            initial = {"name": department.name, "slug": department.slug, "description": department.description,
                       "email": department.email,
                       "heads": list(department.departmenthead_set.filter(tenant_id=self.tenant.pk).values_list("membership_id", flat=True))}
        return self.render(form=DepartmentForm(initial=initial, tenant=self.tenant), department=department)

    def post(self, request, department_id: int | None = None):
        department = self._department(department_id)
        form = DepartmentForm(request.POST, tenant=self.tenant)
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.department_save(
                    self.tenant.pk, actor=request.user, department_id=department_id, name=data["name"],
                    slug=data["slug"], description=data["description"], email=data["email"],
                    head_ids=[m.pk for m in data["heads"]],
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Department saved."))
                return redirect("departments", tenant_slug=self.tenant.slug)
        return self.render(status=400, form=form, department=department)


class DepartmentDeleteView(TenantView):
    required_action = Action.DEPARTMENTS_MANAGE

    def post(self, request, department_id: int):
        actions.department_delete(self.tenant.pk, actor=request.user, department_id=department_id)
        messages.success(request, _("Department deleted."))
        return redirect("departments", tenant_slug=self.tenant.slug)


class SettingsView(TenantView):
    required_action = Action.SETTINGS_VIEW
    template_name = "tenancy/settings.html"

    def required_action_for(self, request) -> Action:
        return Action.SETTINGS_MANAGE if request.method == "POST" else Action.SETTINGS_VIEW

    def get(self, request):
        form = TenantSettingsForm(initial={"name": self.tenant.name, "timezone": self.tenant.timezone,
                                           "default_language": self.tenant.default_language})
        return self.render(form=form, can_manage=self.can(Action.SETTINGS_MANAGE))

    def post(self, request):
        form = TenantSettingsForm(request.POST)
        if form.is_valid():
            try:
                actions.tenant_update_settings(
                    self.tenant.pk, actor=request.user, name=form.cleaned_data["name"],
                    timezone_name=form.cleaned_data["timezone"], default_language=form.cleaned_data["default_language"],
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Settings saved."))
                return redirect("settings", tenant_slug=self.tenant.slug)
        return self.render(status=400, form=form, can_manage=True)


class AuditLogView(TenantView):
    required_action = Action.AUDIT_VIEW
    template_name = "tenancy/audit.html"
    model = AuditEvent

    def get(self, request):
        page = Paginator(self.get_queryset().select_related("actor"), 50).get_page(request.GET.get("page"))
        return self.render(page=page)


class ApiTokenView(TenantView):
    required_action = Action.API_TOKENS_OWN
    template_name = "tenancy/tokens.html"
    model = ApiToken

    def page(self, form=None, new_key=None, status=200):
        tokens = self.get_queryset().filter(user_id=self.request.user.pk)
        return self.render(status=status, tokens=tokens, form=form or ApiTokenForm(), new_key=new_key)

    def get(self, request):
        # The new key travels once through the session (post/redirect/get: a reload cannot
        # create a second token, and the key is gone after this page).
        return self.page(new_key=request.session.pop(f"new_api_key:{self.tenant.pk}", None))

    def post(self, request):
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return self.page(form=form, status=400)
        _token, raw = actions.api_token_create(self.tenant.pk, user=request.user, name=form.cleaned_data["name"])
        request.session[f"new_api_key:{self.tenant.pk}"] = raw
        return redirect("api-tokens", tenant_slug=self.tenant.slug)


class ApiTokenRevokeView(TenantView):
    required_action = Action.API_TOKENS_OWN

    def post(self, request, token_id: int):
        actions.api_token_revoke(self.tenant.pk, user=request.user, token_id=token_id)
        messages.success(request, _("Token revoked."))
        return redirect("api-tokens", tenant_slug=self.tenant.slug)


@require_http_methods(["GET", "POST"])
def accept_invitation(request, token: str):
    """The one-time link. Not under a tenant: the secret identifies the invitation."""
    invitation = actions.invitation_for_secret(token)
    if invitation is None or not invitation.is_usable or not invitation.tenant.is_active:
        return render(request, "tenancy/invitation_invalid.html", status=404)
    existing = User.objects.filter(email__iexact=invitation.email).first()
    context = {"invitation": invitation, "tenant": invitation.tenant, "existing": existing}
    if request.user.is_authenticated:
        if request.user.email.lower() != invitation.email.lower():
            return render(request, "tenancy/invitation_accept.html", {**context, "wrong_user": True}, status=403)
        if request.method == "POST":
            actions.invitation_accept(token, user=request.user)
            messages.success(request, _("Welcome to %(tenant)s.") % {"tenant": invitation.tenant.name})
            return redirect("tenant-home", tenant_slug=invitation.tenant.slug)
        return render(request, "tenancy/invitation_accept.html", context)
    if existing is not None:
        # The person has an account: log in first, then come back to this page.
        return render(request, "tenancy/invitation_accept.html",
                      {**context, "login_url": reverse("login") + "?next=" + request.path})
    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        user = User.objects.create_user(invitation.email, form.cleaned_data["password1"],
                                        full_name=form.cleaned_data["full_name"],
                                        language=invitation.tenant.default_language)
        actions.invitation_accept(token, user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome to %(tenant)s.") % {"tenant": invitation.tenant.name})
        return redirect("tenant-home", tenant_slug=invitation.tenant.slug)
    return render(request, "tenancy/invitation_accept.html", {**context, "form": form},
                  status=400 if request.method == "POST" else 200)
