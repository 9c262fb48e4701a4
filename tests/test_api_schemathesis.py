"""Property-based checks of the whole /api/v1/ against its own OpenAPI schema (schemathesis).

The schema is the one the app serves (drf-spectacular, /api/schema/); schemathesis calls the
Django WSGI application in this process, so the requests see the test world of this test's
transaction. Every GET operation, and every POST with bodies generated from the request schema,
is called as tenant A's admin (an API token) and checked for:

* ``not_a_server_error``: no 5xx, whatever the (schema-valid) input;
* ``response_schema_conformance``: a documented status answers with a body of its schema;
* and each POST again with bodies that break its request schema (negative mode): never a 5xx.

Bounded for a shared 2-core machine: a few examples per operation, no shrinking, derandomized
(the same cases every run, so a failure is reproducible).
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from schemathesis import GenerationMode
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.urls import resolve
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

MAX_EXAMPLES = 6
CHECKS = [not_a_server_error, response_schema_conformance]
# Calling these would end the test's own session: the token used to authenticate is revoked.
SKIP = {("POST", "/api/v1/t/{tenant_slug}/tokens/{id}/revoke/")}


@pytest.fixture
def app():
    # Django's test client keeps the connection (and so the test's transaction) open across
    # requests by disconnecting these; a bare WSGI call must do the same.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _existing_id(path: str, tenant_slug: str, tenant_id: int):
    """The id of one object of the tenant that a detail path serves, if there is one."""
    concrete = re.sub(r"\{id\}", "1", path.replace("{tenant_slug}", tenant_slug))
    view = resolve(concrete).func
    cls = getattr(view, "cls", None)
    serializer = getattr(cls, "serializer_class", None)
    model = getattr(getattr(serializer, "Meta", None), "model", None) or getattr(cls, "model", None)
    if model is None:
        return None
    obj = model.objects.filter(tenant_id=tenant_id).order_by("id").first()
    return obj.pk if obj else None


def _run(operation, auth: dict, path_parameters: dict, mode=GenerationMode.POSITIVE, checks=CHECKS) -> list[str]:
    failures: list[str] = []

    @given(case=operation.as_strategy(mode, path_parameters=path_parameters))
    @hypothesis_settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def check(case):
        try:
            case.call_and_validate(headers=auth, checks=checks)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 (schemathesis' FailureGroup is a BaseExceptionGroup)
            # Recorded, not raised: every operation runs and the report lists them all.
            failures.append(f"{mode.value} {operation.method.upper()} {operation.path}: {type(exc).__name__}: "
                            f"{str(exc)[:1500]}")

    check()
    return failures[:2]


def test_every_get_and_post_operation_answers_without_5xx_and_as_documented(world, app, models, settings):
    settings.API_RATE_LIMIT = None  # hundreds of requests with one token: not what is tested here
    auth = {"Authorization": f"Bearer {world.a.token_key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", app)
    tenant = world.a.tenant
    failures, ran, negative = [], 0, 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() not in {"GET", "POST"} or (operation.method.upper(), operation.path) in SKIP:
            continue
        path_parameters = {"tenant_slug": tenant.slug} if "{tenant_slug}" in operation.path else {}
        if "{id}" in operation.path:
            pk = _existing_id(operation.path, tenant.slug, tenant.pk)
            if pk is not None:
                path_parameters["id"] = pk
        failures += _run(operation, auth, path_parameters)
        if operation.method.upper() == "POST" and operation.body:
            # Bodies that break the request schema: a 4xx, never a 5xx.
            failures += _run(operation, auth, path_parameters, GenerationMode.NEGATIVE, [not_a_server_error])
            negative += 1
        ran += 1
    print(f"schemathesis: {ran} operations ({negative} POSTs also with invalid bodies), up to {MAX_EXAMPLES} "
          "examples each")
    assert ran > 60 and negative > 20, f"only {ran} operations, {negative} with a body, in the schema"
    assert not failures, "\n\n".join(failures)
