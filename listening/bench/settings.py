"""Settings of the processes `make bench-ingest` starts: production settings (DEBUG off), plus
the bench's own key prefix on the broker's keys too, so its queues never mix with those of a
deployment, a `make run` or a test run sharing the same Redis."""

import os
import secrets

os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + secrets.token_hex(16))
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost")

from social_crm.settings import *  # noqa: E402,F403

CELERY_BROKER_TRANSPORT_OPTIONS = {  # noqa: F405
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "global_keyprefix": CACHES["default"]["KEY_PREFIX"] + ":",  # noqa: F405
}
