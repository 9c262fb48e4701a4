from django.core.management.base import BaseCommand, no_translations

from social_crm.tenancy.permissions import markdown_table


class Command(BaseCommand):
    help = "Print the role/permission table (the one in README.md) as Markdown."

    # The README's table is English whatever language is active (a French LANGUAGE_CODE, or a
    # caller that activated one): the labels are lazy translations.
    @no_translations
    def handle(self, *args, **opts):
        self.stdout.write(markdown_table())
