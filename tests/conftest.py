"""The test world: real PostgreSQL (row-level security on), real Redis, two tenants that use
the same department slugs, the same user e-mails and interleaved ids, so a leak cannot hide.

The test database is created and migrated through the *owner* connection (as in production);
the tests and the app then talk to it through the *application role* (``default``), which
row-level security applies to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connections

from social_crm.tenancy import actions
from social_crm.tenancy.models import Department, Invitation, Membership, Tenant
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import dangerously_cross_tenant, tenant_context

PASSWORD = "correct horse battery staple"  # noqa: S105 (test users only)


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    owner, app = connections["owner"], connections["default"]
    with django_db_blocker.unblock():
        old_name = owner.settings_dict["NAME"]
        test_name = owner.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
        for alias in ("default",):
            connections[alias].close()
            connections[alias].settings_dict["NAME"] = test_name
            settings.DATABASES[alias]["NAME"] = test_name
    yield
    with django_db_blocker.unblock():
        app.close()
        owner.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture
def test_database_env() -> dict[str, str]:
    """Environment for a subprocess (a Celery worker, a command) that must use the test database."""
    env = dict(os.environ)
    name = connections["default"].settings_dict["NAME"]
    env["DATABASE_URL"] = with_database(settings.DATABASE_URL, name)
    env["APP_DATABASE_URL"] = with_database(settings.APP_DATABASE_URL, name)
    return env


@dataclass
class TenantWorld:
    tenant: Tenant
    members: dict[str, Membership] = field(default_factory=dict)  # role -> membership
    departments: dict[str, Department] = field(default_factory=dict)  # slug -> department
    invitation: Invitation | None = None
    token_key: str = ""


@dataclass
class World:
    a: TenantWorld
    b: TenantWorld

    def users(self):
        return {m.user.email: m.user for tw in (self.a, self.b) for m in tw.members.values()}


def make_user(email: str, name: str):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return User.objects.filter(email=email).first() or User.objects.create_user(email, PASSWORD, full_name=name)


def build_world() -> World:
    """Tenant A (acme) and B (globex).

    Same e-mails in both: admin@example.com is the admin of A *and* a marketer in B;
    cm@, head@ and marketer@ have the same role in both. Departments have the same slugs in
    both tenants and are created alternately so the ids interleave.
    """
    a = TenantWorld(actions.tenant_create(name="Acme", slug="acme", default_language="en"))
    b = TenantWorld(actions.tenant_create(name="Globex", slug="globex", default_language="fr"))
    admin = make_user("admin@example.com", "Ada Admin")
    admin_b = make_user("admin-b@example.com", "Bob Admin")
    cm = make_user("cm@example.com", "Carl Community")
    head = make_user("head@example.com", "Hana Head")
    marketer = make_user("marketer@example.com", "Mia Marketer")
    for slug, name in (("customer-service", "Customer service"), ("legal", "Legal")):
        for tw in (a, b):
            tw.departments[slug] = actions.department_save(tw.tenant.pk, actor=None, name=name, slug=slug)
    for tw, tenant_admin in ((a, admin), (b, admin_b)):
        tid = tw.tenant.pk
        tw.members[Role.ADMIN] = actions.membership_add(tid, actor=None, user=tenant_admin, role=Role.ADMIN)
        tw.members[Role.COMMUNITY_MANAGER] = actions.membership_add(tid, actor=None, user=cm, role=Role.COMMUNITY_MANAGER)
        tw.members[Role.DEPARTMENT_HEAD] = actions.membership_add(
            tid, actor=None, user=head, role=Role.DEPARTMENT_HEAD,
            department_ids=[tw.departments["customer-service"].pk])
        tw.members[Role.MARKETER] = actions.membership_add(tid, actor=None, user=marketer, role=Role.MARKETER)
        tw.invitation, _raw = actions.invitation_create(tid, actor=tenant_admin, email="newcomer@example.com", role=Role.COMMUNITY_MANAGER)
        _token, tw.token_key = actions.api_token_create(tid, user=tenant_admin, name="ci")
    # The A admin also belongs to B, as a marketer (same e-mail, other role).
    b.members["admin-a-as-marketer"] = actions.membership_add(b.tenant.pk, actor=None, user=admin, role=Role.MARKETER)
    from .world_customers import add_customers
    from .world_inbox import add_inbox
    from .world_crisis import add_crisis
    from .world_webhooks import add_webhooks

    for tw in (a, b):
        add_listening(tw)
        add_nlp(tw)
        add_inbox(tw)
        add_customers(tw)
        add_webhooks(tw)
        add_crisis(tw)
    return World(a, b)


def sample_page(external_ids=("1001", "1002"), text="Mon colis Acme est en retard, livraison ratée",
                author_id="u-42", quarantined=True):
    """A small page as a connector would return it: the same ids in every tenant on purpose."""
    from datetime import datetime, timezone

    from listening.connectors.base import AuthorData, MentionData, Page, Quarantined

    mentions = [
        MentionData(external_id=ext, text=f"{text} #{i}", created_at=datetime(2026, 11, 1, 12, i, tzinfo=timezone.utc),
                    language="fr", url=f"https://x.com/someone/status/{ext}", like_count=i, version_id=ext,
                    author=AuthorData(platform_user_id=author_id, handle="someone", name="Some One", followers=1200),
                    raw={"id": ext})
        for i, ext in enumerate(external_ids)
    ]
    return Page(mentions=mentions, quarantined=[Quarantined(payload={"id": None}, reason="no id")] if quarantined else [],
                cursor={"since_id": external_ids[-1]})


def add_listening(tw: TenantWorld) -> None:
    """Listening rows in every listening table, through the real actions and ingest path."""
    from listening import actions as listening_actions
    from listening.ingest import CursorKey, ingest_page

    tid = tw.tenant.pk
    tw.query = listening_actions.query_save(tid, actor=None, name="Brand", kind="brand",
                                            expression="(acme OR #acme) AND (retard OR livraison)")
    tw.account = listening_actions.account_save(tid, actor=None, platform="x", name="Brand on X", external_id="999",
                                                handle="acme", credentials={"bearer_token": "secret-" + tw.tenant.slug})
    ingest_page(tid, platform="x", page=sample_page(), source="poll", account_id=tw.account.pk,
                cursor_key=CursorKey(tw.account.pk, tw.query.pk, "search"))
    listening_actions.account_mark_broken(tid, tw.account.pk, status="needs_reconnect", error="401 Unauthorized")
    from social_crm.tenancy.scope import tenant_context as _tc

    with _tc(tid):
        from listening.models import QuarantinedPayload

        tw.quarantined = QuarantinedPayload.objects.filter(tenant_id=tid).first()


def add_nlp(tw: TenantWorld) -> None:
    """Rows in every NLP table: a topic with an example and a tagged mention, an entity term,
    a correction (labelled example) and a (rejected) tenant model. Same names in both tenants."""
    from listening.models import (EntityTerm, Mention, MentionTopic, SentimentLabel, TenantSentimentModel, Topic,
                                  TopicExample)
    from social_crm.tenancy.scope import tenant_context as _tc

    tid = tw.tenant.pk
    with _tc(tid):
        mention = Mention.objects.filter(tenant_id=tid).order_by("id").first()
        tw.topic = Topic.objects.create(tenant_id=tid, name="Delivery", keywords=["livraison", "colis", "delivery"])
        TopicExample.objects.create(tenant_id=tid, topic=tw.topic, mention=mention, text=mention.text)
        MentionTopic.objects.create(tenant_id=tid, mention=mention, topic=tw.topic, source="rule", score=1.0)
        # What the NLP stage would have found in "Mon colis Acme…" (the term rollup gets a row too).
        start = mention.text.index("Acme")
        Mention.objects.filter(pk=mention.pk).update(entities=[{
            "label": "brand", "text": "Acme", "start": start, "end": start + 4, "source": "ruler", "term_id": None,
            "canonical": "Acme"}])
        tw.entity_term = EntityTerm.objects.create(tenant_id=tid, kind="brand", name="Acme", patterns=["ACME", "@acme"])
        tw.sentiment_label = SentimentLabel.objects.create(tenant_id=tid, mention=mention, text=mention.text, language="fr",
                                                           label="negative", previous_label="neutral")
        tw.tenant_model = TenantSentimentModel.objects.create(tenant_id=tid, language="fr", status="rejected",
                                                              metrics={"note": "test world"})
        # The rows above were written with the ORM, past the write paths that keep the dashboards'
        # rollups: refresh them as those paths do.
        from analytics import rollups

        rollups.refresh(tid, [mention.pk])


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def committed_world(transactional_db) -> World:
    """The same world, committed: for a Celery worker or a browser in another thread/process."""
    return build_world()


def login(client, email: str):
    assert client.login(username=email, password=PASSWORD), f"cannot log in {email}"
    return client


__all__ = ["PASSWORD", "World", "TenantWorld", "build_world", "login", "dangerously_cross_tenant", "tenant_context"]


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory):
    """Small real sentiment models (trained on slices of the corpus), in a directory of their own."""
    from listening.nlp.data import load_split
    from listening.nlp.sentiment import SentimentModel, model_path

    directory = tmp_path_factory.mktemp("models")
    for lang, size in (("en", 3000), ("fr", 2500)):
        texts, labels = load_split(lang, "train")
        SentimentModel.train(lang, texts[:size], labels[:size]).save(model_path(lang, directory))
    return directory


@pytest.fixture
def models(trained_models, monkeypatch):
    """The code under test reads the small trained models."""
    monkeypatch.setenv("NLP_MODEL_DIR", str(trained_models))
    return trained_models
