"""The API rate limit (social_crm/tenancy/api/throttle.py) against the real Redis of the run."""

from __future__ import annotations

import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import reverse

from social_crm.core.redis import client as redis_client, key
from social_crm.tenancy import actions
from social_crm.tenancy.api import throttle
from social_crm.tenancy.permissions import Role

from .conftest import login
from .test_settings import loaded, load_settings, refused


@pytest.fixture(autouse=True)
def _closed_circuit():
    throttle._open_until = 0.0
    yield
    throttle._open_until = 0.0


def _url(slug: str) -> str:
    return reverse("api-departments-list", kwargs={"tenant_slug": slug})


def _get(client_, slug: str, token: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client_.get(_url(slug), **headers)


def _token_pk(raw: str) -> int:
    from social_crm.tenancy.actions import api_token_authenticate

    return api_token_authenticate(raw).pk


def test_the_request_over_the_limit_gets_429_with_retry_after_the_seconds_left_in_the_window(world, client, settings):
    settings.API_RATE_LIMIT = (3, 60)
    assert [_get(client, "acme", world.a.token_key).status_code for _ in range(3)] == [200, 200, 200]
    response = _get(client, "acme", world.a.token_key)
    left_ms = redis_client().pttl(key("api-rate", f"token:{_token_pk(world.a.token_key)}"))
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    # The window opened at the first request, a moment ago: about 60 s are left, and the header
    # is the counter's remaining time rounded up (it may have crossed a second boundary since).
    assert 0 < left_ms <= 60_000
    assert retry_after in (math.ceil(left_ms / 1000), math.ceil(left_ms / 1000) + 1)
    assert 58 <= retry_after <= 60
    body = response.json()
    assert body["retry_after"] == retry_after and "throttled" in body["detail"].lower()
    assert response["Content-Type"].startswith("application/json")


def test_two_tokens_have_their_own_budgets(world, client, settings):
    settings.API_RATE_LIMIT = (2, 60)
    cm = world.a.members[Role.COMMUNITY_MANAGER].user
    _token, other = actions.api_token_create(world.a.tenant.pk, user=cm, name="bi")
    assert [_get(client, "acme", world.a.token_key).status_code for _ in range(3)] == [200, 200, 429]
    assert [_get(client, "acme", other).status_code for _ in range(3)] == [200, 200, 429]
    # A second token of the same person counts on its own too.
    admin = world.a.members[Role.ADMIN].user
    _token, second = actions.api_token_create(world.a.tenant.pk, user=admin, name="second")
    assert _get(client, "acme", second).status_code == 200


def test_the_budget_comes_back_when_the_window_ends(world, client, settings):
    settings.API_RATE_LIMIT = (2, 1)
    assert [_get(client, "acme", world.a.token_key).status_code for _ in range(3)] == [200, 200, 429]
    response = _get(client, "acme", world.a.token_key)
    assert response.status_code == 429 and response["Retry-After"] == "1"
    time.sleep(1.05)
    assert [_get(client, "acme", world.a.token_key).status_code for _ in range(3)] == [200, 200, 429]


def test_tenants_are_isolated_for_tokens_and_for_a_session_user_of_both(world, client, settings):
    settings.API_RATE_LIMIT = (2, 60)
    assert [_get(client, "acme", world.a.token_key).status_code for _ in range(3)] == [200, 200, 429]
    assert _get(client, "globex", world.b.token_key).status_code == 200
    # admin@example.com is the admin of acme and a marketer in globex: one budget per tenant.
    login(client, "admin@example.com")
    assert [_get(client, "acme").status_code for _ in range(3)] == [200, 200, 429]
    assert [_get(client, "globex").status_code for _ in range(3)] == [200, 200, 429]
    # ... and the session's budget is not the token's (the token of globex's admin is untouched).
    client.logout()
    assert _get(client, "globex", world.b.token_key).status_code == 200


def test_every_api_view_is_throttled_token_bound_ones_included(world, client, settings):
    settings.API_RATE_LIMIT = (1, 60)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world.a.token_key}"}
    assert client.get(reverse("api-me"), **auth).status_code == 200
    assert client.get(reverse("api-mentions-list", kwargs={"tenant_slug": "acme"}), **auth).status_code == 429
    assert client.post(reverse("api-nlp-analyze-token"), {"texts": ["ok"]}, content_type="application/json",
                       **auth).status_code == 429


def test_a_redis_outage_lets_requests_through_and_is_logged_once(world, client, settings, caplog):
    settings.API_RATE_LIMIT = (1, 60)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there: connection refused
    with caplog.at_level(logging.ERROR, logger="social_crm.tenancy.api.throttle"):
        assert [_get(client, "acme", world.a.token_key).status_code for _ in range(3)] == [200, 200, 200]
    errors = [r for r in caplog.records if r.name == "social_crm.tenancy.api.throttle"]
    assert len(errors) == 1 and "Redis error" in errors[0].getMessage()


def test_counting_is_atomic_under_concurrent_requests(settings):
    name = f"atomic-{time.monotonic_ns()}"
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _i: throttle.hit(name, 60), range(200)))
    assert sorted(count for count, _ttl in results) == list(range(1, 201))
    assert all(0 < ttl <= 60_000 for _count, ttl in results)
    assert 0 < redis_client().pttl(key("api-rate", name)) <= 60_000


def test_api_rate_limit_is_parsed_strictly():
    assert loaded(load_settings("settings.API_RATE_LIMIT", API_RATE_LIMIT="100/10s")) == "(100, 10)"
    assert loaded(load_settings("settings.API_RATE_LIMIT", API_RATE_LIMIT=None)) == "(1200, 60)"
    assert loaded(load_settings("settings.API_RATE_LIMIT", API_RATE_LIMIT="off")) == "None"
    assert "API_RATE_LIMIT" in refused(load_settings(API_RATE_LIMIT="lots"))
    assert "API_RATE_LIMIT" in refused(load_settings(API_RATE_LIMIT="0/minute"))

