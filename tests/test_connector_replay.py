"""The demo data generator and the replay connector (no database).

The replay parses every line with the real platform parsers (``listening.connectors.x`` and
``listening.connectors.mastodon``); time comes from a fake clock, nothing sleeps.
"""

from __future__ import annotations

import gzip
import json
import statistics
import unicodedata
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from listening.connectors import get_connector
from listening.connectors import replay as replay_module
from listening.connectors.base import AccountConfig, PermanentError, StreamRequest
from listening.connectors.replay import DEMO_FILE, ReplayConnector, parse_payload
from listening.demo import generate
from listening.demo.generate import MAISON_AURORE, iter_records, iter_records_with_meta

UTC = timezone.utc
STREAM = StreamRequest(stream="replay")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def connector(external_id: str = "", clock: Clock | None = None, **options) -> ReplayConnector:
    instance = ReplayConnector(AccountConfig(platform="replay", external_id=external_id, credentials=options))
    instance.clock = clock or Clock()
    return instance


def demo_records() -> list[dict]:
    with gzip.open(DEMO_FILE, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def posted_at(record: dict) -> datetime | None:
    payload = record["payload"]
    try:
        if record["platform"] == "x":
            return datetime.fromisoformat(payload["data"][0]["created_at"])
        return datetime.fromisoformat(payload.get("edited_at") or payload["created_at"])
    except (TypeError, KeyError, ValueError):
        return None


def x_posts(records):
    for record in records:
        if record["platform"] == "x" and isinstance(record["payload"], dict):
            yield record["payload"]["data"][0]


def statuses(records):
    for record in records:
        if record["platform"] == "mastodon":
            yield record["payload"]


def text_of(record: dict) -> str:
    payload = record["payload"]
    if record["platform"] == "x":
        return payload["data"][0]["text"] if isinstance(payload, dict) else payload
    return payload["content"] or (payload["reblog"] or {}).get("content", "")


def fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def keys(mentions) -> list[tuple[str, str]]:
    return [(m.external_id, m.version_id) for m in mentions]


@pytest.fixture
def replay_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("REPLAY_DATA_DIRS", str(tmp_path))
    return tmp_path


def write_lines(path: Path, lines: list[bytes | str], *, compress: bool = True) -> Path:
    data = b"".join((line.encode() if isinstance(line, str) else line) + b"\n" for line in lines)
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


# --- The generator ---------------------------------------------------------------------------------


def test_same_seed_same_bytes_and_the_bundled_file_is_up_to_date(tmp_path):
    first, second, other = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz", tmp_path / "c.jsonl.gz"
    generate.write(iter_records(400, 3), first)
    generate.write(iter_records(400, 3), second)
    generate.write(iter_records(400, 4), other)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()

    # The committed file is what the documented command writes (compared uncompressed: another
    # zlib build may compress the same lines into other bytes).
    regenerated = tmp_path / "demo.jsonl.gz"
    assert generate.main(["--out", str(regenerated), "--count", "3000", "--seed", "7"]) == 0
    assert gzip.decompress(regenerated.read_bytes()) == gzip.decompress(DEMO_FILE.read_bytes())


def test_demo_file_size_count_and_time_order():
    assert DEMO_FILE.stat().st_size < 1_000_000
    records = demo_records()
    assert len(records) == 3000
    assert {r["platform"] for r in records} == {"x", "mastodon"}
    times = [t for t in map(posted_at, records) if t is not None]
    assert len(times) == 2998  # the two malformed records whose time cannot be read
    assert times == sorted(times)
    assert times[-1] - times[0] > timedelta(days=6.5)


def test_iter_records_gives_exact_counts_for_other_brands():
    brands = (generate.Brand(name="Café Lune", handle="CafeLune", hashtag="CafeLune"), generate.NORDIK_HOME)
    records = list(iter_records(1000, 11, brands=brands, malformed=False))
    assert len(records) == 1000
    texts = " ".join(text_of(r) for r in records)
    assert "Café Lune" in texts or "@CafeLune" in texts
    assert "Maison Aurore" not in texts


def test_both_languages_about_two_thirds_french():
    langs = Counter()
    for post in x_posts(demo_records()):
        langs[post["lang"]] += 1
    for status in statuses(demo_records()):
        langs[status["language"] or (status["reblog"] or {}).get("language")] += 1
    french = langs["fr"] / sum(langs.values())
    assert 0.58 <= french <= 0.72, langs
    assert langs["en"] / sum(langs.values()) >= 0.28


def test_the_crisis_burst_triples_the_volume_with_negative_french_posts():
    records = demo_records()
    tag = "#" + MAISON_AURORE.crisis_hashtag
    start = min(posted_at(r) for r in records if tag in text_of(r))
    window = (start - timedelta(minutes=1), start + timedelta(minutes=39))
    times = [t for t in map(posted_at, records) if t is not None]

    def volume(days_before: int) -> int:
        low, high = (edge - timedelta(days=days_before) for edge in window)
        return sum(1 for t in times if low <= t < high)

    usual = [volume(days) for days in range(1, 7)]
    assert volume(0) >= 2.5 * statistics.mean(usual), (volume(0), usual)
    assert volume(0) > 1.5 * max(usual)

    in_window = [r for r in records if posted_at(r) and window[0] <= posted_at(r) < window[1]]
    crisis = [r for r in in_window if any(word in fold(text_of(r)) for word in ("rappel", "defaut", "danger"))]
    assert len(crisis) >= max(25, len(in_window) / 2)
    assert sum(tag in text_of(r) for r in crisis) >= len(crisis) / 2  # around one hashtag
    languages = {r["payload"]["data"][0]["lang"] if r["platform"] == "x" else
                 (r["payload"]["language"] or r["payload"]["reblog"]["language"]) for r in crisis}
    assert languages == {"fr"}
    words = Counter(word for r in crisis for word in ("rappel", "defaut", "danger") if word in fold(text_of(r)))
    assert words["rappel"] >= 10 and words["defaut"] >= 3 and words["danger"] >= 2, words


def test_threads_with_replies_by_the_brands_own_account():
    records = demo_records()
    ids = {post["id"]: post for post in x_posts(records) if "id" in post}
    own_x = [p for p in x_posts(records) if p.get("author_id") == MAISON_AURORE.x_user_id]
    own_replies = [p for p in own_x if any(ref["type"] == "replied_to" for ref in p.get("referenced_tweets", []))]
    assert len(own_replies) >= 50
    for post in own_replies:
        parent = ids[post["referenced_tweets"][0]["id"]]
        assert post["in_reply_to_user_id"] == parent["author_id"]
        assert post["conversation_id"] == parent["conversation_id"] != post["id"]
        assert int(parent["id"]) < int(post["id"])  # snowflakes grow with time
    # Conversations go back and forth: customer, brand, customer (and sometimes the brand again).
    sizes = Counter(p["conversation_id"] for p in x_posts(records) if "id" in p)
    assert max(sizes.values()) >= 3

    own_toots = [s for s in statuses(records) if s["account"]["acct"] == MAISON_AURORE.handle and s["in_reply_to_id"]]
    assert len(own_toots) >= 10
    # Own posts that are not replies too (news, the recall statement).
    assert any("referenced_tweets" not in p for p in own_x)


def test_authors_repeat_with_a_long_tail_and_a_few_verified_influencers():
    records = demo_records()
    users = {}
    posts_by = Counter()
    for record in records:
        if record["platform"] == "x" and isinstance(record["payload"], dict):
            user = record["payload"]["includes"]["users"][0]
            users[user["id"]] = user
            posts_by[user["id"]] += 1
    assert posts_by.most_common(1)[0][1] >= 30
    assert sum(1 for n in posts_by.values() if n == 1) >= 200
    followers = sorted(u["public_metrics"]["followers_count"] for u in users.values())
    assert followers[-1] > 100 * statistics.median(followers)
    influencers = [u for u in users.values() if u["verified"] and u["public_metrics"]["followers_count"] > 20_000]
    assert 3 <= len(influencers) <= 40


def test_edited_posts_have_both_versions_in_time_order():
    records = demo_records()
    position = {post["id"]: i for i, post in enumerate(x_posts(records)) if "id" in post}
    edited = [p for p in x_posts(records) if len(p.get("edit_history_tweet_ids", [])) == 2]
    assert len(edited) >= 2
    for post in edited:
        first, last = post["edit_history_tweet_ids"]
        assert last == post["id"] and first in position and position[first] < position[last]
    toots = Counter(s["id"] for s in statuses(records))
    edited_toots = [s for s in statuses(records) if s["edited_at"]]
    assert edited_toots and all(toots[s["id"]] == 2 for s in edited_toots)


def test_plain_retweets_and_boosts():
    records = demo_records()
    retweets = [p for p in x_posts(records) if any(r["type"] == "retweeted" for r in p.get("referenced_tweets", []))]
    assert 10 <= len(retweets) <= 150
    assert all(p["text"].startswith("RT @") for p in retweets)
    assert any(s["reblog"] for s in statuses(records))


def test_exactly_three_malformed_records_of_three_kinds():
    records = demo_records()
    missing_id = [r for r in records if r["platform"] == "x" and isinstance(r["payload"], dict)
                  and "id" not in r["payload"]["data"][0]]
    not_object = [r for r in records if not isinstance(r["payload"], dict)]
    bad_time = [r for r in records if r["platform"] == "mastodon" and posted_at(r) is None]
    assert (len(missing_id), len(not_object), len(bad_time)) == (1, 1, 1)


def test_generator_meta_agrees_with_the_payloads():
    metas = [meta for _, meta in iter_records_with_meta(3000, 7)]
    summary = generate.summarize(metas)
    assert summary["records"] == 3000
    assert summary["malformed"] == ["missing id", "bad created_at", "non-object payload"]
    assert summary["kind"]["sarcasm"] >= 30 and summary["kind"]["question"] >= 100
    assert summary["crisis_window"] >= 40


# --- The replay connector ---------------------------------------------------------------------------


def test_registry_and_streams():
    assert get_connector("replay") is ReplayConnector
    assert ReplayConnector.account_streams == ("replay",) and ReplayConnector.query_streams == ()
    with pytest.raises(PermanentError):
        connector().fetch(StreamRequest(stream="search"), {})


def test_first_fetch_returns_the_first_record_and_rate_is_respected():
    clock = Clock()
    replay = connector(clock=clock, rate=2.0)
    page = replay.fetch(STREAM, {})
    assert page.cursor == {"offset": 1, "started_at": T0.isoformat()}
    assert page.fetched_at == T0 and not page.has_more
    assert page.poll_again_in == 1.0  # the next record is due in 0.5 s; never sooner than 1 s

    clock.advance(10)  # records 1..20 are due (record i at i / 2 s)
    page = replay.fetch(STREAM, page.cursor)
    assert page.cursor["offset"] == 21 and page.cursor["started_at"] == T0.isoformat()
    assert not page.has_more

    page2 = replay.fetch(STREAM, page.cursor)  # same time: nothing new
    assert page2.mentions == [] and page2.quarantined == [] and page2.cursor == page.cursor

    slow = connector(clock=Clock(), rate=0.1)
    page = slow.fetch(STREAM, {})
    assert page.cursor["offset"] == 1 and page.poll_again_in == pytest.approx(10.0)
    slow.clock.advance(4)
    page = slow.fetch(STREAM, page.cursor)
    assert page.cursor["offset"] == 1 and page.poll_again_in == pytest.approx(6.0)


def test_pages_are_capped_at_500():
    clock = Clock()
    replay = connector(clock=clock, rate=2.0)
    cursor = {"offset": 0, "started_at": (T0 - timedelta(hours=1)).isoformat()}  # 7201 records due
    page = replay.fetch(STREAM, cursor)
    assert page.cursor["offset"] == 500 and page.has_more
    page = replay.fetch(STREAM, page.cursor)
    assert page.cursor["offset"] == 1000 and page.has_more

    fast = connector(clock=Clock(), rate=0)  # benchmark mode: as fast as asked
    page, pages = fast.fetch(STREAM, {}), 1
    assert page.cursor["offset"] == 500 and page.has_more and page.poll_again_in is None
    while page.has_more:
        page, pages = fast.fetch(STREAM, page.cursor), pages + 1
    assert pages == 6 and page.cursor["offset"] == 3000 and page.poll_again_in is None


def test_cursor_advances_exactly_to_the_end_no_record_twice_none_skipped():
    lines = gzip.decompress(DEMO_FILE.read_bytes()).decode().splitlines()
    expected = [key for line in lines for key in keys(parse_payload(line).mentions)]
    expected_quarantine = sum(len(parse_payload(line).quarantined) for line in lines)

    clock = Clock()
    replay = connector(clock=clock, rate=5.0, rebase=False)
    cursor, got, quarantined, offsets, steps = {}, [], 0, [0], [0.3, 7, 61, 0, 240, 1.9, 33, 0.05, 900]
    for i in range(10_000):
        page = replay.fetch(STREAM, cursor)
        got.extend(keys(page.mentions))
        quarantined += len(page.quarantined)
        assert page.cursor["offset"] >= offsets[-1]
        offsets.append(page.cursor["offset"])
        cursor = page.cursor
        if page.poll_again_in is None:
            break
        if not page.has_more:
            clock.advance(steps[i % len(steps)])
    assert offsets[-1] == 3000
    assert got == expected
    assert quarantined == expected_quarantine == 3
    final = replay.fetch(STREAM, cursor)  # at the end it stays at the end
    assert final.mentions == [] and not final.has_more and final.poll_again_in is None


def test_malformed_lines_are_quarantined_and_the_rest_returned(replay_dir):
    good = [json.dumps(r) for r in list(iter_records(300, 5, malformed=False))[:4]]
    path = write_lines(replay_dir / "mixed.jsonl.gz", [
        good[0],
        "this is not json",
        "",  # blank lines are not records
        json.dumps({"platform": "myspace", "payload": {"id": "1"}}),
        good[1],
        json.dumps(["not", "a", "record"]),
        b"\xff\xfe not utf-8",
        json.dumps({"platform": "x", "payload": {"data": [{"text": "no id", "created_at": "2025-06-01T10:00:00Z"}]}}),
        good[2],
        json.dumps({"platform": "x", "payload": "double-encoded"}),
        good[3],
    ])
    page = connector(str(path), rate=0).fetch(STREAM, {})
    assert page.cursor["offset"] == 10 and not page.has_more
    expected = [key for line in good for key in keys(parse_payload(line).mentions)]
    assert keys(page.mentions) == expected
    reasons = [q.reason for q in page.quarantined]
    assert reasons[0].startswith("line 2: not JSON")
    assert reasons[1] == "line 3: unknown platform: 'myspace'"
    assert reasons[2].startswith("line 5: not a replay record")
    assert reasons[3].startswith("line 6: not UTF-8")
    assert reasons[4] == "line 7: x: missing id"
    assert reasons[5] == "line 9: x: not an X API v2 response object"
    assert page.quarantined[0].payload == "this is not json"  # the raw line
    assert page.quarantined[4].payload["platform"] == "x"  # a record parse_payload can replay
    assert parse_payload(page.quarantined[4].payload).quarantined[0].reason == "x: missing id"


def test_the_demo_files_malformed_records_are_quarantined():
    page = connector(rate=0).fetch(STREAM, {"offset": 0})
    seen = list(page.quarantined)
    while page.has_more:
        page = connector(rate=0).fetch(STREAM, page.cursor)
        seen.extend(page.quarantined)
    reasons = sorted(q.reason.split(": ", 1)[1] for q in seen)
    assert reasons == ["mastodon: status without a valid created_at", "x: missing id",
                       "x: not an X API v2 response object"]


def test_rebase_puts_the_last_record_at_the_start_and_keeps_spacing():
    clock = Clock()
    original = connector(clock=Clock(), rate=0, rebase=False)
    rebased = connector(clock=clock, rate=0)
    before, after, cursor = [], [], {}
    while True:
        page = rebased.fetch(STREAM, cursor)
        after.extend(page.mentions)
        cursor = page.cursor
        if not page.has_more:
            break
    cursor = {}
    while True:
        page = original.fetch(STREAM, cursor)
        before.extend(page.mentions)
        cursor = page.cursor
        if not page.has_more:
            break
    assert keys(before) == keys(after)
    assert max(m.created_at for m in after) == T0  # the file's last record lands at the start
    shifts = {a.created_at - b.created_at for a, b in zip(after, before, strict=True)}
    assert len(shifts) == 1  # one constant shift: the spacing is kept
    assert shifts.pop() > timedelta(days=100)
    # The raw payload is not rewritten.
    x_mention = next(m for m in after if "post" in m.raw)
    assert x_mention.raw["post"]["created_at"].startswith("2025-06")


def test_rebased_demo_looks_live_at_the_replay_rate():
    clock = Clock()
    replay = connector(clock=clock, rate=2.0)
    page = replay.fetch(STREAM, {})
    assert page.mentions[0].created_at <= T0 and T0 - page.mentions[0].created_at < timedelta(days=7.1)


def test_loop_restarts_with_new_ids(replay_dir):
    lines = [json.dumps(r) for r in list(iter_records(300, 5, malformed=False))[:10]]
    path = write_lines(replay_dir / "loop.jsonl", lines, compress=False)
    clock = Clock()
    replay = connector(str(path), clock=clock, rate=1.0, loop=True)
    clock.advance(9)
    first = replay.fetch(STREAM, {"offset": 0, "started_at": T0.isoformat()})
    assert first.cursor == {"offset": 0, "loop": 1, "started_at": T0.isoformat()}
    assert first.poll_again_in == 1.0 and not first.has_more
    clock.advance(10)
    second = replay.fetch(STREAM, first.cursor)
    assert second.cursor["loop"] == 2
    assert [k for k, _ in keys(second.mentions)] == [k + "-loop1" for k, _ in keys(first.mentions)]
    replies = [m for m in second.mentions if m.parent_external_id]
    assert all(m.parent_external_id.endswith("-loop1") for m in replies)
    # Each pass is re-based to its own start: the second one ten seconds later.
    newest = [max(m.created_at for m in page.mentions) for page in (first, second)]
    assert newest[1] - newest[0] == timedelta(seconds=10)


def test_mastodon_replies_get_their_parent_and_thread_from_the_file():
    replay = connector(rate=0)
    mentions, cursor = [], {}
    while True:
        page = replay.fetch(STREAM, cursor)
        mentions.extend(page.mentions)
        cursor = page.cursor
        if not page.has_more:
            break
    uris = {m.external_id for m in mentions if m.external_id.startswith("https://")}
    replies = [m for m in mentions if isinstance(m.raw, dict) and m.raw.get("in_reply_to_id")]
    assert len(replies) >= 50
    assert all(m.parent_external_id in uris and m.conversation_external_id in uris for m in replies)
    # The brand's own account, as the Mastodon parser names it (what an own account's external_id must be).
    own = [m for m in mentions if m.author and m.author.platform_user_id == MAISON_AURORE.mastodon_acct]
    x_own = [m for m in mentions if m.author and m.author.platform_user_id == MAISON_AURORE.x_user_id]
    assert own and x_own


def test_file_resolution(replay_dir, monkeypatch):
    assert connector().path == DEMO_FILE
    assert connector("listening/demo/demo_mentions.jsonl.gz").path == DEMO_FILE
    with pytest.raises(PermanentError, match="outside"):
        connector("/etc/hostname").fetch(STREAM, {})
    with pytest.raises(PermanentError, match="outside"):
        connector("listening/demo/../../pyproject.toml").fetch(STREAM, {})
    with pytest.raises(PermanentError, match="not found"):
        connector(str(replay_dir / "missing.jsonl.gz")).fetch(STREAM, {})
    monkeypatch.delenv("REPLAY_DATA_DIRS")
    path = write_lines(replay_dir / "ok.jsonl", ["{}"], compress=False)
    with pytest.raises(PermanentError, match="outside"):
        connector(str(path)).fetch(STREAM, {})


def test_bad_options_are_permanent_errors():
    with pytest.raises(PermanentError):
        connector(rate="fast")


def test_large_files_are_streamed_with_the_same_result(monkeypatch):
    in_memory = connector(rate=0, rebase=False)
    expected = []
    cursor = {}
    while True:
        page = in_memory.fetch(STREAM, cursor)
        expected.extend(keys(page.mentions))
        cursor = page.cursor
        if not page.has_more:
            break
    monkeypatch.setattr(replay_module, "MEMORY_LIMIT_BYTES", 0)
    monkeypatch.setattr(replay_module, "_CACHE", type(replay_module._CACHE)())
    streamed = connector(rate=0)
    assert streamed.dataset().lines is None
    got, cursor = [], {}
    while True:
        page = streamed.fetch(STREAM, cursor)
        got.extend(keys(page.mentions))
        cursor = page.cursor
        if not page.has_more:
            break
    assert got == expected
