"""One tenant's year of social posts, planned in memory before anything is written: who posts
(a long tail of authors with a few heavy posters, followers spread over five orders of
magnitude, some verified), on which platform, when (a daily and weekly rhythm, slow growth and a
couple of product-recall crises), what (the tagged text pools), and the threads that follow (the
brand answering, the author answering back, people chiming in, now and then a thread that goes
viral with thousands of replies).

``plan_posts`` returns the posts sorted by time; ``social_crm.bench.seed`` then gives them ids
and writes them, and ``social_crm.bench.inbox_sim`` files them into conversations.
"""

from __future__ import annotations

import bisect
import math
import random
import zlib
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from listening.demo.generate import EN_FIRST, EN_LAST, FR_FIRST, FR_LAST, HOURLY, INSTANCES, KIND_TOPICS, ROLE_KINDS

from .texts import TextPools

PLATFORM_WEIGHTS = {"x": 0.44, "facebook": 0.2, "mastodon": 0.12, "bluesky": 0.14, "rss": 0.10}
PARIS = zoneinfo.ZoneInfo("Europe/Paris")  # the rhythm of the day and the office hours (the SLA policies' zone)
HOUR = 3600.0
DAY = 86400.0
FEEDS = 40  # news sites an RSS account follows


@dataclass(slots=True, eq=False)
class Author:
    id: int
    platform: str
    uid: str  # platform_user_id
    handle: str
    name: str
    followers: int | None
    verified: bool
    profile_url: str
    avatar_url: str
    lang: str
    role: str  # regular, grumpy, fan, news, deals, influencer, brand, feed
    last_seen: float = 0.0
    mentions: int = 0  # posts planned for this author: listening_author.mentions_seen
    in_inbox: bool = False  # has a conversation: gets a social identity


@dataclass(slots=True, eq=False)
class Post:
    t: float  # posted, seconds since the epoch
    platform: str
    author: Author
    body: object  # tagging.PostText
    prefix: str = ""  # the @names a reply starts with
    parent: Post | None = None
    root: Post | None = None
    own: bool = False  # the tenant's own account
    repost: bool = False
    agent: str = ""  # brand replies: who signed
    mention_id: int = 0  # given when written
    external_id: str = ""
    serial: int = 0  # per platform, for ids

    @property
    def text(self) -> str:
        return self.prefix + self.body.text


def own_identity(brand, platform: str) -> tuple[str, str]:
    """(platform user id, handle) of the brand's own account on ``platform``."""
    crc = zlib.crc32(brand.handle.lower().encode())
    return {
        "x": (brand.x_user_id, brand.handle),
        "mastodon": (brand.mastodon_acct, brand.mastodon_acct),
        "facebook": (str(100_000_000_000 + crc), ""),
        "bluesky": (f"did:plc:{crc:08x}{brand.handle.lower()[:16]}", f"{brand.handle.lower()}.bsky.social"),
    }[platform]


