"""social_crm.settings is strict: each case loads it in a fresh process with a controlled
environment (nothing inherited but PATH), so what the test process set cannot leak in."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings as test_settings

BASE_DIR = test_settings.BASE_DIR

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": secrets.token_hex(32),
    "DJANGO_ALLOWED_HOSTS": "crm.example.com",
    "DATABASE_URL": "postgres://owner@db.invalid/social_crm",
    "REDIS_URL": "redis://redis.invalid:6379/0",
}

SETUP = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='social_crm.settings'; django.setup()"


def controlled_env(**overrides: str | None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **PRODUCTION_ENV}
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def load_settings(print_expr: str = "", **overrides: str | None) -> subprocess.CompletedProcess:
    code = SETUP + (f"; from django.conf import settings; print(repr({print_expr}))" if print_expr else "")
    return subprocess.run([sys.executable, "-c", code], env=controlled_env(**overrides), cwd=BASE_DIR,
                          capture_output=True, text=True, timeout=120)


def refused(done: subprocess.CompletedProcess) -> str:
    """The ImproperlyConfigured message the process died with."""
    assert done.returncode != 0, f"settings loaded but should not have:\n{done.stdout}"
    found = re.findall(r"^django\.core\.exceptions\.ImproperlyConfigured: (.*)$", done.stderr, re.MULTILINE)
    assert found, f"no ImproperlyConfigured in:\n{done.stderr[-2000:]}"
    return found[-1]


def loaded(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_production_like_variables_load_and_debug_is_off_when_django_debug_is_unset():
    assert loaded(load_settings("(settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE)",
                                DJANGO_DEBUG=None)) == "(False, True, True)"


def test_django_debug_true_turns_debug_on():
    """The control for the test above: the variable is read at all."""
    assert loaded(load_settings("settings.DEBUG", DJANGO_DEBUG="true")) == "True"


def test_missing_secret_key_with_debug_off_fails_naming_django_secret_key():
    message = refused(load_settings(DJANGO_SECRET_KEY=None, DJANGO_DEBUG=None))
    assert message.startswith("DJANGO_SECRET_KEY is not set")


def test_missing_secret_key_is_allowed_only_with_debug_on():
    assert loaded(load_settings("settings.DEBUG", DJANGO_SECRET_KEY=None, DJANGO_DEBUG="true")) == "True"


def test_django_debug_maybe_fails_naming_the_variable():
    message = refused(load_settings(DJANGO_DEBUG="maybe"))
    assert message.startswith("DJANGO_DEBUG='maybe' is not a boolean")


@pytest.mark.parametrize("url", ["mysql://owner@db.invalid/social_crm", "sqlite:////tmp/social_crm.sqlite3"])
def test_a_non_postgres_database_url_fails(url):
    message = refused(load_settings(DATABASE_URL=url))
    assert "DATABASE_URL must be a PostgreSQL URL" in message


@pytest.mark.parametrize("url", ["mysql://owner@db.invalid/social_crm", "sqlite:////tmp/social_crm.sqlite3"])
def test_a_non_postgres_database_url_fails_naming_database_url_when_app_database_url_is_given(url):
    message = refused(load_settings(DATABASE_URL=url, APP_DATABASE_URL="postgres://app@db.invalid/social_crm"))
    assert message.startswith("DATABASE_URL must be a PostgreSQL URL")


def test_a_non_postgres_database_url_fails_naming_database_url_when_app_database_url_is_derived():
    message = refused(load_settings(DATABASE_URL="mysql://owner@db.invalid/social_crm"))
    assert message.startswith("DATABASE_URL must be a PostgreSQL URL")


def test_app_database_url_with_the_same_user_as_database_url_fails():
    message = refused(load_settings(APP_DATABASE_URL="postgres://owner:other@db.invalid/social_crm"))
    assert message.startswith("APP_DATABASE_URL uses the same role as DATABASE_URL")


def test_a_separate_app_database_url_role_loads():
    """The control for the test above."""
    assert loaded(load_settings("(settings.DATABASES['default']['USER'], settings.DATABASES['owner']['USER'])",
                                APP_DATABASE_URL="postgres://crm_app@db.invalid/social_crm")) == "('crm_app', 'owner')"


def test_django_secret_key_file_is_read_and_wins_over_the_variable(tmp_path):
    key = secrets.token_hex(32)
    key_file = tmp_path / "secret_key"
    key_file.write_text(key + "\n")
    out = loaded(load_settings("settings.SECRET_KEY", DJANGO_SECRET_KEY=None, DJANGO_SECRET_KEY_FILE=str(key_file)))
    assert out == repr(key)
    out = loaded(load_settings("settings.SECRET_KEY", DJANGO_SECRET_KEY="from-the-variable",
                               DJANGO_SECRET_KEY_FILE=str(key_file)))
    assert out == repr(key)


def test_an_unreadable_django_secret_key_file_fails_naming_it(tmp_path):
    message = refused(load_settings(DJANGO_SECRET_KEY=None, DJANGO_SECRET_KEY_FILE=str(tmp_path / "missing")))
    assert message.startswith("DJANGO_SECRET_KEY_FILE=")


def run_deploy_check(**overrides: str | None) -> subprocess.CompletedProcess:
    env = controlled_env(DJANGO_SETTINGS_MODULE="social_crm.settings", **overrides)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=300)


def test_check_deploy_passes_with_production_like_variables():
    done = run_deploy_check()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_check_deploy_fails_when_a_production_default_is_weakened():
    """The control for the test above: the deploy checks do run and warnings do fail."""
    done = run_deploy_check(DJANGO_SECURE_SSL_REDIRECT="false")
    assert done.returncode != 0
    assert "security.W008" in done.stderr


def test_hsts_preload_warning_is_silenced_only_while_preload_is_off():
    assert loaded(load_settings("'security.W021' in settings.SILENCED_SYSTEM_CHECKS")) == "True"
    assert loaded(load_settings("('security.W021' in settings.SILENCED_SYSTEM_CHECKS, settings.SECURE_HSTS_PRELOAD)",
                                DJANGO_HSTS_PRELOAD="true")) == "(False, True)"
