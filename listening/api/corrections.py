"""API: sentiment/topic corrections and the tenant's sentiment models."""


def register(router) -> None:
    """Register this module's viewsets on the tenant router (listening/api/urls.py)."""
