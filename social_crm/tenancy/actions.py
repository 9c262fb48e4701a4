"""Writes in the tenancy domain. Each action takes the tenant id first, runs in a tenant
transaction, checks its state guard, and writes an audit event.

Actions are called by the scoped views/viewsets (already inside ``tenant_context``) and by
management commands; ``tenant_context`` nests, so calling them from either is safe.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .access import access_api_token, access_department, access_invitation, access_membership
from .models import ApiToken, AuditEvent, Department, DepartmentHead, Invitation, Membership, Tenant
from .permissions import Role
from .scope import dangerously_cross_tenant, tenant_context

User = get_user_model()


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def audit_record(tenant_id: int, *, actor, action: str, target=None, data: dict | None = None) -> AuditEvent:
    return AuditEvent.objects.create(
        tenant_id=tenant_id,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=(actor.email if getattr(actor, "pk", None) else str(actor or "system")),
        action=action,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:254] if target is not None else "",
        data=data or {},
    )


# --- Tenants ------------------------------------------------------------------------------------


def tenant_create(*, name: str, slug: str, timezone_name: str = "Europe/Paris", default_language: str = "fr") -> Tenant:
    """Create a tenant (platform operator). Not idempotent: a taken slug is a ValidationError."""
    tenant = Tenant(name=name, slug=slug, timezone=timezone_name, default_language=default_language)
    tenant.full_clean()
    tenant.save()
    return tenant


def tenant_update_settings(tenant_id: int, *, actor, name: str, timezone_name: str, default_language: str) -> Tenant:
    with tenant_context(tenant_id):
        tenant = Tenant.objects.select_for_update().get(pk=tenant_id)
        before = {"name": tenant.name, "timezone": tenant.timezone, "default_language": tenant.default_language}
        tenant.name, tenant.timezone, tenant.default_language = name, timezone_name, default_language
        tenant.full_clean()
        tenant.save(update_fields=["name", "timezone", "default_language"])
        after = {"name": tenant.name, "timezone": tenant.timezone, "default_language": tenant.default_language}
        changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if changed:
            audit_record(tenant_id, actor=actor, action="tenant.settings_changed", target=tenant, data=changed)
        return tenant


# --- Memberships ----------------------------------------------------------------------------------


def _admins_left_after(tenant_id: int, membership: Membership) -> int:
    return (
        Membership.objects.filter(tenant_id=tenant_id, role=Role.ADMIN, user__is_active=True)
        .exclude(pk=membership.pk)
        .count()
    )


def membership_add(tenant_id: int, *, actor, user, role: str, department_ids=()) -> Membership:
    """Add a user to the tenant; idempotent: an existing membership keeps its role."""
    with tenant_context(tenant_id):
        membership, created = Membership.objects.get_or_create(
            tenant_id=tenant_id, user=user, defaults={"role": Role(role)}
        )
        if created:
            for department in Department.objects.filter(tenant_id=tenant_id, pk__in=list(department_ids)):
                DepartmentHead.objects.get_or_create(tenant_id=tenant_id, department=department, membership=membership)
            audit_record(tenant_id, actor=actor, action="member.added", target=membership, data={"role": role})
        return membership


def membership_change_role(tenant_id: int, *, actor, membership_id: int, role: str) -> Membership:
    """Idempotent; refuses to demote the last tenant admin."""
    with tenant_context(tenant_id):
        membership = access_membership(tenant_id, membership_id)
        # Lock the admins so two concurrent demotions cannot leave the tenant without one.
        list(Membership.objects.select_for_update().filter(tenant_id=tenant_id, role=Role.ADMIN))
        if membership.role == role:
            return membership
        if membership.role == Role.ADMIN and _admins_left_after(tenant_id, membership) == 0:
            raise ValidationError({"role": _("A tenant needs at least one admin: promote someone else first.")})
        old = membership.role
        membership.role = Role(role)
        membership.save(update_fields=["role"])
        if role != Role.DEPARTMENT_HEAD:
            DepartmentHead.objects.filter(tenant_id=tenant_id, membership=membership).delete()
        audit_record(tenant_id, actor=actor, action="member.role_changed", target=membership, data={"from": old, "to": role})
        return membership


def membership_remove(tenant_id: int, *, actor, membership_id: int) -> None:
    """Refuses to remove the last tenant admin. A second call gives 404 (already gone)."""
    with tenant_context(tenant_id):
        membership = access_membership(tenant_id, membership_id)
        list(Membership.objects.select_for_update().filter(tenant_id=tenant_id, role=Role.ADMIN))
        if membership.role == Role.ADMIN and _admins_left_after(tenant_id, membership) == 0:
            raise ValidationError(_("A tenant needs at least one admin: this member cannot be removed."))
        label = str(membership.user)
        ApiToken.objects.filter(tenant_id=tenant_id, user_id=membership.user_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        membership.delete()
        audit_record(tenant_id, actor=actor, action="member.removed", data={"user": label})


# --- Invitations ----------------------------------------------------------------------------------


def invitation_create(tenant_id: int, *, actor, email: str, role: str, department_ids=()) -> tuple[Invitation, str]:
    """Invite an e-mail address; a newer invitation to the same address revokes older ones.

    Returns the invitation and the raw secret (only its hash is stored). The e-mail is sent
    after commit, in the tenant's default language.
    """
    email = User.objects.normalize_email(email).lower()
    with tenant_context(tenant_id):
        if Membership.objects.filter(tenant_id=tenant_id, user__email__iexact=email).exists():
            raise ValidationError({"email": _("This person is already a member of the tenant.")})
        department_ids = sorted({int(d) for d in department_ids})
        if role != Role.DEPARTMENT_HEAD:
            department_ids = []
        found = set(Department.objects.filter(tenant_id=tenant_id, pk__in=department_ids).values_list("pk", flat=True))
        if found != set(department_ids):
            raise ValidationError({"departments": _("Unknown department.")})
        now = timezone.now()
        Invitation.objects.filter(
            tenant_id=tenant_id, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        raw = secrets.token_urlsafe(32)
        invitation = Invitation.objects.create(
            tenant_id=tenant_id, email=email, role=Role(role), departments=department_ids,
            token_hash=hash_secret(raw), invited_by=actor if getattr(actor, "pk", None) else None,
            expires_at=now + timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
        )
        audit_record(tenant_id, actor=actor, action="invitation.sent", target=invitation, data={"email": email, "role": role})
        invitation_id = invitation.pk
        transaction.on_commit(lambda: _send_invitation_email(tenant_id, invitation_id, raw))
        return invitation, raw


def invitation_url(raw: str) -> str:
    return settings.SITE_URL + reverse("invitation-accept", args=[raw])


def _send_invitation_email(tenant_id: int, invitation_id: int, raw: str) -> None:
    with tenant_context(tenant_id):
        invitation = Invitation.objects.select_related("invited_by").get(tenant_id=tenant_id, pk=invitation_id)
        tenant = Tenant.objects.get(pk=tenant_id)
        with translation.override(tenant.default_language):
            context = {"invitation": invitation, "tenant": tenant, "url": invitation_url(raw),
                       "role": invitation.get_role_display()}
            subject = _("You are invited to %(tenant)s on Social CRM") % {"tenant": tenant.name}
            body = render_to_string("tenancy/email/invitation.txt", context)
        send_mail(subject, body, None, [invitation.email])


def invitation_revoke(tenant_id: int, *, actor, invitation_id: int) -> Invitation:
    """Idempotent: revoking a revoked invitation changes nothing. Accepted ones cannot be revoked."""
    with tenant_context(tenant_id):
        invitation = access_invitation(tenant_id, invitation_id)
        if invitation.accepted_at:
            raise ValidationError(_("This invitation was already accepted."))
        if invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            audit_record(tenant_id, actor=actor, action="invitation.revoked", target=invitation, data={"email": invitation.email})
        return invitation


def invitation_for_secret(raw: str) -> Invitation | None:
    """Find an invitation by its secret, whatever the tenant: the link carries no tenant."""
    with dangerously_cross_tenant("invitation look-up by its one-time secret"):
        return Invitation.objects.select_related("tenant").filter(token_hash=hash_secret(raw)).first()


def invitation_accept(raw: str, *, user) -> Membership:
    """Turn a pending invitation into a membership, once. The e-mail must match the user's."""
    invitation = invitation_for_secret(raw)
    if invitation is None or not invitation.is_usable or not invitation.tenant.is_active:
        raise ValidationError(_("This invitation link is invalid, expired or already used."))
    if invitation.email.lower() != user.email.lower():
        raise ValidationError(_("This invitation was sent to another e-mail address."))
    tenant_id = invitation.tenant_id
    with tenant_context(tenant_id, user_id=user.pk):
        # Claim it once: a conditional UPDATE, so two clicks cannot both succeed.
        claimed = Invitation.objects.filter(
            tenant_id=tenant_id, pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).update(accepted_at=timezone.now(), accepted_by=user)
        if not claimed:
            raise ValidationError(_("This invitation link is invalid, expired or already used."))
        membership = membership_add(tenant_id, actor=user, user=user, role=invitation.role,
                                    department_ids=invitation.departments)
        audit_record(tenant_id, actor=user, action="invitation.accepted", target=invitation, data={"email": user.email})
        return membership


