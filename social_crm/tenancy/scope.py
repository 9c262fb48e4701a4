"""Where the tenant is set for the database: the only code that writes ``app.tenant_id``.

Row-level security (social_crm.core.rls) compares every tenant-owned row with the
per-transaction settings written here with ``set_config(name, value, is_local => true)``, which
is ``SET LOCAL``: they vanish when the transaction ends, so a pooled connection never carries a
tenant into the next request or task.

* ``tenant_context(tenant_id, user_id=None)``: a transaction in which one tenant is visible.
  Used by the scoped view/viewset bases, by ``@tenant_task`` and by commands.
* ``user_context(user_id)``: a transaction in which a user may read their own memberships in
  every tenant (to list and switch tenants) and nothing else tenant-owned.
* ``dangerously_cross_tenant(reason)``: the one named path for work that spans tenants (the
  beat fan-out, secret-token look-ups, platform staff in the Django admin). Grep for it.

Each context restores the previous settings on a normal exit, so nesting works and a test
transaction that wraps several requests does not keep the last tenant. On an exception the
transaction or savepoint is rolled back, which undoes SET LOCAL by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections, transaction

from social_crm.core.db import APP_ALIAS

logger = logging.getLogger(__name__)

_SETTINGS = ("app.tenant_id", "app.user_id", "app.cross_tenant")


def _read(cursor) -> tuple[str, str, str]:
    cursor.execute(
        "SELECT current_setting('app.tenant_id', true), current_setting('app.user_id', true), "
        "current_setting('app.cross_tenant', true)"
    )
    return tuple(value or "" for value in cursor.fetchone())


def _write(cursor, tenant_id: str, user_id: str, cross: str) -> None:
    cursor.execute(
        "SELECT set_config('app.tenant_id', %s, true), set_config('app.user_id', %s, true), "
        "set_config('app.cross_tenant', %s, true)",
        [tenant_id, user_id, cross],
    )


@contextmanager
def _scoped(tenant_id: int | None, user_id: int | None, cross: bool, using: str = APP_ALIAS) -> Iterator[None]:
    connection = connections[using]
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            previous = _read(cursor)
            _write(cursor, str(tenant_id or ""), str(user_id or ""), "on" if cross else "")
        yield
        if not connection.needs_rollback:
            with connection.cursor() as cursor:
                _write(cursor, *previous)


@contextmanager
def tenant_context(tenant_id: int, user_id: int | None = None) -> Iterator[None]:
    """Run the block in a transaction that sees only ``tenant_id``'s rows."""
    if not isinstance(tenant_id, int) or isinstance(tenant_id, bool) or tenant_id <= 0:
        raise ValueError(f"tenant_context needs a tenant id, got {tenant_id!r}")
    with _scoped(tenant_id, user_id, cross=False):
        yield


@contextmanager
def user_context(user_id: int) -> Iterator[None]:
    """Run the block in a transaction where the user may read their own memberships."""
    with _scoped(None, user_id, cross=False):
        yield


@contextmanager
def dangerously_cross_tenant(reason: str) -> Iterator[None]:
    """Every tenant's rows are visible inside this block. Say why; it is logged."""
    if not reason:
        raise ValueError("dangerously_cross_tenant needs a reason")
    logger.info("cross-tenant access: %s", reason)
    with _scoped(None, None, cross=True):
        yield


def current_tenant_id(using: str = APP_ALIAS) -> int | None:
    """The tenant id set on this connection's transaction (None outside a tenant context)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT app_current_tenant()")
        return cursor.fetchone()[0]
