from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from social_crm.tenancy.actions import tenant_create


class Command(BaseCommand):
    help = "Create a tenant (a brand or company)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="URL name, e.g. acme (lower-case letters, digits, hyphens)")
        parser.add_argument("--name", required=True)
        parser.add_argument("--timezone", default="Europe/Paris")
        parser.add_argument("--language", choices=["fr", "en"], default="fr")

    def handle(self, *args, **opts):
        try:
            tenant = tenant_create(name=opts["name"], slug=opts["slug"], timezone_name=opts["timezone"],
                                   default_language=opts["language"])
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(self.style.SUCCESS(f"Created tenant {tenant.slug} (id {tenant.pk})."))
