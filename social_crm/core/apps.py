from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "social_crm.core"
    label = "core"
    verbose_name = "Platform plumbing"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import rls

        # After every migrate on the owner connection: create the application role, grant it
        # DML on the tables, and (re)apply the row-level security policy to every tenant-owned
        # table. Idempotent, so it can run after each app's migrations.
        post_migrate.connect(rls.on_post_migrate, dispatch_uid="social_crm.core.rls")
