"""Customer rows of the two-tenant world (called by tests/conftest.py build_world)."""

from __future__ import annotations


def add_customers(tw) -> None:
    """One row in every customers table for this tenant (none yet)."""
