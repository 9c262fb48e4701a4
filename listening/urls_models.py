"""Under /t/<tenant_slug>/ (included by listening/urls.py): NLP models pages."""

urlpatterns: list = []