def invitations_expire(tenant_id: int) -> list[int]:
    """Mark the tenant's pending invitations past their date as revoked; returns their ids.

    Idempotent: a second run finds nothing to do.
    """
    with tenant_context(tenant_id):
        now = timezone.now()
        ids = list(
            Invitation.objects.filter(
                tenant_id=tenant_id, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now
            ).values_list("pk", flat=True)
        )
        if ids:
            Invitation.objects.filter(tenant_id=tenant_id, pk__in=ids).update(revoked_at=now)
            audit_record(tenant_id, actor=None, action="invitation.expired", data={"count": len(ids)})
        return ids


# --- Departments ----------------------------------------------------------------------------------


def _set_heads(tenant_id: int, department: Department, head_ids) -> None:
    wanted = set(
        Membership.objects.filter(tenant_id=tenant_id, pk__in=list(head_ids), role=Role.DEPARTMENT_HEAD)
        .values_list("pk", flat=True)
    )
    if wanted != {int(h) for h in head_ids}:
        raise ValidationError({"heads": _("Heads must be department heads of this tenant.")})
    DepartmentHead.objects.filter(tenant_id=tenant_id, department=department).exclude(membership_id__in=wanted).delete()
    existing = set(DepartmentHead.objects.filter(tenant_id=tenant_id, department=department).values_list("membership_id", flat=True))
    DepartmentHead.objects.bulk_create(
        [DepartmentHead(tenant_id=tenant_id, department=department, membership_id=m) for m in wanted - existing]
    )


