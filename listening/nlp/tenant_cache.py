"""A per-process cache of something compiled from a tenant's rows (topic matchers, entity
rulers), rebuilt when a cheap stamp query says the rows changed. Workers never need a restart
after a tenant edits its rules: the next batch sees them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TenantCache(Generic[T]):
    MAX_TENANTS = 500  # a worker serves many tenants; the oldest entry goes first beyond this

    def __init__(self, stamp_sql: str, build: Callable[[int], T]):
        self._stamp_sql, self._build = stamp_sql, build  # stamp_sql: one row, tenant as %(t)s
        self._lock = threading.Lock()
        self._items: dict[int, tuple[tuple, T]] = {}

    def stamp(self, tenant_id: int) -> tuple:
        from django.db import connection

        from social_crm.tenancy.scope import tenant_context

        with tenant_context(tenant_id), connection.cursor() as cursor:
            cursor.execute(self._stamp_sql, {"t": tenant_id})
            return tuple(cursor.fetchone())

    def get(self, tenant_id: int) -> T:
        stamp = self.stamp(tenant_id)
        with self._lock:
            cached = self._items.get(tenant_id)
        if cached and cached[0] == stamp:
            return cached[1]
        value = self._build(tenant_id)  # outside the lock: building may take a second
        with self._lock:
            self._items.pop(tenant_id, None)
            if len(self._items) >= self.MAX_TENANTS:
                self._items.pop(next(iter(self._items)))
            self._items[tenant_id] = (stamp, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
