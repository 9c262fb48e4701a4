"""The topic and entity-term pages and API as people use them, in English and French: the list
with its counts, the form and its htmx test against the last N mentions, the starter topics,
and 400s with field errors for bad rules or another tenant's mentions."""

from __future__ import annotations

import json
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from listening.models import EntityTerm, Mention, MentionTopic, Topic, TopicExample
from social_crm.tenancy.scope import tenant_context

from .conftest import login
from .test_nlp_topics import ingest, topic_actions_mention


def speak_french(email: str) -> None:
    get_user_model().objects.filter(email=email).update(language="fr")


def post_json(client, path: str, body: dict, method: str = "post"):
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json")


# --- Pages ---------------------------------------------------------------------------------------


def test_the_topic_list_shows_keywords_and_counts_in_a_fixed_number_of_queries(client, world):
    a = world.a.tenant.pk
    with tenant_context(a):  # the world's fixed dates age out of the page's window on later days
        Mention.objects.update(created_at=timezone.now() - timedelta(days=1))
    login(client, "admin@example.com")
    with CaptureQueriesContext(connection) as one_topic:
        page = client.get("/t/acme/listening/topics/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Delivery" in body and "livraison" in body and 'data-testid="new-topic"' in body
    assert '<td class="text-end" data-testid="topic-examples">1</td>' in body
    assert '<td class="text-end" data-testid="topic-mentions">1</td>' in body
    assert client.post("/t/acme/listening/topics/starters/").status_code == 302
    with CaptureQueriesContext(connection) as five_topics:
        body = client.get("/t/acme/listening/topics/").content.decode()
    assert body.count('data-testid="topic-row"') == 5
    assert len(five_topics) == len(one_topic)  # the counts are subqueries, not a query per topic
    with tenant_context(a):
        assert Topic.objects.filter(tenant_id=a).count() == 5
    assert f'data-topic-id="{world.b.topic.pk}"' not in body
    login(client, "marketer@example.com")  # may look, not change
    body = client.get("/t/acme/listening/topics/").content.decode()
    assert body.count('data-testid="topic-row"') == 5 and 'data-testid="new-topic"' not in body


def test_a_topic_is_created_from_the_form_with_examples(client, world):
    a = world.a.tenant.pk
    (example,) = ingest(a, ["Facturé deux fois pour la même commande"])
    login(client, "admin@example.com")
    assert client.get("/t/acme/listening/topics/new/").status_code == 200
    response = client.post("/t/acme/listening/topics/new/", {
        "name": "Billing", "keywords": "facture\n\nrembours*\n-promo", "description": "Invoices", "is_active": "on",
        "example_mention_ids": [example]})
    assert response.status_code == 302
    with tenant_context(a):
        topic = Topic.objects.get(tenant_id=a, name="Billing")
        assert topic.keywords == ["facture", "rembours*", "-promo"]
        assert list(TopicExample.objects.filter(topic=topic).values_list("mention_id", flat=True)) == [example]
    edit = client.get(f"/t/acme/listening/topics/{topic.pk}/").content.decode()
    assert f'value="{example}" id="example-{example}" checked' in edit
    # Unticking the example and saving removes it.
    assert client.post(f"/t/acme/listening/topics/{topic.pk}/", {
        "name": "Billing", "keywords": "facture", "is_active": "on"}).status_code == 302
    with tenant_context(a):
        assert not TopicExample.objects.filter(topic=topic).exists()


def test_a_bad_keyword_line_is_shown_on_the_form(client, world):
    login(client, "admin@example.com")
    response = client.post("/t/acme/listening/topics/new/", {"name": "Bad", "keywords": 'colis\n"point relais',
                                                             "is_active": "on"})
    assert response.status_code == 400
    assert "Line 2" in response.content.decode() and "closing quote" in response.content.decode()


def test_the_test_button_shows_matches_through_htmx_and_saves_nothing(client, world):
    a = world.a.tenant.pk
    ids = ingest(a, ["Ma facture est fausse", "Colis perdu", "Facture en double, remboursez-moi"])
    login(client, "admin@example.com")
    with tenant_context(a):
        before = (Topic.objects.count(), MentionTopic.objects.count())
    response = client.post("/t/acme/listening/topics/new/", {"name": "", "keywords": "facture", "last_n": "50",
                                                             "preview": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and 'data-testid="topic-preview"' in body
    shown = [int(part.split('"')[0]) for part in body.split('data-testid="preview-hit" data-mention-id="')[1:]]
    assert shown == [ids[2], ids[0]]
    assert 'form="topic-form" name="example_mention_ids"' in body  # tick to keep as an example
    with tenant_context(a):
        assert (Topic.objects.count(), MentionTopic.objects.count()) == before
    # Without htmx the whole page comes back with the results in it.
    page = client.post("/t/acme/listening/topics/new/", {"name": "", "keywords": "facture", "preview": "1"})
    assert page.status_code == 200 and "<html" in page.content.decode() and "Ma facture est fausse" in page.content.decode()
    # A bad line: the panel says why.
    bad = client.post("/t/acme/listening/topics/new/", {"keywords": "r*", "preview": "1"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "at least 2 letters" in bad.content.decode()


def test_another_tenants_mention_as_an_example_is_refused_on_the_form(client, world):
    login(client, "admin@example.com")
    foreign = topic_actions_mention(world.b)
    response = client.post("/t/acme/listening/topics/new/", {"name": "Billing", "keywords": "facture",
                                                             "example_mention_ids": [foreign], "preview": "1"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "Unknown mention" in response.content.decode()


def test_topic_and_term_pages_work_in_french(client, world):
    speak_french("admin@example.com")
    login(client, "admin@example.com")
    assert client.post("/t/globex/listening/topics/starters/").status_code == 403  # a marketer in B
    assert client.post("/t/acme/listening/topics/starters/").status_code == 302
    for path in ("/t/acme/listening/topics/", "/t/acme/listening/topics/new/", "/t/acme/listening/entities/",
                 "/t/acme/listening/entities/new/", f"/t/acme/listening/topics/{world.a.topic.pk}/"):
        response = client.get(path)
        assert response.status_code == 200 and response["Content-Language"] == "fr", path
        assert '<html lang="fr">' in response.content.decode()
    # The tenant's language (English for Acme) names the starter topics, not the user's.
    with tenant_context(world.a.tenant.pk):
        assert "Billing" in set(Topic.objects.filter(tenant_id=world.a.tenant.pk).values_list("name", flat=True))


def test_entity_terms_are_created_edited_and_deleted_from_the_pages(client, world):
    a = world.a.tenant.pk
    login(client, "admin@example.com")
    response = client.post("/t/acme/listening/entities/new/", {"kind": "product", "name": "Lampe Opaline",
                                                               "patterns": "Opaline lamp\n\nOpaline", "is_active": "on"})
    assert response.status_code == 302
    with tenant_context(a):
        term = EntityTerm.objects.get(tenant_id=a, name="Lampe Opaline")
    assert term.patterns == ["Opaline lamp", "Opaline"]
    listing = client.get("/t/acme/listening/entities/").content.decode()
    assert "Lampe Opaline" in listing and "Opaline lamp" in listing
    duplicate = client.post("/t/acme/listening/entities/new/", {"kind": "product", "name": "lampe opaline"})
    assert duplicate.status_code == 400 and "already has this name" in duplicate.content.decode()
    assert client.post(f"/t/acme/listening/entities/{term.pk}/delete/").status_code == 302
    with tenant_context(a):
        assert not EntityTerm.objects.filter(pk=term.pk).exists()


# --- API -----------------------------------------------------------------------------------------


def test_the_topic_api_creates_lists_and_previews_in_both_languages(client, world):
    a = world.a.tenant.pk
    (example,) = ingest(a, ["Facturé deux fois pour la même commande"])
    login(client, "admin@example.com")
    created = post_json(client, "/api/v1/t/acme/topics/", {"name": "Billing", "keywords": ["facture", "rembours*"],
                                                           "example_mention_ids": [example]})
    assert created.status_code == 201, created.content
    assert created.json()["example_mention_ids"] == [example] and created.json()["example_count"] == 1
    listed = client.get("/api/v1/t/acme/topics/").json()["results"]
    assert sorted(t["name"] for t in listed) == ["Billing", "Delivery"]
    patched = post_json(client, f"/api/v1/t/acme/topics/{created.json()['id']}/", {"is_active": False}, "patch")
    assert patched.status_code == 200 and patched.json()["example_mention_ids"] == [example]  # kept
    preview = post_json(client, "/api/v1/t/acme/topics/preview/", {"keywords": ["facture", "factur*"], "last_n": 50})
    assert preview.status_code == 200
    assert [(h["mention"]["id"], h["source"]) for h in preview.json()["matched"]] == [(example, "rule")]
    speak_french("admin@example.com")
    bad = post_json(client, "/api/v1/t/acme/topics/", {"name": "Mauvais", "keywords": ["service client"]})
    assert bad.status_code == 400 and list(bad.json()) == ["keywords"] and bad["Content-Language"] == "fr"


def test_the_topic_api_refuses_another_tenants_mentions_with_a_field_error(client, world):
    login(client, "admin@example.com")
    foreign = topic_actions_mention(world.b)
    for path, method, body, field in (
        ("/api/v1/t/acme/topics/", "post", {"name": "Billing", "keywords": ["facture"],
                                            "example_mention_ids": [foreign]}, "example_mention_ids"),
        (f"/api/v1/t/acme/topics/{world.a.topic.pk}/", "put", {"name": "Delivery", "keywords": ["colis"],
                                                               "example_mention_ids": [foreign]}, "example_mention_ids"),
        ("/api/v1/t/acme/topics/preview/", "post", {"keywords": ["colis"], "example_mention_ids": [foreign]},
         "example_mention_ids"),
        ("/api/v1/t/acme/topics/preview/", "post", {"keywords": ["colis"], "negative_mention_ids": [foreign]},
         "negative_mention_ids"),
    ):
        response = post_json(client, path, body, method)
        assert response.status_code == 400 and field in response.json(), (path, response.content)
    with tenant_context(world.a.tenant.pk):
        assert list(Topic.objects.filter(tenant_id=world.a.tenant.pk).values_list("keywords", flat=True)) == [
            ["livraison", "colis", "delivery"]]


def test_the_entity_term_api_validates_and_shows_only_the_tenants_terms(client, world):
    login(client, "admin@example.com")
    created = post_json(client, "/api/v1/t/acme/entity-terms/", {"kind": "handle", "name": "@acme_support"})
    assert created.status_code == 201
    duplicate = post_json(client, "/api/v1/t/acme/entity-terms/", {"kind": "handle", "name": "@ACME_support"})
    assert duplicate.status_code == 400 and list(duplicate.json()) == ["name"]
    listed = client.get("/api/v1/t/acme/entity-terms/").json()["results"]
    assert sorted(t["id"] for t in listed) == sorted([world.a.entity_term.pk, created.json()["id"]])


def test_the_topic_api_list_makes_no_query_per_topic(client, world):
    login(client, "admin@example.com")
    with CaptureQueriesContext(connection) as one_topic:
        assert len(client.get("/api/v1/t/acme/topics/").json()["results"]) == 1
    assert client.post("/t/acme/listening/topics/starters/").status_code == 302
    with CaptureQueriesContext(connection) as five_topics:
        listed = client.get("/api/v1/t/acme/topics/").json()["results"]
    assert len(listed) == 5 and len(five_topics) == len(one_topic)
    assert {t["name"]: t["example_count"] for t in listed}["Delivery"] == 1
