"""The shared inbox in a real browser (headless Debian Chromium driven by Playwright): a
community manager filters the inbox, opens a conversation and assigns it to themself with one
click (htmx swaps the triage panel in place) and with the keyboard shortcut.

Skipped (with the reason) when /usr/bin/chromium is missing, unless REQUIRE_BROWSER_TESTS is
set, as .ci/run does: then a missing browser is a failure.
"""

from __future__ import annotations

import pytest

from inbox import conversations as actions
from inbox.models import Conversation
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

# The same headless Chromium, skipped or required the same way (importing it skips this module too).
from .test_browser import browser, log_in, page  # noqa: F401 (fixtures)
from .world_inbox import make_mention

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases=["default", "owner"]),
]


def test_a_community_manager_filters_opens_and_assigns_a_conversation_to_themself(page, live_server, committed_world):
    w = committed_world
    tid = w.a.tenant.pk
    (pending,) = actions.attach_mentions(tid, [make_mention(w.a, "br-1", "Remboursement toujours pas reçu ?").pk])
    actions.conversation_update(tid, actor=None, conversation_id=pending, status="pending")
    log_in(page, live_server, "cm@example.com")
    page.goto(live_server.url + "/t/acme/inbox/")
    assert page.locator("[data-testid=conversation-row]").count() == 2

    page.locator("[data-filter=status] summary").click()
    page.get_by_label("Pending", exact=True).check()
    page.locator("[data-testid=apply-filters]").click()
    page.wait_for_url("**status=pending**")
    rows = page.locator("[data-testid=conversation-row]")
    assert rows.count() == 1 and rows.first.get_attribute("data-conversation-id") == str(pending)

    rows.first.locator("[data-testid=conversation-link]").click()
    page.wait_for_url(f"**/inbox/c/{pending}/")
    assert "Remboursement toujours pas reçu" in page.locator("[data-testid=messages]").inner_text()
    page.evaluate("window.__sameDocument = true")  # gone if the click reloaded the page
    page.locator("[data-testid=assign-to-me]").click()
    page.locator("[data-testid=current-assignee]", has_text="Carl Community").wait_for()
    assert page.evaluate("window.__sameDocument") is True, "htmx must swap the panel, not reload the page"
    with tenant_context(tid):
        assert Conversation.objects.get(tenant_id=tid, pk=pending).assignee_id is not None

    # The controls panel is swapped in by that answer: wait until htmx has swapped and settled
    # it (the new select only posts once htmx has processed it; a change before is lost).
    page.locator("[data-testid=conversation-controls] [data-testid=assign-to-me]").wait_for(state="detached")
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    page.locator("select[name=priority]").select_option("high")  # posts only the priority
    page.locator("select[name=priority] option[value=high][selected]").wait_for(state="attached")
    with tenant_context(tid):
        changed = Conversation.objects.get(tenant_id=tid, pk=pending)
    cm = w.a.members[Role.COMMUNITY_MANAGER].user
    assert (changed.priority, changed.status, changed.assignee_id) == ("high", "pending", cm.pk)  # others untouched

    page.keyboard.press("c")  # the close shortcut
    page.locator("[data-testid=close-conversation]").wait_for(state="detached")
    with tenant_context(tid):
        assert Conversation.objects.get(tenant_id=tid, pk=pending).status == "closed"
