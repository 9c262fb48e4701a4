"""The words of the bench world: pools of post texts drawn once per tenant from the demo's
sentence banks (listening/demo/texts.py, expanded with listening/demo/generate.py's templates),
so two million mentions cost a few thousand template expansions, not two million.

A pool is a list of finished texts per (language, topic, kind); the seeder picks from it and
adds what varies per post (the @names of a reply, a hashtag). French and English throughout.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from types import SimpleNamespace

from listening.demo import texts as bank
from listening.demo.generate import CLOSER_P, OPENER_P, Brand, Context, expand, fit, pick_template

TOPICS = bank.TOPICS  # delivery, refund, app, service, quality, store
KINDS = bank.KINDS  # complaint, praise, question, neutral, sarcasm
LANGS = ("fr", "en")
VARIANTS = 48  # texts per pool key: enough that neighbouring posts rarely repeat


@dataclass
class TextPools:
    """Pooled texts, tagged (``tagging.PostText``); keys say what a text is."""

    brand_posts: dict  # (lang, topic, kind) -> root posts naming the tenant's brand
    competitor_posts: dict  # (lang, topic, kind) -> about a competitor
    compare: dict  # lang -> the brand and a competitor
    generic: dict  # (lang, kind) -> a topic, no brand
    own_posts: dict  # lang -> the brand's own news
    brand_replies: dict  # (lang, topic, kind) -> the brand answering (signed by an agent)
    followups: dict  # (lang, mood) -> the author answering the brand
    user_replies: dict  # (lang, kind) -> other people chiming in
    crisis: dict  # "fr" -> a product-recall burst (French)


def _finish(rng: random.Random, core: str, kind: str, lang: str, topic: str) -> str:
    """Openers, closers and emojis as the demo generator adds them to a root post."""
    emojis, kind = bank.EMOJIS[kind], "complaint" if kind == "crisis" else kind
    if rng.random() < OPENER_P.get(kind, 0.1):
        opener = rng.choice(bank.OPENERS[lang][kind])
        core = f"{opener} {core[0].lower() + core[1:] if core[:1].isupper() and core[1:2].islower() else core}"
    if rng.random() < CLOSER_P.get(kind, 0.1):
        closer = rng.choice(bank.CLOSERS[lang][kind])
        if closer:
            core = f"{core}{'' if core[-1:] in '.!?…' else '.'} {closer}"
    if rng.random() < 0.3:
        core += " " + "".join(rng.choice(emojis) for _ in range(rng.choice((1, 1, 2))))
    if rng.random() < 0.08:
        core += " " + rng.choice(bank.TOPIC_TAGS[lang][topic])
    return fit(core, 280)


def _draw(rng, gen, lang: str, brand: Brand | None, templates, *, kind: str, finish: bool = True,
          topic: str = "store", given=dict) -> list[tuple[str, str, str, str]]:
    """VARIANTS texts as (text, lang, kind, topic); ``given()`` fixes placeholders per text."""
    out = []
    for _ in range(VARIANTS):
        product = rng.choice(brand.products) if brand else None
        ctx = Context(gen, lang, brand, product, **given())
        text = expand(rng, pick_template(rng, templates, product), ctx)
        out.append((_finish(rng, text, kind, lang, topic) if finish else fit(text, 280), lang, kind, topic))
    return out


def build_pools(rng: random.Random, brands: tuple[Brand, ...], agents: tuple[str, ...]) -> dict:
    """Untagged pools (``{pool name: {key: [(text, lang, kind, topic)]}}``) for a tenant whose
    brand is ``brands[0]`` (the others are its competitors). Replies are signed by ``agents``."""
    gen = SimpleNamespace(rng=rng, brands=brands)
    own, competitors = brands[0], brands[1:] or brands
    pools: dict[str, dict] = {name: {} for name in TextPools.__dataclass_fields__}

    def signed(lang):
        def given():
            agent = rng.choice(agents)
            return {"hello": "Bonjour," if lang == "fr" else "Hi,", "first": "", "agent": agent,
                    "sig": "^" + agent if rng.random() < 0.8 else ""}
        return given

    for lang in LANGS:
        reply_bank = bank.BRAND_REPLY[lang]
        for topic in TOPICS:
            for kind in KINDS:
                templates = bank.BANK[lang][topic][kind]
                pools["brand_posts"][(lang, topic, kind)] = _draw(rng, gen, lang, own, templates, kind=kind, topic=topic)
                pools["competitor_posts"][(lang, topic, kind)] = _draw(rng, gen, lang, rng.choice(competitors),
                                                                       templates, kind=kind, topic=topic)
                reply_templates = (reply_bank.get((topic, kind)) or reply_bank.get(("any", kind))
                                   or reply_bank[("any", "any")])
                pools["brand_replies"][(lang, topic, kind)] = _draw(rng, gen, lang, own, reply_templates,
                                                                    kind="brand_reply", topic=topic, finish=False,
                                                                    given=signed(lang))
        for kind in KINDS:
            generic = bank.GENERIC[lang].get(kind) or bank.GENERIC[lang]["complaint"]
            pools["generic"][(lang, kind)] = _draw(rng, gen, lang, None, generic, kind=kind)
            pools["user_replies"][(lang, kind)] = _draw(rng, gen, lang, None, bank.USER_REPLY[lang][kind], kind=kind,
                                                        finish=False)
        for mood in ("good", "bad"):
            pools["followups"][(lang, mood)] = _draw(rng, gen, lang, own, bank.CUSTOMER_FOLLOWUP[lang][mood],
                                                     kind=mood, finish=False, given=signed(lang))
        pools["compare"][lang] = _draw(rng, gen, lang, own, bank.COMPARE[lang], kind="neutral")
        pools["own_posts"][lang] = _draw(rng, gen, lang, own, bank.OWN_POSTS[lang], kind="own", finish=False)
    pools["crisis"]["fr"] = _draw(rng, gen, "fr", own, bank.CRISIS, kind="crisis", topic="quality")
    return pools


def tagged_pools(raw: dict, tagger) -> TextPools:
    """The pools with every text tagged (``tagging.Tagger.tag``, one batch)."""
    flat = [(name, key, entry) for name, pool in raw.items() for key, entries in pool.items() for entry in entries]
    tagged = tagger.tag([entry for _name, _key, entry in flat])
    out: dict[str, dict] = {name: {} for name in raw}
    for (name, key, _entry), post in zip(flat, tagged, strict=True):
        out[name].setdefault(key, []).append(post)
    return TextPools(**out)
