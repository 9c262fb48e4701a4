"""The dashboards' rollups stay equal to the raw mentions through every write path: ingestion
(new mentions, edits), the NLP stage, a person's corrections, topic changes, deletions and the
retention. The expected rows are computed here in Python from the mentions, independently of
the SQL in analytics/rollups.py."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from django.core.management import call_command

from analytics.models import MentionRollup, TermRollup, TopicRollup
from listening import actions as listening_actions
from listening.connectors.base import AuthorData, MentionData, Page
from listening.ingest import ingest_page
from listening.models import Mention, MentionMatch, MentionTopic
from social_crm.tenancy.scope import tenant_context

START = datetime(2026, 10, 5, 8, 0, tzinfo=timezone.utc)  # away from the world's own mentions
END = START + timedelta(days=2)


def _mention(ext, text, minutes, *, author="u-1", followers=100, likes=1, shares=0, replies=0, version=None,
             platform="x", language="fr"):
    return MentionData(external_id=ext, text=text, created_at=START + timedelta(minutes=minutes), language=language,
                       like_count=likes, share_count=shares, reply_count=replies, version_id=version or ext,
                       platform=platform,
                       author=AuthorData(platform_user_id=author, handle=author, followers=followers), raw={"id": ext})


def dataset(tid):
    """Two hours, two platforms, three authors; brand and competitor queries match some."""
    listening_actions.query_save(tid, actor=None, name="Rival", kind="competitor", expression="globo")
    page = Page(mentions=[
        _mention("a1", "Acme livraison en retard, colis perdu", 5, author="u-1", followers=100, likes=3, shares=1),
        _mention("a2", "Acme livraison super rapide merci", 20, author="u-2", followers=50, likes=0, replies=2),
        _mention("a3", "Globo is great, better than Acme delivery", 70, author="u-3", followers=1000, likes=10,
                 platform="mastodon", language="en"),
        _mention("a4", "globo retard livraison acme", 75, author="u-1", followers=100, likes=None),
    ], cursor={})
    ingest_page(tid, platform="x", page=page, source="poll")


def expected(tid):
    """(mention rollup, topic rollup, term rollup) rows from the raw rows, in Python."""
    with tenant_context(tid):
        mentions = list(Mention.objects.filter(tenant_id=tid, created_at__gte=START, created_at__lt=END)
                        .select_related("author"))
        matches = defaultdict(list)
        for mid, qid in MentionMatch.objects.filter(tenant_id=tid).values_list("mention_id", "query_id"):
            matches[mid].append(qid)
        topics = defaultdict(list)
        for mid, topic_id in MentionTopic.objects.filter(tenant_id=tid).values_list("mention_id", "topic_id"):
            topics[mid].append(topic_id)
    rollup, topic_rollup, terms = Counter(), Counter(), Counter()
    for m in mentions:
        hour = m.created_at.replace(minute=0, second=0, microsecond=0)
        language = m.detected_language or m.language.split("-")[0].lower()
        reach = (m.author.followers or 0) if m.author else 0
        interactions = (m.like_count or 0) + (m.share_count or 0) + (m.reply_count or 0)
        for qid in [None, *matches[m.pk]]:
            key = (hour, qid, m.platform, language, m.sentiment)
            rollup[key + ("n",)] += 1
            rollup[key + ("reach",)] += reach
            rollup[key + ("inter",)] += interactions
        for topic_id in topics[m.pk]:
            key = (hour, topic_id, m.platform, language, m.sentiment)
            topic_rollup[key + ("n",)] += 1
            topic_rollup[key + ("reach",)] += reach
            topic_rollup[key + ("inter",)] += interactions
        for term, kind in {((e.get("canonical") or e["text"].lower()), e.get("label", "")) for e in m.entities}:
            terms[(hour, term, kind, m.platform, language, m.sentiment)] += 1
    return +rollup, +topic_rollup, +terms


def stored(tid):
    with tenant_context(tid):
        window = {"tenant_id": tid, "bucket__gte": START, "bucket__lt": END}
        rollup, topic_rollup, terms = Counter(), Counter(), Counter()
        for r in MentionRollup.objects.filter(**window):
            key = (r.bucket, r.query_id, r.platform, r.language, r.sentiment)
            rollup[key + ("n",)] += r.mentions
            rollup[key + ("reach",)] += r.reach
            rollup[key + ("inter",)] += r.interactions
        for r in TopicRollup.objects.filter(**window):
            key = (r.bucket, r.topic_id, r.platform, r.language, r.sentiment)
            topic_rollup[key + ("n",)] += r.mentions
            topic_rollup[key + ("reach",)] += r.reach
            topic_rollup[key + ("inter",)] += r.interactions
        for r in TermRollup.objects.filter(**window):
            terms[(r.bucket, r.term, r.kind, r.platform, r.language, r.sentiment)] += r.mentions
    return +rollup, +topic_rollup, +terms


def assert_rollups_match(tid):
    assert stored(tid) == expected(tid)


def _dataset_ids(tid):
    with tenant_context(tid):
        return list(Mention.objects.filter(tenant_id=tid, created_at__gte=START, created_at__lt=END)
                    .values_list("pk", flat=True))


def _total(tid, **filters):
    with tenant_context(tid):
        return sum(MentionRollup.objects.filter(tenant_id=tid, bucket__gte=START, bucket__lt=END, **filters)
                   .values_list("mentions", flat=True))


def test_ingest_page_writes_the_rollups_of_the_hours_it_touched(world):
    tid = world.a.tenant.pk
    dataset(tid)
    assert_rollups_match(tid)
    assert _total(tid, query=None) == 4
    assert _total(tid, query=world.a.query) == 3  # the brand query: acme AND (retard OR livraison)
    # The hand-checked figures of the first hour (a1, a2 on X, both French, untagged).
    with tenant_context(tid):
        row = MentionRollup.objects.get(tenant_id=tid, bucket=START, query=None)
    assert (row.mentions, row.reach, row.interactions, row.platform, row.language) == (2, 150, 6, "x", "fr")


def test_an_edit_that_refreshes_metrics_moves_the_rollups(world):
    tid = world.a.tenant.pk
    dataset(tid)
    page = Page(mentions=[_mention("a1", "Acme livraison en retard, colis perdu", 5, likes=40, shares=1)], cursor={})
    ingest_page(tid, platform="x", page=page, source="poll")
    assert_rollups_match(tid)
    with tenant_context(tid):
        assert MentionRollup.objects.get(tenant_id=tid, bucket=START, query=None).interactions == 40 + 1 + 0 + 2


def test_the_other_tenants_mentions_never_reach_its_rollups(world):
    dataset(world.a.tenant.pk)
    assert _total(world.b.tenant.pk) == 0
    assert_rollups_match(world.b.tenant.pk)


def test_tagging_moves_counts_between_sentiments_languages_topics_and_terms(world, models):
    from listening.nlp.stage import tag_mentions
    from listening.nlp.topic_actions import retopic_recent

    tid = world.a.tenant.pk
    dataset(tid)
    ids = _dataset_ids(tid)
    assert tag_mentions(tid, ids) == 4
    assert_rollups_match(tid)
    assert _total(tid, query=None, sentiment="") == 0  # every mention has moved to its sentiment
    with tenant_context(tid):
        assert TopicRollup.objects.filter(tenant_id=tid, topic=world.a.topic, bucket__gte=START, bucket__lt=END).exists()
        assert TermRollup.objects.filter(tenant_id=tid, term="Acme", bucket__gte=START, bucket__lt=END).exists()
    # A topic rule change, re-applied by the retopic pass, is followed too.
    from listening.nlp.topic_actions import topic_save

    topic_save(tid, actor=None, topic_id=world.a.topic.pk, name="Delivery", keywords=["globo"])
    retopic_recent(tid, days=3650)
    assert_rollups_match(tid)


def test_a_persons_sentiment_correction_and_topic_choice_are_counted(world, models):
    from listening.nlp.corrections import correct_sentiment
    from listening.nlp.topic_actions import set_mention_topic

    tid = world.a.tenant.pk
    dataset(tid)
    with tenant_context(tid):
        a3 = Mention.objects.get(tenant_id=tid, external_id="a3")
    correct_sentiment(tid, actor=None, mention_id=a3.pk, label="positive")
    assert_rollups_match(tid)
    assert _total(tid, query=None, sentiment="positive") == 1
    set_mention_topic(tid, actor=None, mention_id=a3.pk, topic_id=world.a.topic.pk, present=True)
    assert_rollups_match(tid)
    with tenant_context(tid):
        assert TopicRollup.objects.get(tenant_id=tid, topic=world.a.topic, bucket__gte=START, bucket__lt=END).sentiment == "positive"
    set_mention_topic(tid, actor=None, mention_id=a3.pk, topic_id=world.a.topic.pk, present=False)
    assert_rollups_match(tid)
    with tenant_context(tid):
        assert not TopicRollup.objects.filter(tenant_id=tid, bucket__gte=START, bucket__lt=END).exists()


def test_deletions_and_retention_keep_the_counts_and_drop_the_terms(world, models):
    from listening.nlp.stage import tag_mentions
    from social_crm.customers.gdpr import privacy_update, retention_apply

    tid = world.a.tenant.pk
    dataset(tid)
    ids = _dataset_ids(tid)
    tag_mentions(tid, ids)
    with tenant_context(tid):
        terms_before = TermRollup.objects.filter(tenant_id=tid, bucket__gte=START, bucket__lt=END).count()
    assert terms_before > 0
    deletion = MentionData(external_id="a1", text="", created_at=None, is_deleted=True)
    ingest_page(tid, platform="x", page=Page(mentions=[deletion], cursor={}), source="poll")
    assert_rollups_match(tid)
    assert _total(tid, query=None) == 4  # a deleted post still happened: counts stay
    privacy_update(tid, actor=None, retention_days=1)
    while retention_apply(tid):
        pass
    assert_rollups_match(tid)
    assert _total(tid, query=None) == 4
    with tenant_context(tid):
        assert not TermRollup.objects.filter(tenant_id=tid, bucket__gte=START, bucket__lt=END).exists()


def test_rebuild_rollups_recomputes_a_range_from_the_raw_rows(world, capsys):
    tid = world.a.tenant.pk
    dataset(tid)
    with tenant_context(tid):
        MentionRollup.objects.filter(tenant_id=tid).delete()
        MentionRollup.objects.create(tenant_id=tid, bucket=START, platform="x", language="fr", sentiment="",
                                     mentions=99, reach=0, interactions=0)  # a wrong row: the rebuild removes it
    call_command("rebuild_rollups", tenant="acme", start="2026-10-05", end="2026-10-06")
    assert_rollups_match(tid)
    assert "rebuilt" in capsys.readouterr().out


@pytest.mark.parametrize("args", [{"tenant": "nope"}, {"tenant": "acme", "start": "2026-13-01"}])
def test_rebuild_rollups_refuses_bad_arguments(world, args):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("rebuild_rollups", **args)


def _null_row(tid, bucket=START, **filters):
    with tenant_context(tid):
        return MentionRollup.objects.get(tenant_id=tid, bucket=bucket, query=None, **filters)


def test_new_mentions_are_added_to_their_hours_and_changed_ones_recompute_them(world):
    tid = world.a.tenant.pk
    dataset(tid)
    # A wrong count planted in the first hour shows which way a page went: an add keeps it (and
    # adds to it), a recompute replaces it by the raw GROUP BY.
    with tenant_context(tid):
        MentionRollup.objects.filter(tenant_id=tid, bucket=START, query=None).update(mentions=100)
    new = Page(mentions=[_mention("a5", "Acme livraison en retard encore", 30, author="u-4", followers=7, likes=2)],
               cursor={})
    ingest_page(tid, platform="x", page=new, source="poll")
    row = _null_row(tid)
    assert (row.mentions, row.reach, row.interactions) == (101, 150 + 7, 6 + 2)  # added, not recomputed
    with tenant_context(tid):  # the brand query's row of that hour was added to as well
        assert MentionRollup.objects.get(tenant_id=tid, bucket=START, query=world.a.query).mentions == 3
    # A page with a new mention and an edit in the same hour: the hour is recomputed, and the
    # new mention is counted by the recompute only (not added on top).
    page = Page(mentions=[_mention("a1", "Acme livraison en retard, colis perdu", 5, likes=40, shares=1),
                          _mention("a6", "Acme livraison", 40, author="u-5", followers=3)], cursor={})
    ingest_page(tid, platform="x", page=page, source="poll")
    assert_rollups_match(tid)
    assert _null_row(tid).mentions == 4
    # New mentions in an hour of their own and in an hour another mention of the page recomputes.
    page = Page(mentions=[_mention("a2", "Acme livraison super rapide merci", 20, likes=5),
                          _mention("a7", "Acme retard", 50, author="u-6", followers=11),
                          _mention("a8", "Acme livraison retard", 190, author="u-6", followers=11)], cursor={})
    ingest_page(tid, platform="x", page=page, source="poll")
    assert_rollups_match(tid)
    assert _null_row(tid, bucket=START + timedelta(hours=3)).mentions == 1


def test_a_new_mention_deleted_in_its_own_page_is_counted_once(world):
    tid = world.a.tenant.pk
    dataset(tid)
    page = Page(mentions=[_mention("a9", "Acme livraison en retard", 10, author="u-7", followers=5),
                          _mention("a10", "Acme livraison", 15, author="u-8", followers=9),
                          MentionData(external_id="a9", text="", created_at=None, is_deleted=True)], cursor={})
    ingest_page(tid, platform="x", page=page, source="poll")
    assert_rollups_match(tid)
    assert _null_row(tid).mentions == 4


def _waiting_on(pid_of_other: int, lock_type: str) -> bool:
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT wait_event FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                       [pid_of_other])
        row = cursor.fetchone()
    return row is not None and row[0] == lock_type


def _in_thread(work):
    """Run work() in a thread on its own database connection; returns the thread and a box that
    holds its backend pid, then work()'s result or error."""
    import threading

    from django.db import connection

    box, started = {}, threading.Event()

    def run():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                box["pid"] = cursor.fetchone()[0]
            started.set()
            box["result"] = work()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            box["error"] = exc
            started.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(30)
    if "pid" not in box:  # the thread failed before its work: show why, not a KeyError
        raise box["error"]
    return thread, box


