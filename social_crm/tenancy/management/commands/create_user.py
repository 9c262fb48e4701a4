import getpass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from social_crm.tenancy.actions import membership_add
from social_crm.tenancy.models import Department, Tenant
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

User = get_user_model()


class Command(BaseCommand):
    help = "Create a user (or reuse one with that e-mail) and make them a member of a tenant with a role."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--name", default="")
        parser.add_argument("--password", help="omit to be prompted (or to keep an existing user's password)")
        parser.add_argument("--department", action="append", default=[], help="department slug (department heads)")
        parser.add_argument("--language", choices=["fr", "en", ""], default="")
        parser.add_argument("--no-input", "--noinput", action="store_false", dest="interactive",
                            help="never prompt: a new user without --password gets an unusable password")

    def handle(self, *args, **opts):
        if opts["department"] and opts["role"] != Role.DEPARTMENT_HEAD:
            raise CommandError("--department is only for --role department_head.")
        # One transaction: a refusal below (unknown department) must not leave a user behind.
        with transaction.atomic():
            self._create(opts)

    def _create(self, opts):
        tenant = Tenant.objects.filter(slug=opts["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {opts['tenant']!r}.")
        user = User.objects.filter(email__iexact=opts["email"]).first()
        if user is None:
            password = opts["password"]
            if password is None and opts.get("interactive", True):
                password = getpass.getpass("Password: ")
            user = User(email=opts["email"].lower(), full_name=opts["name"], language=opts["language"])
            try:
                user.full_clean(exclude=["password"])
                if password:
                    validate_password(password, user)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            user.set_password(password) if password else user.set_unusable_password()
            user.save()
            self.stdout.write(f"Created user {user.email}.")
        with tenant_context(tenant.pk):
            slugs = opts["department"]
            departments = list(Department.objects.filter(tenant_id=tenant.pk, slug__in=slugs))
            missing = set(slugs) - {d.slug for d in departments}
            if missing:
                raise CommandError(f"Unknown department(s) in {tenant.slug}: {', '.join(sorted(missing))}")
            membership = membership_add(tenant.pk, actor=None, user=user, role=opts["role"],
                                        department_ids=[d.pk for d in departments])
        self.stdout.write(self.style.SUCCESS(
            f"{user.email} is {membership.get_role_display()} in {tenant.slug}."))
