"""API: topics and entity terms."""


def register(router) -> None:
    """Register this module's viewsets on the tenant router (listening/api/urls.py)."""
