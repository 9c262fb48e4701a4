"""`flush` truncates as the schema owner: the application role has no TRUNCATE right
(TRUNCATE ignores row-level security, so granting it would open a hole in the second wall)."""

from django.core.management.commands.flush import Command as DjangoFlush

from social_crm.core.db import APP_ALIAS, OWNER_ALIAS


class Command(DjangoFlush):
    def handle(self, **options):
        if options.get("database") in (None, APP_ALIAS):
            options["database"] = OWNER_ALIAS
        return super().handle(**options)