class People:
    """Authors per platform, drawn by rank from a Zipf-like law and created on first draw."""

    def __init__(self, rng: random.Random, n_posts: int, brand, next_author_id):
        self.rng, self.brand, self._next_id = rng, brand, next_author_id
        self.created: list[Author] = []
        self.by_rank: dict[tuple[str, int], Author] = {}
        self.cum: dict[str, list[float]] = {}
        for platform, share in PLATFORM_WEIGHTS.items():
            size = FEEDS if platform == "rss" else max(50, int(n_posts * share * 0.35))
            self.cum[platform] = list(_accumulate(1.0 / (rank + 6) ** 0.85 for rank in range(size)))
        self.brand_accounts = {p: self._brand_account(p) for p in PLATFORM_WEIGHTS if p != "rss"}

    def _add(self, **fields) -> Author:
        author = Author(id=self._next_id(), **fields)
        self.created.append(author)
        return author

    def _brand_account(self, platform: str) -> Author:
        uid, handle = own_identity(self.brand, platform)
        followers = {"x": 48_200, "facebook": None, "mastodon": 2_300, "bluesky": 6_100}[platform]
        return self._add(platform=platform, uid=uid, handle=handle, name=self.brand.name, followers=followers,
                         verified=platform == "x", profile_url=_profile(platform, uid, handle), avatar_url="",
                         lang="fr", role="brand")

    def draw(self, platform: str, exclude: Author | None = None) -> Author:
        cum = self.cum[platform]
        while True:
            rank = bisect.bisect_left(cum, self.rng.random() * cum[-1])
            author = self.by_rank.get((platform, rank)) or self._person(platform, rank)
            if author is not exclude:
                return author

    def _person(self, platform: str, rank: int) -> Author:
        rng = self.rng
        if platform == "rss":
            host = f"{rng.choice(('actu', 'infos', 'conso', 'deco', 'retail', 'maison'))}{rank}.news.example"
            author = self._add(platform="rss", uid=f"https://{host}/feed.xml", handle=host,
                               name=f"{rng.choice(('Le Journal', 'Info', 'Mag', 'La Lettre'))} {host.split('.')[0]}",
                               followers=None, verified=False, profile_url=f"https://{host}/", avatar_url="",
                               lang="fr", role="feed")
            self.by_rank[(platform, rank)] = author
            return author
        lang = "fr" if rng.random() < 0.68 else "en"
        roll = rng.random()
        role = ("news" if roll < 0.5 else "influencer" if roll < 0.75 else "deals") if rank < 12 else (
            "influencer" if roll < 0.012 else "grumpy" if roll < 0.04 else "fan" if roll < 0.07 else "regular")
        first = rng.choice(FR_FIRST if lang == "fr" else EN_FIRST)
        last = rng.choice(FR_LAST if lang == "fr" else EN_LAST)
        name = f"{first} {last}" if rng.random() < 0.6 else f"{first} {last[0]}."
        base = "".join(c for c in f"{first}{last}".lower() if c.isascii() and c.isalnum())
        serial = len(self.created)  # unique in the tenant: handles and platform ids never collide
        handle = f"{base[:12]}{serial}"
        followers = int(math.exp(rng.gauss(5.0, 1.5)))
        if role in ("news", "influencer"):
            followers = rng.randint(20_000, 320_000)
        verified = platform in ("x", "bluesky") and (role in ("news", "influencer") and rng.random() < 0.7
                                                     or rng.random() < 0.004)
        if platform == "x":
            uid = str(10_000_000 + serial * 7919)
        elif platform == "mastodon":
            handle = f"{handle}@{rng.choice(INSTANCES)}"
            uid = handle
        elif platform == "bluesky":
            uid, handle = f"did:plc:{zlib.crc32(handle.encode()):08x}{serial:010d}", f"{handle}.bsky.social"
        else:  # facebook: no handle, no follower count
            uid, handle, followers, verified = str(200_000_000_000 + serial * 31), "", None, False
        author = self._add(platform=platform, uid=uid, handle=handle, name=name, followers=followers,
                           verified=verified, profile_url=_profile(platform, uid, handle),
                           avatar_url=f"https://cdn.example/avatars/{platform}/{serial}.jpg", lang=lang, role=role)
        self.by_rank[(platform, rank)] = author
        return author


def _profile(platform: str, uid: str, handle: str) -> str:
    if platform == "x":
        return f"https://x.com/{handle}"
    if platform == "mastodon":
        user, _, host = handle.partition("@")
        return f"https://{host or 'mastodon.example'}/@{user}"
    if platform == "bluesky":
        return f"https://bsky.app/profile/{handle or uid}"
    if platform == "facebook":
        return f"https://www.facebook.com/{uid}"
    return ""


def _accumulate(values):
    total = 0.0
    for value in values:
        total += value
        yield total


