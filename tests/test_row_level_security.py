"""The second wall, proven with raw SQL as the application role."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.conf import settings
from contextlib import contextmanager

from django.db import IntegrityError, ProgrammingError, connections, transaction
from psycopg import errors as pg_errors

from social_crm.core.rls import POLICY_NAME, tenant_owned_models
from social_crm.tenancy.models import Tenant
from social_crm.tenancy.scope import dangerously_cross_tenant, tenant_context


@contextmanager
def refused_by_rls():
    with pytest.raises(ProgrammingError, match="row-level security") as excinfo:
        yield
    assert isinstance(excinfo.value.__cause__, pg_errors.InsufficientPrivilege)


def tenant_tables() -> list[str]:
    return sorted(m._meta.db_table for m in tenant_owned_models())


def count(table: str, where: str = "") -> int:
    with connections["default"].cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "{table}" {where}')
        return cur.fetchone()[0]


def test_the_app_connects_as_a_plain_role_that_owns_nothing(db):
    with connections["default"].cursor() as cur:
        cur.execute("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        user, is_super, bypass = cur.fetchone()
        cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")
        owned = cur.fetchone()[0]
    assert user == settings.DATABASES["default"]["USER"] != settings.DATABASES["owner"]["USER"]
    assert (is_super, bypass, owned) == (False, False, 0)


def test_every_model_with_a_tenant_column_is_tenant_owned_and_has_a_forced_policy(db):
    models_with_tenant = [
        m for m in apps.get_models(include_auto_created=True)
        if any(f.name == "tenant" and f.is_relation and f.related_model is Tenant for f in m._meta.fields)
    ]
    assert {m._meta.db_table for m in models_with_tenant} == set(tenant_tables())
    with connections["default"].cursor() as cur:
        # Any table in the schema with a tenant_id column counts, whatever Django thinks.
        cur.execute("SELECT DISTINCT table_name FROM information_schema.columns WHERE table_schema='public' AND column_name='tenant_id'")
        tables_with_column = {r[0] for r in cur.fetchall()}
        assert tables_with_column == set(tenant_tables())
        cur.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = c.relname AND p.policyname = %s) "
            "FROM pg_class c WHERE c.relname = ANY(%s)",
            [POLICY_NAME, list(tables_with_column)],
        )
        rows = {r[0]: r[1:] for r in cur.fetchall()}
    missing = {t: flags for t, flags in rows.items() if flags != (True, True, True)}
    assert rows and not missing, f"tables without a forced tenant policy: {missing}"


@pytest.mark.parametrize("table", tenant_tables())
def test_raw_select_sees_nothing_without_a_tenant_and_only_a_with_a(world, table):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    with dangerously_cross_tenant("test: count every tenant's rows"):
        in_a = count(table, f"WHERE tenant_id = {a}")
        in_b = count(table, f"WHERE tenant_id = {b}")
    assert in_a > 0 and in_b > 0, "the world must put rows of both tenants in every table"
    assert count(table) == 0
    with tenant_context(a):
        assert count(table) == in_a
        assert count(table, f"WHERE tenant_id <> {a}") == 0


@pytest.mark.parametrize("table", tenant_tables())
def test_raw_insert_of_a_row_for_b_while_a_is_set_is_refused(world, table):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    with connections["default"].cursor() as cur:
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'id' "
            "AND is_generated = 'NEVER' ORDER BY ordinal_position", [table])  # generated: computed, never written
        columns = ", ".join(f'"{r[0]}"' for r in cur.fetchall())
    with tenant_context(a):
        # Copy one of A's own rows but label it tenant B: the WITH CHECK clause must refuse it.
        select = columns.replace('"tenant_id"', f"{b} AS tenant_id")
        with refused_by_rls():
            with transaction.atomic(), connections["default"].cursor() as cur:
                cur.execute(f'INSERT INTO "{table}" ({columns}) SELECT {select} FROM "{table}" LIMIT 1')


@pytest.mark.parametrize("table", tenant_tables())
def test_raw_update_cannot_touch_b_nor_move_a_row_to_b(world, table):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    with tenant_context(a):
        with connections["default"].cursor() as cur:
            cur.execute(f'UPDATE "{table}" SET tenant_id = tenant_id WHERE tenant_id = {b}')
            assert cur.rowcount == 0
        with refused_by_rls():
            with transaction.atomic(), connections["default"].cursor() as cur:
                cur.execute(f'UPDATE "{table}" SET tenant_id = {b}')


def test_the_app_role_cannot_switch_row_level_security_off(db):
    with pytest.raises(ProgrammingError) as excinfo:
        with transaction.atomic(), connections["default"].cursor() as cur:
            cur.execute('ALTER TABLE "tenancy_department" DISABLE ROW LEVEL SECURITY')
    assert isinstance(excinfo.value.__cause__, pg_errors.InsufficientPrivilege)


def test_a_department_head_row_cannot_point_at_another_tenants_department(world):
    """Composite foreign keys: row-level security alone would not catch this reference."""
    a = world.a.tenant.pk
    b_department = world.b.departments["legal"].pk
    a_membership = world.a.members["department_head"].pk
    with tenant_context(a):
        with pytest.raises(IntegrityError) as excinfo:
            with transaction.atomic(), connections["default"].cursor() as cur:
                cur.execute(
                    "INSERT INTO tenancy_departmenthead (tenant_id, department_id, membership_id) VALUES (%s, %s, %s)",
                    [a, b_department, a_membership])
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert isinstance(excinfo.value.__cause__, pg_errors.ForeignKeyViolation)
