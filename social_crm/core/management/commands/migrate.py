"""`migrate` runs as the schema owner (DATABASE_URL), never as the application role.

The application role may not create tables; it only reads and writes rows under row-level
security. So `manage.py migrate` without --database targets the "owner" alias, and after it
the post_migrate hook (social_crm.core.rls) creates the app role, grants it DML and applies the
RLS policies.
"""

from django.core.management.commands.migrate import Command as DjangoMigrate

from social_crm.core.db import APP_ALIAS, OWNER_ALIAS


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        if options.get("database") in (None, APP_ALIAS):
            options["database"] = OWNER_ALIAS
        return super().handle(*args, **options)