def _wait_for(predicate, seconds=30.0):
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])  # the flush runs as the owner
@pytest.mark.parametrize("second", ["add", "recompute"])
def test_concurrent_pages_of_one_hour_count_every_mention_once(committed_world, second):
    """Two transactions write the same hour at once: the second meets the first's uncommitted add
    (on a rollup row's lock when it adds too, on the hour's advisory lock when it recomputes),
    waits for its commit, and the hour ends up equal to the raw rows."""
    from django.db import transaction

    tid = committed_world.a.tenant.pk
    dataset(tid)
    first = Page(mentions=[_mention("c1", "Acme livraison en retard", 10, author="u-9", followers=13)], cursor={})
    if second == "add":
        other = Page(mentions=[_mention("c2", "Acme livraison lente", 12, author="u-10", followers=17)], cursor={})
        lock = "transactionid"  # the rollup row the first transaction updated
    else:  # an edit of a stored mention of that hour: a recompute, which needs the hour alone
        other = Page(mentions=[_mention("a2", "Acme livraison super rapide merci", 20, author="u-2", followers=50,
                                        likes=9, replies=2)], cursor={})
        lock = "advisory"
    with transaction.atomic():
        ingest_page(tid, platform="x", page=first, source="poll")
        thread, box = _in_thread(lambda: ingest_page(tid, platform="x", page=other, source="poll"))
        assert _wait_for(lambda: _waiting_on(box["pid"], lock)), "the second page never waited for the first"
    thread.join(30)
    assert not thread.is_alive() and "error" not in box, box.get("error")
    assert_rollups_match(tid)
    assert _null_row(tid).mentions == (4 if second == "add" else 3)
