"""The mention's author, date and language on its query matches and topic tags
(listening.models.MentionFacts, kept by the triggers of listening migration 0008): whoever
writes the tag or changes the mention, the copies are the mention's; a change of anything
else leaves the tags alone; the other tenant's tags are never touched."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.db import connection

from analytics import selectors
from listening import tag_facts
from listening.connectors.base import Page
from listening.ingest import ingest_page
from listening.models import Author, Mention, MentionTopic, Topic
from listening.nlp.topic_actions import set_mention_topic, write_topics
from listening.nlp.topics import TopicHit
from social_crm.tenancy.scope import tenant_context

from .test_analytics_rollups import START, _mention

LANGUAGE = selectors.LANGUAGE_SQL  # the language the dashboards filter on (alias m)


def test_the_triggers_copy_the_language_the_dashboards_filter_on():
    """The migration spells the expression itself (a migration does not import app code): the
    same one as the selectors'."""
    migration = importlib.import_module("listening.migrations.0008_mention_facts_on_tags")
    assert migration.LANGUAGE.format(m="m") == selectors.LANGUAGE_SQL


def _tags(tid) -> dict[tuple[str, int, int], tuple]:
    """(table, mention id, query or topic id) -> (author id, created_at, language, xmin) of each tag
    row, after checking every copy against its mention."""
    out = {}
    with tenant_context(tid), connection.cursor() as cursor:
        for table, tag in (("listening_mentionmatch", "query_id"), ("listening_mentiontopic", "topic_id")):
            cursor.execute(f"""
                SELECT x.mention_id, x.{tag}, x.mention_author_id, x.mention_created_at, x.mention_language,
                       x.xmin::text, (m.author_id, m.created_at, {LANGUAGE})
                                     IS DISTINCT FROM (x.mention_author_id, x.mention_created_at, x.mention_language)
                FROM {table} x JOIN listening_mention m ON m.tenant_id = x.tenant_id AND m.id = x.mention_id
                WHERE x.tenant_id = %s""", [tid])
            for mention_id, tag_id, author_id, created_at, language, xmin, stale in cursor.fetchall():
                assert not stale, (table, mention_id, tag_id)
                out[(table, mention_id, tag_id)] = (author_id, created_at, language, xmin)
    return out


def test_every_writer_copies_the_mentions_facts_and_every_change_of_them_follows(world):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    theirs = _tags(b)
    assert theirs  # tenant B has tags of its own (the world's ingested sample matches its query)
    # Ingestion: the brand query's matches, written with the mentions (same transaction).
    ingest_page(a, platform="x", page=Page(mentions=[
        _mention("f1", "Acme colis en retard", 5, author="u-1", language="fr-FR"),
        _mention("f2", "Acme livraison late", 9, author="u-2", language="en"),
        _mention("f3", "Acme livraison sans langue", 12, author="u-2", language="")], cursor={}), source="poll")
    with tenant_context(a):
        m1, m2, m3 = (Mention.objects.get(tenant_id=a, platform="x", external_id=e) for e in ("f1", "f2", "f3"))
        u1, u2 = (Author.objects.get(tenant_id=a, platform_user_id=u) for u in ("u-1", "u-2"))
        topic = Topic.objects.create(tenant_id=a, name="Delivery facts", keywords=["colis"])
        other = Topic.objects.create(tenant_id=a, name="Lateness facts", keywords=["late"])
    mine = _tags(a)
    q = world.a.query.pk
    assert mine[("listening_mentionmatch", m1.pk, q)][:3] == (u1.pk, START + timedelta(minutes=5), "fr")
    assert mine[("listening_mentionmatch", m2.pk, q)][:3] == (u2.pk, START + timedelta(minutes=9), "en")
    assert mine[("listening_mentionmatch", m3.pk, q)][:3] == (u2.pk, START + timedelta(minutes=12), "")
    # The NLP stage's topic insert, the ORM (whatever it is given), a person's tag (update_or_create).
    assert write_topics(a, [m1.pk, m2.pk], [[TopicHit(topic.pk, "rule", 0.9)], [TopicHit(topic.pk, "rule", 0.8)]]) == 2
    with tenant_context(a):
        MentionTopic.objects.create(tenant_id=a, mention=m3, topic=topic, mention_author_id=u1.pk,
                                    mention_created_at=START, mention_language="xx")
    set_mention_topic(a, actor=None, mention_id=m2.pk, topic_id=topic.pk, present=True)  # an update of the rule tag
    set_mention_topic(a, actor=None, mention_id=m2.pk, topic_id=other.pk, present=True)  # a new human tag
    mine = _tags(a)
    assert mine[("listening_mentiontopic", m3.pk, topic.pk)][:3] == (u2.pk, START + timedelta(minutes=12), "")
    assert mine[("listening_mentiontopic", m2.pk, other.pk)][:3] == (u2.pk, START + timedelta(minutes=9), "en")
    with tenant_context(a):  # Django's save() of a tag read before its mention changed: the copies follow the mention
        stale_tag = MentionTopic.objects.get(tenant_id=a, mention=m1, topic=topic)
        Mention.objects.filter(pk=m1.pk).update(detected_language="en")
        stale_tag.score = 0.5
        stale_tag.save()
    assert _tags(a)[("listening_mentiontopic", m1.pk, topic.pk)][2] == "en"

    # Changes of the mention that leave its facts as they are rewrite no tag row (same xmin).
    before = _tags(a)
    with tenant_context(a):
        Mention.objects.filter(pk__in=[m1.pk, m2.pk, m3.pk]).update(sentiment="negative", like_count=7)
        Mention.objects.filter(pk=m2.pk).update(detected_language="en")  # the NLP stage confirms "en"
        Mention.objects.filter(pk=m1.pk).update(language="EN-gb")  # overridden by the detected "en"
    assert _tags(a) == before
    # Changes of the author, the date or the language rewrite exactly that mention's tags.
    ingest_page(a, platform="x", page=Page(mentions=[_mention("f3", "Acme livraison sans langue", 12, author="u-1",
                                                             language="")], cursor={}), source="poll")
    with tenant_context(a):
        Mention.objects.filter(pk=m2.pk).update(created_at=START + timedelta(days=2))
        Mention.objects.filter(pk=m3.pk).update(detected_language="fr")
    after = _tags(a)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {k for k in after if k[1] in (m2.pk, m3.pk)}
    assert after[("listening_mentionmatch", m3.pk, q)][:3] == (u1.pk, START + timedelta(minutes=12), "fr")
    assert after[("listening_mentiontopic", m2.pk, other.pk)][1] == START + timedelta(days=2)
    assert _tags(b) == theirs  # tenant B's tags: same copies, same row versions


