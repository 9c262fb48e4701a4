"""Settings of `make bench-inbox`: the benches' production settings (DEBUG off), with static
files served by name rather than through collectstatic's manifest (the bench renders pages
without having run collectstatic; the manifest look-up it skips is one dict access)."""

from listening.bench.settings import *  # noqa: F403

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
