from django.core.management.base import BaseCommand

from social_crm.tenancy.permissions import markdown_table


class Command(BaseCommand):
    help = "Print the role/permission table (the one in README.md) as Markdown."

    def handle(self, *args, **opts):
        self.stdout.write(markdown_table())
