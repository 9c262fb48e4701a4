"""The two database connections (see settings.DATABASES and ARCHITECTURE.md)."""

OWNER_ALIAS = "owner"
APP_ALIAS = "default"


class OwnerMigratesRouter:
    """Schema changes run only on the owner connection; everything else uses the app role."""

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == OWNER_ALIAS
