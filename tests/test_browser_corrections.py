"""Correcting a mention's sentiment in the live stream, in a real browser (headless Debian
Chromium driven by Playwright): one click, the row is replaced in place by htmx.

Skipped (with the reason) when /usr/bin/chromium is missing, unless REQUIRE_BROWSER_TESTS is
set, as .ci/run does: then a missing browser is a failure.
"""

from __future__ import annotations

import pytest

from listening.models import Mention, SentimentLabel
from social_crm.tenancy.scope import tenant_context

# The same headless Chromium, skipped or required the same way (importing it skips this module too).
from .test_browser import browser, log_in, page  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases=["default", "owner"]),
]


def test_one_click_corrects_the_sentiment_and_the_row_updates_in_place(page, live_server, committed_world):
    tid = committed_world.a.tenant.pk
    with tenant_context(tid):
        mention = Mention.objects.filter(tenant_id=tid).order_by("id").first()
        Mention.objects.filter(tenant_id=tid, pk=mention.pk).update(
            detected_language="fr", sentiment="neutral", sentiment_confidence=0.42, sentiment_source="model",
            nlp_model_version="sentiment-fr-20261123-abcdef12", needs_review=True, review_reasons=["low_confidence"])
    log_in(page, live_server, "cm@example.com")
    page.goto(live_server.url + "/t/acme/mentions/")
    row = page.locator(f"[data-testid=mention-row][data-mention-id='{mention.pk}']")
    assert row.locator("[data-testid=review-reason]").inner_text() == "low confidence"
    page.evaluate("window.__sameDocument = true")  # gone if the click reloaded the page

    row.locator("[data-testid=correct-negative]").click()
    row.locator("[data-testid=corrected-by-person]").wait_for(state="visible")

    assert page.evaluate("window.__sameDocument") is True, "htmx must swap the row, not reload the page"
    assert row.locator("[data-testid=sentiment]").get_attribute("data-sentiment") == "negative"
    assert row.locator("[data-testid=correct-negative]").get_attribute("aria-pressed") == "true"
    assert row.locator("[data-testid=needs-review]").count() == 0
    assert page.locator("[data-testid=mention-row]").count() == 2  # replaced, not added
    with tenant_context(tid):
        assert Mention.objects.get(tenant_id=tid, pk=mention.pk).sentiment_source == "human"
        assert SentimentLabel.objects.get(tenant_id=tid, mention_id=mention.pk).label == "negative"