def department_save(tenant_id: int, *, actor, department_id: int | None = None, name: str, slug: str,
                    description: str = "", email: str = "", head_ids=()) -> Department:
    """Create (department_id None) or update a department and its heads."""
    with tenant_context(tenant_id):
        if department_id is None:
            department = Department(tenant_id=tenant_id)
        else:
            department = access_department(tenant_id, department_id)
        department.name, department.slug, department.description, department.email = name, slug, description, email
        department.full_clean(exclude=["tenant"], validate_unique=False)
        clash = Department.objects.filter(tenant_id=tenant_id).exclude(pk=department.pk)
        if clash.filter(slug=slug).exists():
            raise ValidationError({"slug": _("Another department already uses this slug.")})
        if clash.filter(name=name).exists():
            raise ValidationError({"name": _("Another department already has this name.")})
        try:
            with transaction.atomic():
                department.save()
        except IntegrityError as exc:  # a concurrent save took the slug or name
            raise ValidationError(_("Another department already uses this name or slug.")) from exc
        _set_heads(tenant_id, department, head_ids)
        audit_record(tenant_id, actor=actor, action="department.created" if department_id is None else "department.updated",
                     target=department, data={"heads": sorted(int(h) for h in head_ids)})
        return department


def department_delete(tenant_id: int, *, actor, department_id: int) -> None:
    with tenant_context(tenant_id):
        department = access_department(tenant_id, department_id)
        label = department.name
        department.delete()
        audit_record(tenant_id, actor=actor, action="department.deleted", data={"name": label})


# --- API tokens -----------------------------------------------------------------------------------

TOKEN_PREFIX = "scrm_"


def api_token_create(tenant_id: int, *, user, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user`` in the tenant; the raw key is returned once, never stored."""
    with tenant_context(tenant_id):
        if not Membership.objects.filter(tenant_id=tenant_id, user=user).exists():
            raise ValidationError(_("Only members can have API tokens."))
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken.objects.create(tenant_id=tenant_id, user=user, name=name, prefix=raw[:12], key_hash=hash_secret(raw))
        audit_record(tenant_id, actor=user, action="api_token.created", target=token, data={"name": name})
        return token, raw


def api_token_revoke(tenant_id: int, *, user, token_id: int) -> ApiToken:
    """Idempotent."""
    with tenant_context(tenant_id):
        token = access_api_token(tenant_id, token_id, user_id=user.pk)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(tenant_id, actor=user, action="api_token.revoked", target=token, data={"name": token.name})
        return token


def api_token_authenticate(raw: str) -> ApiToken | None:
    """Find a live token by its key, whatever the tenant (the key is the only credential)."""
    with dangerously_cross_tenant("API token authentication"):
        token = (
            ApiToken.objects.select_related("user", "tenant")
            .filter(key_hash=hash_secret(raw), revoked_at__isnull=True)
            .first()
        )
        if token is not None:
            now = timezone.now()
            if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
                ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token