class Clock:
    """When posts happen: hour buckets over the span weighted by the hour of the day, the day
    of the week and a slow growth, plus crisis windows (a burst, then a tail)."""

    def __init__(self, rng: random.Random, start: float, end: float):
        self.rng, self.start, self.end = rng, start, end
        hours = int((end - start) // HOUR) + 1
        n_crises = max(1, round((end - start) / DAY / 180))
        self.crises = sorted(start + rng.uniform(0.1, 0.95) * (end - start) for _ in range(n_crises))
        weights = []
        for h in range(hours):
            t = start + h * HOUR
            local = datetime.fromtimestamp(t, PARIS)
            w = HOURLY[local.hour] * (0.8 if local.weekday() >= 5 else 1.0) * (0.7 + 0.6 * h / hours)
            w *= 1.0 + sum(5.0 if 0 <= t - c < 4 * HOUR else 1.5 if 0 <= t - c < 30 * HOUR else 0 for c in self.crises)
            weights.append(w)
        self.cum = list(_accumulate(weights))

    def draw(self) -> float:
        h = bisect.bisect_left(self.cum, self.rng.random() * self.cum[-1])
        return min(self.start + (h + self.rng.random()) * HOUR, self.end)

    def in_crisis(self, t: float) -> bool:
        return any(0 <= t - c < 30 * HOUR for c in self.crises)

    def office(self, t: float, median_minutes: float) -> float:
        """An answer by people who work 9:00-19:00 on weekdays, Paris time (else the next morning)."""
        rng = self.rng
        t += median_minutes * 60 * math.exp(rng.gauss(0, 0.9))
        local = datetime.fromtimestamp(t, PARIS)
        if local.weekday() >= 5 or not 9 <= local.hour < 19:
            days = 1 if local.hour >= 19 else 0
            morning = local.replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=days)
            while morning.weekday() >= 5:
                morning += timedelta(days=1)
            t = morning.timestamp() + rng.expovariate(1 / 1500)
        return t

    def after(self, t: float, median_minutes: float, sigma: float = 0.9) -> float:
        return t + median_minutes * 60 * math.exp(self.rng.gauss(0, sigma))


def _pick(rng, table: dict) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


