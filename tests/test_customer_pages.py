"""Customer pages: list and search, the customer page (identities, suggestions with their
evidence, merges with undo, the cross-platform timeline), import report, export, the card."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from social_crm.customers.models import Customer, LinkSuggestion
from social_crm.tenancy.scope import tenant_context

from .conftest import login

pytestmark = pytest.mark.django_db


def _url(name, **kwargs):
    return reverse(name, kwargs={"tenant_slug": "acme", **kwargs})


def test_the_list_searches_accent_folded_names_and_emails(client, world):
    login(client, "cm@example.com")
    page = client.get(_url("customers"), {"q": "JEANNE"})
    assert page.status_code == 200 and b"Jeanne Martin" in page.content and b"Some One" not in page.content
    assert b"Some One" in client.get(_url("customers"), {"q": "some.one@"}).content
    assert b"Someone (old record)" not in client.get(_url("customers")).content  # merged: hidden


def test_the_list_has_a_fixed_number_of_queries(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from social_crm.customers import actions

    login(client, "cm@example.com")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(_url("customers")).status_code == 200
        return len(queries)

    few = count()
    for i in range(20):
        actions.customer_save(world.a.tenant.pk, actor=None, name=f"Client {i}", emails=[f"c{i}@example.com"])
    assert count() == few  # no query per row


def test_the_customer_page_shows_evidence_merges_and_the_timeline(client, world):
    a = world.a
    with tenant_context(a.tenant.pk):
        LinkSuggestion.objects.filter(pk=a.suggestion.pk).update(customer=a.customer)
    login(client, "cm@example.com")
    page = client.get(_url("customer-detail", customer_id=a.customer.pk))
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="suggestion"' in body and "someone" in body and "Same handle" in body
    assert 'data-testid="undo-merge"' in body and "Someone (old record)" in body
    assert 'data-testid="timeline"' not in body  # no linked identity yet
    response = client.post(_url("suggestion-confirm", suggestion_id=a.suggestion.pk))
    assert response.status_code == 302
    body = client.get(_url("customer-detail", customer_id=a.customer.pk)).content.decode()
    assert 'data-testid="timeline-item"' in body and f"#{a.conversation.number}" in body


def test_merge_then_undo_through_the_page(client, world):
    a = world.a
    login(client, "cm@example.com")
    response = client.post(_url("customer-merge", customer_id=a.customer.pk), {"merged": a.other_customer.pk})
    assert response.status_code == 302
    with tenant_context(a.tenant.pk):
        assert Customer.objects.get(pk=a.other_customer.pk).merged_into_id == a.customer.pk
        record = a.customer  # the newest merge of the survivor
        from social_crm.customers.models import MergeRecord

        newest = MergeRecord.objects.filter(survivor=record).order_by("-id").first()
    assert client.post(_url("customer-merge-undo", merge_id=newest.pk)).status_code == 302
    with tenant_context(a.tenant.pk):
        assert Customer.objects.get(pk=a.other_customer.pk).merged_into_id is None
    bad = client.post(_url("customer-merge", customer_id=a.customer.pk), {"merged": a.customer.pk})
    assert bad.status_code == 400 and b"cannot be merged into itself" in bad.content


def test_import_page_shows_the_rejected_rows_and_export_downloads_csv(client, world):
    login(client, "admin@example.com")
    upload = SimpleUploadedFile("c.csv", b"name,emails\nAna,ana@example.com\nBob,not-mail\n", content_type="text/csv")
    page = client.post(_url("customers-import"), {"file": upload})
    assert page.status_code == 200
    assert b'data-testid="rejected-rows"' in page.content and b"<td>3</td>" in page.content
    export = client.get(_url("customers-export"))
    assert export["Content-Type"].startswith("text/csv")
    content = b"".join(export.streaming_content).decode()
    assert content.splitlines()[0].startswith("external_crm_id,name") and "Ana" in content


def _render_card(world, author, role_email="cm@example.com"):
    from social_crm.tenancy.models import Membership

    request = RequestFactory().get("/")
    with tenant_context(world.a.tenant.pk):
        request.membership = Membership.objects.select_related("tenant").get(
            tenant_id=world.a.tenant.pk, user__email=role_email)
        return Template('{% include "customers/_card.html" %}').render(Context({"author": author, "request": request}))


def test_the_card_shows_suggestions_then_the_linked_customer(client, world):
    a = world.a
    with tenant_context(a.tenant.pk):
        author = a.identity.author
    html = _render_card(world, author)
    assert 'data-testid="card-suggestion"' in html and "Some One" in html and 'hx-post="' in html
    login(client, "cm@example.com")
    response = client.post(_url("suggestion-confirm", suggestion_id=a.suggestion.pk), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b'data-testid="card-customer"' in response.content
    assert b"some.one@example.com" in response.content
    assert 'data-testid="card-customer"' in _render_card(world, author, "head@example.com")
    assert "customer-card" not in _render_card(world, author, "marketer@example.com")  # no CUSTOMERS_VIEW
