"""The main flows in a real browser: headless Debian Chromium driven by Playwright.

Skipped (with the reason) when /usr/bin/chromium is missing, unless REQUIRE_BROWSER_TESTS is
set, as .ci/run does: then a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from social_crm.tenancy.models import Invitation
from social_crm.tenancy.scope import tenant_context

from .conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases=["default", "owner"]),
]

if not Path(CHROMIUM).exists():
    if os.environ.get("REQUIRE_BROWSER_TESTS"):
        raise RuntimeError(f"{CHROMIUM} is required (REQUIRE_BROWSER_TESTS is set): apt-get install chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def log_in(page, live_server, email):
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_an_admin_logs_in_invites_a_colleague_and_switches_tenant(page, live_server, committed_world):
    log_in(page, live_server, "admin@example.com")
    # Member of two tenants: the chooser lists both.
    assert page.url == live_server.url + "/"
    assert page.get_by_text("Acme").first.is_visible() and page.get_by_text("Globex").first.is_visible()
    page.goto(live_server.url + "/t/acme/members/")
    assert page.locator("[data-testid=member-row]").count() == 4
    form = page.locator("#invite-form")
    form.locator("input[name=email]").fill("newcomer2@example.com")
    form.locator("select[name=role]").select_option("marketer")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=newcomer2@example.com")
    with tenant_context(committed_world.a.tenant.pk):
        assert Invitation.objects.filter(tenant_id=committed_world.a.tenant.pk, email="newcomer2@example.com").exists()
    assert page.locator("[data-testid=invitation-row]").filter(has_text="newcomer2@example.com").count() == 1
    # Switch to the other tenant, where the same person is only a marketer: no audit log link.
    page.goto(live_server.url + "/t/globex/")
    assert page.locator("a[href='/t/globex/audit/']").count() == 0
    page.goto(live_server.url + "/t/acme/")
    assert page.locator("a[href='/t/acme/audit/']").count() >= 1


def test_a_bad_invitation_shows_field_errors_in_the_page(page, live_server, committed_world):
    log_in(page, live_server, "admin@example.com")
    page.goto(live_server.url + "/t/acme/members/")
    form = page.locator("#invite-form")
    form.locator("input[name=email]").fill("cm@example.com")  # already a member
    form.locator("select[name=role]").select_option("marketer")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=already a member")


def test_the_language_switcher_turns_the_interface_french(page, live_server, committed_world):
    log_in(page, live_server, "admin@example.com")
    page.goto(live_server.url + "/t/acme/members/")
    page.locator("[data-testid=language-form]").locator("xpath=../..").locator(".dropdown-toggle").click()
    page.locator("[data-testid=language-form] button[value=fr]").click()
    page.wait_for_selector("html[lang=fr]")
    assert page.get_by_role("heading", name=re.compile("Membres")).count() >= 1
    # The choice is kept on the profile: a new session is French too.
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.get(email="admin@example.com").language == "fr"


def test_pages_are_usable_on_a_phone(browser, live_server, committed_world):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        log_in(page, live_server, "admin@example.com")  # the admin sees the widest pages
        page.goto(live_server.url + "/t/acme/departments/")
        toggler = page.locator(".navbar-toggler")
        assert toggler.is_visible()
        toggler.click()
        page.get_by_role("link", name=re.compile("Members")).first.wait_for(state="visible")
        # Nothing wider than the screen on any page: wide tables scroll inside their card.
        for path in ("/t/acme/", "/t/acme/members/", "/t/acme/departments/", "/t/acme/settings/",
                     "/t/acme/audit/", "/t/acme/tokens/", "/accounts/profile/"):
            page.goto(live_server.url + path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    finally:
        context.close()


def test_logging_out_ends_the_session(page, live_server, committed_world):
    log_in(page, live_server, "marketer@example.com")
    page.goto(live_server.url + "/t/acme/")
    page.locator("[data-testid=user-menu] .dropdown-toggle").click()
    page.locator("[data-testid=logout-form] button").click()
    page.wait_for_url(re.compile(r".*/accounts/login/.*"))
    page.goto(live_server.url + "/t/acme/")
    assert "/accounts/login/" in page.url
