"""Issue 5's flow in a real browser (headless Debian Chromium driven by Playwright): a community
manager filters the inbox, assigns a conversation to themself, replies with a canned answer, and
the department head sees the alert the routing rule opened for their department.

The negative mention comes in through inbox.conversations.attach_mentions, so the world's rule
"Complaints to customer service" really routes it and opens the Alert. The reply is published by
the real Celery task, run eagerly in the live server's thread when the reply commits; X is stubbed
at the HTTP transport with tweepy's recorded create-tweet answer, so tweepy builds and sends the
request. Skipped or required like tests/test_browser.py (REQUIRE_BROWSER_TESTS).
"""

from __future__ import annotations

import json

import pytest

from inbox.conversations import attach_mentions
from inbox.models import Alert, Conversation, Message
from listening import actions as listening_actions
from social_crm.celery import app as celery_app
from social_crm.tenancy.models import Notification
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

# The same headless Chromium, skipped or required the same way (importing it skips this module too).
from .test_browser import browser, log_in, page  # noqa: F401 (fixtures)
from .test_inbox_replies import USER_KEYS, created_tweet, http  # noqa: F401 (the HTTP transport stub fixture)
from .world_inbox import make_mention

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases=["default", "owner"]),
]

SCREENSHOT = "/tmp/reply_flow.png"


@pytest.fixture
def x_api(http):
    """``http`` (every requests call of the process, the live server's thread included, answered by
    one queue of recorded responses), with Celery tasks run in the thread that sends them."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield http
    celery_app.conf.task_always_eager = eager


def test_a_community_manager_replies_with_a_canned_answer_and_the_department_head_gets_the_alert(
        page, live_server, committed_world, x_api):
    w = committed_world
    tid = w.a.tenant.pk
    customer_service = w.a.departments["customer-service"]
    account = listening_actions.account_save(tid, actor=None, platform="x", name="Acme replies", external_id="555",
                                             handle="acme_care", credentials={"bearer_token": "b", **USER_KEYS})
    mention = make_mention(w.a, "1460323737035677698", "@acme mon colis n'est toujours pas arrivé, inadmissible",
                           author="u-9", account_id=account.pk, sentiment="negative")
    (conversation_id,) = attach_mentions(tid, [mention.pk])
    with tenant_context(tid):
        conversation = Conversation.objects.get(tenant_id=tid, pk=conversation_id)
        alert = Alert.objects.get(tenant_id=tid, conversation=conversation)
    assert (conversation.department_id, alert.department_id, alert.status) == (customer_service.pk,
                                                                               customer_service.pk, "open")
    assert alert.rule_id == w.a.routing_rule.pk, "opened by the rule 'Complaints to customer service'"
    head = w.a.members[Role.DEPARTMENT_HEAD].user
    with tenant_context(tid):
        (notified,) = Notification.objects.filter(tenant_id=tid, user=head, kind="alert.opened", read_at=None)
    assert f"#{conversation.number}" in notified.title + notified.body
    x_api.answers.append(created_tweet())

    # The community manager filters the inbox: negative, customer service.
    log_in(page, live_server, "cm@example.com")
    page.goto(live_server.url + "/t/acme/inbox/")
    page.locator("[data-filter=sentiment] summary").click()
    page.locator("[data-filter=sentiment]").get_by_label("Negative", exact=True).check()
    page.locator("[data-filter=department] summary").click()
    page.locator("[data-filter=department]").get_by_label("Customer service", exact=True).check()
    page.locator("[data-testid=apply-filters]").click()
    page.wait_for_url("**sentiment=negative**")
    assert f"department={customer_service.pk}" in page.url
    rows = page.locator("[data-testid=conversation-row]")
    ours = rows.and_(page.locator(f"[data-conversation-id='{conversation_id}']"))
    assert ours.count() == 1

    # Opens it and assigns it to themself (htmx swaps the triage panel).
    ours.locator("[data-testid=conversation-link]").click()
    page.wait_for_url(f"**/inbox/c/{conversation_id}/")
    assert "toujours pas arrivé" in page.locator("[data-testid=messages]").inner_text()
    page.locator("[data-testid=assign-to-me]").click()
    page.locator("[data-testid=current-assignee]", has_text="Carl Community").wait_for()

    # Replies with the canned answer "Delivery delay": it fills the box; the order number is the agent's to fill.
    canned = page.locator("[data-testid=canned-select] option", has_text="Delivery delay").first
    page.locator("[data-testid=canned-select]").select_option(canned.get_attribute("value"))
    box = page.locator("[data-testid=reply-box]")
    text = box.input_value()
    assert text == canned.get_attribute("data-text") and text, "the canned answer fills the reply box"
    assert "{order_number}" in text, "nothing in the conversation gives the order number"
    assert "order_number" in page.locator("[data-testid=canned-missing]").inner_text()
    text = text.replace("{order_number}", "778899")
    box.fill(text)
    page.locator("[data-testid=reply-send]").click()

    outbound = page.locator("[data-testid=message][data-direction=out]")
    outbound.first.wait_for()
    page.reload()
    assert outbound.count() == 1
    assert outbound.locator("[data-testid=message-text]").inner_text().strip() == text
    assert outbound.locator("[data-testid=delivery-status]").get_attribute("data-status") == "sent"

    # What reached X: one reply to the mention, in user context.
    (sent,) = x_api.sent
    assert (sent.method, sent.url) == ("POST", "https://api.twitter.com/2/tweets")
    assert json.loads(sent.body) == {"text": text, "reply": {"in_reply_to_tweet_id": mention.external_id}}
    assert sent.headers["Authorization"].startswith("OAuth ")
    with tenant_context(tid):
        reply = Message.objects.get(tenant_id=tid, conversation_id=conversation_id, direction="out")
        conversation = Conversation.objects.get(tenant_id=tid, pk=conversation_id)
    assert (reply.delivery_status, reply.external_id) == ("sent", "1456012973835788293")
    assert reply.canned_answer_id == w.a.canned_answer.pk
    assert conversation.assignee_id == reply.author_user_id and conversation.first_response_at == reply.sent_at

    # The head of customer service logs in and finds the routed alert on the department alerts page.
    page.locator("[data-testid=logout-form]").evaluate("form => form.requestSubmit()")
    page.wait_for_url(lambda url: f"/inbox/c/{conversation_id}/" not in url)
    log_in(page, live_server, "head@example.com")
    page.goto(live_server.url + "/t/acme/")
    assert page.locator("[data-testid=unread-count]").inner_text().startswith("1"), "the head's in-app notification"
    page.goto(live_server.url + "/t/acme/inbox/alerts/")
    row = page.locator(f"[data-testid=alert-row][data-alert-id='{alert.pk}']")
    assert row.get_attribute("data-status") == "open"
    assert f"#{conversation.number}" in row.locator("a").first.inner_text()
    assert "Customer service" in row.inner_text() and "Complaints to customer service" in row.inner_text()
    page.screenshot(path=SCREENSHOT, full_page=True)
