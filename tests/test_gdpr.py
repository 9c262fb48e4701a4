"""GDPR (issue #5 item 7): export of a customer or a handle, erasure that leaves no personal
text for that person in any table of the tenant, the retention period, platform deletions.
Real PostgreSQL, as the application role with row-level security on."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from inbox.models import Alert, AlertComment, Conversation, ConversationEvent, Message, Note
from listening.connectors.base import AuthorData, MentionData, Page
from listening.ingest import ingest_page
from listening.models import Author, Mention, SentimentLabel, TopicExample
from social_crm.customers import actions, gdpr, linking
from social_crm.customers.models import Customer, SocialIdentity
from social_crm.customers.tasks import retention_tenant
from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.models import AuditEvent, Notification
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .conftest import login

pytestmark = pytest.mark.django_db

NAME, HANDLE, EMAIL, PHONE = "Zoé Quintessa", "zquintessa", "zoe.quintessa@example.org", "+33698765432"
TERMS = ("Quintessa", HANDLE, EMAIL, PHONE, "zq-user-1", "zq-user-2")
SAYS = f"Je suis {NAME}, écrivez à {EMAIL} ou au {PHONE} (@{HANDLE})"


def make_subject(tw) -> dict:
    """A customer with two identities (x and mastodon), their mentions, a conversation with an
    inbound message, a reply, a note, an event and an alert comment quoting them, a correction,
    a topic example and audit rows: the same in every tenant."""
    tid = tw.tenant.pk
    customer = actions.customer_save(tid, actor=None, name=NAME, emails=[EMAIL], phones=["06 98 76 54 32"],
                                     handles=[f"@{HANDLE}"], notes=f"Client fidèle, {EMAIL}")
    cm = tw.members[Role.COMMUNITY_MANAGER].user
    mentions = []
    with tenant_context(tid):
        for n, platform in ((1, "x"), (2, "mastodon")):
            author = Author.objects.create(tenant_id=tid, platform=platform, platform_user_id=f"zq-user-{n}",
                                           handle=HANDLE, name=NAME, profile_url=f"https://example.org/@{HANDLE}")
            mentions.append(Mention.objects.create(
                tenant_id=tid, platform=platform, external_id=f"gdpr-{n}", author=author, text=SAYS, like_count=5,
                url=f"https://example.org/@{HANDLE}/{n}", raw={"user": {"screen_name": HANDLE}},
                entities=[{"kind": "person", "text": NAME}], created_at=timezone.now()))
    identities = [linking.identity_for_author(tid, m.author_id) for m in mentions]
    for identity in identities:
        actions.identity_link(tid, actor=None, identity_id=identity.pk, customer_id=customer.pk)
    with tenant_context(tid):
        first = mentions[0]
        conversation = Conversation.objects.create(
            tenant_id=tid, number=900, platform="x", thread_key="thread:gdpr-1", author=first.author,
            preview=SAYS[:300], message_count=2, first_message_at=first.created_at, last_message_at=first.created_at)
        Message.objects.create(tenant_id=tid, conversation=conversation, direction="in", mention=first, text=SAYS,
                               created_at=first.created_at)
        Message.objects.create(tenant_id=tid, conversation=conversation, direction="out", text=f"Bonjour @{HANDLE} !")
        Note.objects.create(tenant_id=tid, conversation=conversation, author_user=cm,
                            body=f"Rappelé {NAME} au {PHONE}, mail {EMAIL}.")
        ConversationEvent.objects.create(tenant_id=tid, conversation=conversation, kind="tags",
                                         data={"comment": f"vip @{HANDLE}"})
        alert = Alert.objects.create(tenant_id=tid, conversation=conversation, department=tw.departments["legal"])
        AlertComment.objects.create(tenant_id=tid, alert=alert, author_user=cm, body=f"{NAME} menace un avocat")
        SentimentLabel.objects.create(tenant_id=tid, mention=first, text=SAYS, language="fr", label="negative")
        TopicExample.objects.create(tenant_id=tid, topic=tw.topic, mention=first, text=SAYS)
        Notification.objects.create(tenant_id=tid, user=cm, kind="alert", title=f"Alerte : {NAME}", body=SAYS)
    with tenant_context(tid):
        audit_record(tid, actor=None, action="test.note", target=customer, data={"email": EMAIL, "phone": PHONE})
    return {"customer": customer, "identities": identities, "mentions": mentions, "conversation": conversation}


def text_columns() -> list[tuple[str, str]]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c "
            "WHERE c.table_schema = 'public' AND c.data_type IN ('text', 'character varying', 'json', 'jsonb') "
            "AND EXISTS (SELECT 1 FROM information_schema.columns t WHERE t.table_schema = 'public' "
            "AND t.table_name = c.table_name AND t.column_name = 'tenant_id') ORDER BY 1, 2")
        return cur.fetchall()


def occurrences(tenant_id: int) -> dict[str, list[str]]:
    """Every (table.column) of the tenant where each term still appears (as the app role)."""
    found = {}
    with tenant_context(tenant_id), connection.cursor() as cur:
        for table, column in text_columns():
            for term in TERMS:
                cur.execute(f'SELECT count(*) FROM "{table}" WHERE tenant_id = %s AND "{column}"::text ILIKE %s',
                            [tenant_id, f"%{term}%"])
                if cur.fetchone()[0]:
                    found.setdefault(term, []).append(f"{table}.{column}")
    return found


def test_gdpr_erase_leaves_no_personal_text_for_that_person_in_any_table(world):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    subject_a, subject_b = make_subject(world.a), make_subject(world.b)
    assert set(occurrences(a)) == set(TERMS)  # the scan sees them before

    counts = gdpr.erase_subject(a, actor=None, customer_id=subject_a["customer"].pk)

    assert occurrences(a) == {}
    assert counts["mentions"] == 2 and counts["authors"] == 2 and counts["identities"] == 2
    assert counts["customers"] == 1 and counts["labels"] == 1 and counts["examples"] == 1
    with tenant_context(a):
        mention = Mention.objects.get(pk=subject_a["mentions"][0].pk)
        assert (mention.text, mention.raw, mention.url, mention.entities, mention.is_deleted) == ("", {}, "", [], True)
        assert mention.like_count == 5  # the metrics stay
        author = Author.objects.get(pk=mention.author_id)
        assert author.platform_user_id == gdpr.erased_user_key(a, "x", "zq-user-1")
        assert gdpr.is_erased_author(a, "x", "zq-user-1") and not gdpr.is_erased_author(b, "x", "zq-user-1")
        assert not Customer.objects.filter(pk=subject_a["customer"].pk).exists()
        assert Note.objects.filter(conversation=subject_a["conversation"], body__contains=gdpr.REDACTED).count() == 1
        erased = AuditEvent.objects.get(tenant_id=a, action="gdpr.erased")
        assert erased.data["mentions"] == 2 and erased.target_label == ""
    # Tenant B's identical subject is untouched.
    assert set(occurrences(b)) == set(TERMS)
    with tenant_context(b):
        assert Customer.objects.filter(pk=subject_b["customer"].pk, name=NAME).exists()
        assert SocialIdentity.objects.filter(customer=subject_b["customer"]).count() == 2


def test_erasing_a_handle_anonymises_its_authors_and_is_idempotent(world):
    a = world.a.tenant.pk
    subject = make_subject(world.a)
    counts = gdpr.erase_subject(a, actor=None, platform="x", handle=f"@{HANDLE.upper()}")
    assert counts["authors"] == 1 and counts["mentions"] == 1 and counts["identities"] == 1
    with tenant_context(a):
        assert Mention.objects.get(pk=subject["mentions"][0].pk).text == ""
        assert Mention.objects.get(pk=subject["mentions"][1].pk).text == SAYS  # mastodon: another subject
    again = gdpr.erase_subject(a, actor=None, platform="x", handle=HANDLE)
    assert again["authors"] == 0 and again["mentions"] == 0


def test_export_holds_the_customer_identities_mentions_conversations_and_derived_texts(world):
    a = world.a.tenant.pk
    subject = make_subject(world.a)
    data = gdpr.export_subject(a, actor=None, customer_id=subject["customer"].pk)
    assert data["customers"][0]["emails"] == [EMAIL]
    assert {i["platform_user_id"] for i in data["identities"]} == {"zq-user-1", "zq-user-2"}
    assert [m["text"] for m in data["mentions"]] == [SAYS, SAYS]
    assert data["conversations"][0]["notes"][0]["body"].startswith(f"Rappelé {NAME}")
    assert [x["text"] for x in data["sentiment_labels"]] == [SAYS] and len(data["topic_examples"]) == 1
    by_handle = gdpr.export_subject(a, actor=None, platform="mastodon", handle=HANDLE)
    assert [m["external_id"] for m in by_handle["mentions"]] == ["gdpr-2"] and by_handle["customers"] == []
    with tenant_context(a):
        audit = AuditEvent.objects.filter(tenant_id=a, action="gdpr.exported").first()
    assert EMAIL not in str(audit.data) and audit.data["mentions"] == 1


def test_retention_anonymises_only_mentions_older_than_the_period(world):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    subject = make_subject(world.a)
    old, recent = subject["mentions"]
    with tenant_context(a):  # every other mention recent: the world's fixed dates age on later days
        Mention.objects.exclude(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
        Mention.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    make_subject(world.b)
    with tenant_context(b):
        Mention.objects.filter(external_id="gdpr-1").update(created_at=timezone.now() - timedelta(days=40))
    gdpr.privacy_update(a, actor=None, retention_days=30)
    assert retention_tenant(a) == 1
    with tenant_context(a):
        assert Mention.objects.get(pk=old.pk).text == "" and Mention.objects.get(pk=recent.pk).text == SAYS
        assert Message.objects.get(mention=old).text == "" and not SentimentLabel.objects.filter(mention=old).exists()
    assert retention_tenant(a) == 0  # idempotent
    assert retention_tenant(b) == 0  # B keeps 3650 days
    with tenant_context(b):
        assert Mention.objects.get(external_id="gdpr-1").text == SAYS


def test_a_platform_deletion_blanks_the_text_and_keeps_the_metrics(world):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    with tenant_context(a):
        before = Mention.objects.get(platform="x", external_id="1001")
        assert before.text and before.raw and SentimentLabel.objects.filter(mention=before).exists()
    marker = MentionData(external_id="1001", text="", created_at=datetime.now(dt_timezone.utc), is_deleted=True)
    result = ingest_page(a, platform="x", page=Page(mentions=[marker]), source="webhook")
    assert result.deleted == 1
    with tenant_context(a):
        after = Mention.objects.get(pk=before.pk)
        assert (after.text, after.raw, after.url, after.is_deleted) == ("", {}, "", True)
        assert after.like_count == before.like_count
        assert not SentimentLabel.objects.filter(mention=after).exists()
    with tenant_context(b):
        assert Mention.objects.get(platform="x", external_id="1001").text == before.text


def _new_posts(n: int) -> Page:
    """A page with a new post by the subject (zq-user-1, real handle and name) and one by someone else."""
    at = datetime(2026, 11, 20, 9, n, tzinfo=dt_timezone.utc)
    return Page(mentions=[
        MentionData(external_id=f"gdpr-new-{n}", text=SAYS, created_at=at, language="fr", version_id=f"gdpr-new-{n}",
                    url=f"https://x.com/{HANDLE}/status/{n}", like_count=2, raw={"user": {"screen_name": HANDLE}},
                    parent_external_id="gdpr-1",
                    author=AuthorData(platform_user_id="zq-user-1", handle=HANDLE, name=NAME, followers=80,
                                      profile_url=f"https://x.com/{HANDLE}")),
        MentionData(external_id=f"other-{n}", text="Livraison Acme parfaite", created_at=at, language="fr",
                    author=AuthorData(platform_user_id="someone-else", handle="someone", name="Some One")),
    ])


def test_an_erased_person_who_posts_again_is_stored_blank_on_the_erased_author(world):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    subject_a, _subject_b = make_subject(world.a), make_subject(world.b)
    gdpr.erase_subject(a, actor=None, customer_id=subject_a["customer"].pk)
    with tenant_context(a):
        erased = Author.objects.get(pk=subject_a["mentions"][0].author_id)
        seen_before = erased.mentions_seen

    result = ingest_page(a, platform="x", page=_new_posts(1), source="poll")
    again = ingest_page(a, platform="x", page=_new_posts(1), source="poll")  # a re-sighting changes nothing more
    in_b = ingest_page(b, platform="x", page=_new_posts(1), source="poll")

    assert (result.inserted, result.erased, again.inserted, again.erased) == (2, 1, 0, 1)
    assert occurrences(a) == {}  # nothing of the person came back, in any table
    with tenant_context(a):
        new = Mention.objects.get(external_id="gdpr-new-1")
        assert (new.text, new.raw, new.url, new.is_deleted, new.like_count) == ("", {}, "", True, 2)
        assert new.author_id == erased.pk  # counted on the erased row, no new author with the real id
        assert not Author.objects.filter(tenant_id=a, platform_user_id="zq-user-1").exists()
        erased.refresh_from_db()
        assert (erased.handle, erased.name, erased.profile_url, erased.followers) == ("", "", "", 80)
        assert erased.mentions_seen == seen_before + 1
        other = Mention.objects.get(external_id="other-1")
        assert other.text == "Livraison Acme parfaite" and not other.is_deleted
        # A blank reply never opens a conversation, even to a post the inbox follows.
        from inbox.conversations import attach_mentions

        attach_mentions(a, [new.pk])
        assert not Message.objects.filter(mention=new).exists()
    # Tenant B never erased this person: the same page is stored as it came.
    assert in_b.erased == 0
    with tenant_context(b):
        kept = Mention.objects.get(external_id="gdpr-new-1")
        assert kept.text == SAYS and not kept.is_deleted and kept.author.handle == HANDLE


def test_pages_export_for_managers_and_erase_for_admins_only(client, world):
    a = world.a
    subject = make_subject(a)
    kwargs = {"tenant_slug": a.tenant.slug, "customer_id": subject["customer"].pk}
    login(client, "cm@example.com")
    response = client.get(reverse("customer-gdpr-export", kwargs=kwargs))
    assert response.status_code == 200 and response.json()["customers"][0]["name"] == NAME
    assert client.post(reverse("customer-gdpr-erase", kwargs=kwargs)).status_code == 403
    page = client.get(reverse("customer-detail", kwargs=kwargs)).content.decode()
    assert "gdpr-export" in page and "gdpr-erase" not in page
    client.logout()
    login(client, "admin@example.com")
    assert 'data-testid="gdpr-erase"' in client.get(reverse("customer-detail", kwargs=kwargs)).content.decode()
    assert client.post(reverse("customer-gdpr-erase", kwargs=kwargs)).status_code == 302
    with tenant_context(a.tenant.pk):
        assert not Customer.objects.filter(pk=subject["customer"].pk).exists()


def test_privacy_page_saves_the_retention_and_rejects_bad_input(client, world):
    a = world.a
    login(client, "admin@example.com")
    url = reverse("gdpr-privacy", kwargs={"tenant_slug": a.tenant.slug})
    assert client.get(url).status_code == 200
    assert client.post(url, {"retention_days": "-1"}).status_code == 400
    assert client.post(url, {"retention_days": "90"}).status_code == 302
    assert gdpr.privacy_settings(a.tenant.pk).retention_days == 90
    bad = client.post(reverse("gdpr-handle-erase", kwargs={"tenant_slug": a.tenant.slug}), {"platform": "x"})
    assert bad.status_code == 400
    export_url = reverse("gdpr-handle-export", kwargs={"tenant_slug": a.tenant.slug})
    make_subject(a)
    for response in (client.post(export_url, {"platform": "x", "handle": HANDLE}),
                     client.get(export_url, {"platform": "x", "handle": HANDLE})):
        assert response.status_code == 200 and [m["external_id"] for m in response.json()["mentions"]] == ["gdpr-1"]
    assert client.get(export_url, {"platform": "x"}).status_code == 400


def test_api_handle_export_and_erase(client, world):
    a = world.a
    make_subject(a)
    login(client, "admin@example.com")
    base = f"/api/v1/t/{a.tenant.slug}/gdpr/"
    exported = client.get(base + "export/", {"platform": "x", "handle": HANDLE})
    assert exported.status_code == 200 and exported.json()["authors"][0]["handle"] == HANDLE
    missing = client.get(base + "export/", {"platform": "x"})
    assert missing.status_code == 400 and "handle" in missing.json()
    erased = client.post(base + "erase/", {"platform": "x", "handle": HANDLE}, content_type="application/json")
    assert erased.status_code == 200 and erased.json()["mentions"] == 1