class Planner:
    """Roots and their threads until ``n`` posts (exactly), then sorted by time."""

    def __init__(self, rng: random.Random, pools: TextPools, people: People, clock: Clock, n: int):
        self.rng, self.pools, self.people, self.clock, self.n = rng, pools, people, clock, n
        self.posts: list[Post] = []
        self.recent: list[Post] = []  # recent roots people repost

    def run(self) -> list[Post]:
        while len(self.posts) < self.n:
            self._root(self.clock.draw())
        del self.posts[self.n:]
        self.posts.sort(key=lambda p: p.t)
        return self.posts

    def _add(self, post: Post) -> Post | None:
        if post.t > self.clock.end or len(self.posts) >= self.n:
            return None
        self.posts.append(post)
        return post

    def _root(self, t: float) -> None:
        rng, pools = self.rng, self.pools
        platform = _pick(rng, PLATFORM_WEIGHTS)
        roll = rng.random()
        if platform != "rss" and roll < 0.02:
            lang = "fr" if rng.random() < 0.8 else "en"
            post = Post(t=self.clock.office(t, 5), platform=platform, author=self.people.brand_accounts[platform],
                        body=rng.choice(pools.own_posts[lang]), own=True)
            if self._add(post):
                post.root = post
                self._chime(post, "neutral", 0.5)
            return
        if platform != "rss" and roll < 0.05 and self.recent:
            original = rng.choice(self.recent[-500:])
            who = self.people.draw(original.platform, exclude=original.author)
            prefix = f"RT @{original.author.handle}: " if original.platform == "x" else ""
            self._add(Post(t=max(t, original.t + 60), platform=original.platform, author=who, body=original.body,
                           prefix=prefix, repost=True))
            return
        author = self.people.draw(platform)
        crisis = self.clock.in_crisis(t) and rng.random() < 0.7
        if crisis:
            body, kind, brand_post = rng.choice(pools.crisis["fr"]), "crisis", True
        else:
            body, kind, brand_post = self._compose(author, platform)
        post = self._add(Post(t=t, platform=platform, author=author, body=body))
        if post is None:
            return
        post.root = post
        if len(self.recent) > 2000:
            del self.recent[:1000]
        self.recent.append(post)
        if platform != "rss":
            self._thread(post, kind, brand_post, crisis)

    def _compose(self, author: Author, platform: str):
        rng, pools = self.rng, self.pools
        lang = author.lang if rng.random() > 0.04 else ("en" if author.lang == "fr" else "fr")
        if platform == "rss":
            kind = "neutral" if rng.random() < 0.8 else "complaint"
        else:
            kind = _pick(rng, ROLE_KINDS.get(author.role, ROLE_KINDS["regular"]))
        topic = _pick(rng, KIND_TOPICS[kind])
        roll = rng.random()
        if author.role == "fan" or roll < 0.55:
            return rng.choice(pools.brand_posts[(lang, topic, kind)]), kind, True
        if roll < 0.8:
            return rng.choice(pools.competitor_posts[(lang, topic, kind)]), kind, False
        if roll < 0.85:
            return rng.choice(pools.compare[lang]), "neutral", True
        return rng.choice(pools.generic[(lang, kind)]), kind, False

    def _reply(self, parent: Post, who: Author, t: float, body, *, own: bool = False, agent: str = "") -> Post | None:
        prefix = ""
        if parent.platform != "facebook" and parent.author is not who and parent.author.handle:
            prefix = f"@{parent.author.handle} "
        return self._add(Post(t=t, platform=parent.platform, author=who, body=body, prefix=prefix, parent=parent,
                              root=parent.root, own=own, agent=agent))

    def _thread(self, root: Post, kind: str, brand_post: bool, crisis: bool) -> None:
        rng, pools, clock = self.rng, self.pools, self.clock
        lang, topic = root.body.lang, root.body.topic
        base = "complaint" if kind == "crisis" else kind
        answer = {"complaint": 0.8, "question": 0.8, "sarcasm": 0.5, "praise": 0.3, "crisis": 0.6}.get(kind, 0.0)
        if brand_post and rng.random() < answer:
            account = self.people.brand_accounts[root.platform]
            reply_kind = base if base in ("complaint", "question", "praise", "sarcasm") else "complaint"
            body = rng.choice(pools.brand_replies[(lang, topic, reply_kind)])
            reply = self._reply(root, account, clock.office(root.t, 35), body, own=True, agent=_signed(body.text))
            if reply is not None and base in ("complaint", "question", "sarcasm") and rng.random() < 0.45:
                mood = "bad" if rng.random() < 0.35 else "good"
                follow = self._reply(reply, root.author, clock.after(reply.t, 25),
                                     rng.choice(pools.followups[(lang, mood)]))
                if follow is not None and (mood == "bad" or rng.random() < 0.25):
                    body = rng.choice(pools.brand_replies[(lang, topic, reply_kind)])
                    self._reply(follow, account, clock.office(follow.t, 30), body, own=True, agent=_signed(body.text))
        chime = {"complaint": 0.12, "question": 0.2, "praise": 0.06, "sarcasm": 0.12, "neutral": 0.05,
                 "crisis": 0.35}.get(kind, 0.05)
        if root.author.role in ("news", "influencer"):
            chime *= 2.5
        self._chime(root, base, chime)
        viral = 0.02 if crisis else 0.0015 if brand_post and base == "complaint" else 0.0
        if rng.random() < viral:
            self._viral(root, base)

    def _chime(self, root: Post, kind: str, p: float) -> None:
        rng, t = self.rng, root.t
        lang = root.body.lang
        while rng.random() < p:
            who = self.people.draw(root.platform, exclude=root.author)
            t = self.clock.after(t, 25)
            if self._reply(root, who, t, rng.choice(self.pools.user_replies[(lang, kind)])) is None:
                return
            p *= 0.5

    def _viral(self, root: Post, kind: str) -> None:
        """Hundreds to thousands of replies over a day or two: the big conversations."""
        rng = self.rng
        size = min(4000, int(40 * rng.paretovariate(0.9)))
        thread = [root]
        pool = self.pools.user_replies[(root.body.lang, kind if kind in ("complaint", "sarcasm") else "complaint")]
        times = sorted(self.clock.after(root.t, 180, 1.3) for _ in range(size))
        for t in times:
            parent = thread[0] if rng.random() < 0.6 else rng.choice(thread)
            who = root.author if rng.random() < 0.03 else self.people.draw(root.platform, exclude=root.author)
            reply = self._reply(parent, who, t, rng.choice(pool))
            if reply is None:
                return
            thread.append(reply)


def _signed(text: str) -> str:
    """The agent who signed a brand reply ("^Léa" at the end), or ""."""
    head, sep, name = text.rpartition("^")
    return name.strip() if sep else ""