def test_only_a_facts_given_block_stores_the_facts_it_is_given(world):
    """listening.tag_facts: inside ``facts_given`` (ingestion's match insert) the tag keeps the
    facts of its statement; before it, after it and after an error in it, the database overrides
    them again. The triggers' WHEN reads the setting the module writes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = ANY(%s)",
                       [["mention_match_facts", "mention_topic_facts"]])
        definitions = dict(cursor.fetchall())
    assert set(definitions) == {"mention_match_facts", "mention_topic_facts"}
    for definition in definitions.values():
        assert f"current_setting('{tag_facts.SETTING}'::text, true) IS DISTINCT FROM '{tag_facts.GIVEN}'" in definition

    a = world.a.tenant.pk
    ingest_page(a, platform="x", page=Page(mentions=[
        _mention(f"g{i}", f"Acme facts {i}", i, author="u-g", language="fr") for i in range(4)], cursor={}),
        source="poll")
    with tenant_context(a):
        mentions = list(Mention.objects.filter(tenant_id=a, external_id__in=["g0", "g1", "g2", "g3"]).order_by("pk"))
        topic = Topic.objects.create(tenant_id=a, name="Given facts", keywords=["facts"])

    def tag(mention) -> tuple:
        wrong = {"mention_author_id": None, "mention_created_at": START - timedelta(days=9), "mention_language": "xx"}
        MentionTopic.objects.create(tenant_id=a, mention=mention, topic=topic, **wrong)
        return MentionTopic.objects.filter(tenant_id=a, mention=mention, topic=topic).values_list(
            "mention_author_id", "mention_created_at", "mention_language").get()

    def facts(mention) -> tuple:
        return mention.author_id, mention.created_at, "fr"

    with tenant_context(a), connection.cursor() as cursor:
        assert tag(mentions[0]) == facts(mentions[0])  # before: overridden
        with tag_facts.facts_given(cursor):
            assert tag(mentions[1]) == (None, START - timedelta(days=9), "xx")  # given: kept
        assert tag(mentions[2]) == facts(mentions[2])  # after: overridden again
        try:
            with tag_facts.facts_given(cursor):
                raise LookupError("a failure inside the block")
        except LookupError:
            pass
        assert tag(mentions[3]) == facts(mentions[3])  # after an error: overridden


def test_a_database_error_inside_a_given_block_reaches_the_caller_as_itself(world):
    """The clean-up must not replace a database error (the task's retry handlers look at its
    class) by its own "current transaction is aborted"; the rolled-back savepoint takes the
    setting with it."""
    from django.db import DataError, transaction

    with tenant_context(world.a.tenant.pk), connection.cursor() as cursor:
        for given in (tag_facts.facts_given, tag_facts.counts_given):
            with pytest.raises(DataError, match="division by zero"):
                with transaction.atomic(), given(cursor):
                    cursor.execute("SELECT 1 / 0")
            cursor.execute("SELECT current_setting(%s, true), current_setting(%s, true)",
                           [tag_facts.SETTING, tag_facts.COUNTS_SETTING])
            assert all(value in ("", None) for value in cursor.fetchone())
