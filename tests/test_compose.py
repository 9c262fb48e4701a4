"""docker-compose.yml cannot run here (no Docker engine on our machines; README says so), so
its shape is checked instead: one image for every app process, the same settings for each, the
secrets required rather than defaulted, and the app connecting as the non-owner role."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = {"migrate", "web", "worker", "beat"}


def load():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_stack_has_every_process_and_one_image_for_the_app():
    services = load()["services"]
    assert set(services) == {"postgres", "redis"} | APP_SERVICES
    assert {services[s]["image"] for s in APP_SERVICES} == {"social-crm:latest"}
    assert all(services[s]["build"] == "." for s in APP_SERVICES)
    environments = [services[s]["environment"] for s in APP_SERVICES]
    assert all(env == environments[0] for env in environments)
    assert "gunicorn" in services["web"]["command"] and services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert services["worker"]["command"][:3] == ["celery", "-A", "social_crm"] and "beat" in services["beat"]["command"]


def test_secrets_are_required_and_the_app_role_is_not_the_owner():
    env = load()["services"]["web"]["environment"]
    for name in ("DJANGO_SECRET_KEY",):
        assert env[name].startswith("${" + name + ":?"), f"{name} must be required, never defaulted"
    assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"] and "${APP_DB_PASSWORD:?" in env["APP_DATABASE_URL"]
    assert env["DATABASE_URL"].split("://")[1].split(":")[0] == "postgres"
    assert env["APP_DATABASE_URL"].split("://")[1].split(":")[0] == "social_crm_app"
    assert "DJANGO_DEBUG" not in env


def test_the_web_service_waits_for_migrations_and_is_health_checked():
    web = load()["services"]["web"]
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/healthz" in " ".join(web["healthcheck"]["test"])
