"""Migration helpers for the tenant walls."""

from django.db import migrations


def same_tenant_fk(table: str, column: str, ref_table: str, *, on_delete: str = "CASCADE") -> migrations.RunSQL:
    """A composite foreign key (tenant_id, column) -> ref_table (tenant_id, id): a row can only
    reference a row of its own tenant. Plain foreign-key checks ignore row-level security, so
    without this the database would accept a reference to another tenant's row.

    ``on_delete`` "SET NULL" nulls only ``column`` (PostgreSQL 15+), never tenant_id."""
    index = f"{ref_table}_tenant_id_id_uniq"
    name = f"{table}_{column}_same_tenant"
    action = f"SET NULL ({column})" if on_delete == "SET NULL" else on_delete
    return migrations.RunSQL(
        f"""
        CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {ref_table} (tenant_id, id);
        ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (tenant_id, {column})
            REFERENCES {ref_table} (tenant_id, id) ON DELETE {action} DEFERRABLE INITIALLY DEFERRED;
        """,
        f"ALTER TABLE {table} DROP CONSTRAINT {name};",
    )
