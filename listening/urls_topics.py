"""Under /t/<tenant_slug>/ (included by listening/urls.py): NLP topics pages."""

urlpatterns: list = []
