"""Write the synthetic demo mentions the replay connector plays back.

    python -m listening.demo.generate --out listening/demo/demo_mentions.jsonl.gz --count 3000 --seed 7

One gzip JSONL line per record, ``{"platform": "x" | "mastodon", "payload": ...}``, in time order:
an X record is a one-post API v2 response page (``{"data": [post], "includes": {"users": [author]}}``),
a Mastodon record is one status object, both shaped like what the platforms send. Everything is
invented by this script from a seeded ``random.Random`` (same seed, same bytes; pure stdlib):
no real person, post or account.

The world: the demo tenant's brand (by default Maison Aurore, a French home-goods retailer),
two competitors, and topics (delivery, refunds, the app, customer service, product quality,
stores), in French and English; complaints, praise, questions, news, some sarcasm; heavy
posters and a long tail of authors; threads with replies by the brands' own accounts; a few
retweets/boosts and quotes; edited posts (both versions, in time order); a product-recall crisis
(a 40-minute burst that triples the volume, then a tail); and 3 malformed records.

``iter_records(count, seed, brands=...)`` yields the same records in memory (the benchmark uses
it for large counts and other brands).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import random
import re
import sys
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from listening.demo import texts

UTC = timezone.utc

# The recorded week. The replay connector re-bases created_at so that the last record is "now".
END = datetime(2025, 6, 12, 16, 40, tzinfo=UTC)
SPAN = timedelta(days=7)
START = END - SPAN
LOCAL = timedelta(hours=2)  # Paris in June (CEST): the diurnal rhythm and office hours are local
CRISIS_START = datetime(2025, 6, 11, 18, 10, tzinfo=UTC)  # 20:10 in Paris, the evening before END
CRISIS_MINUTES = 40
CRISIS_FACTOR = 3  # volume in the crisis window / usual volume at that hour
CRISIS_TAIL_HOURS = 14

X_EPOCH_MS = 1288834974657
HOME_INSTANCE = "mastodon.example"  # the Mastodon server the statuses were read from
INSTANCES = ("mastodon.example", "piaille.example", "toot.example", "social.example")

DEFAULT_OUT = Path(__file__).resolve().parent / "demo_mentions.jsonl.gz"

# Posting rhythm: relative weight of each local hour.
HOURLY = (0.35, 0.2, 0.1, 0.06, 0.06, 0.1, 0.3, 0.6, 0.9, 1.0, 1.0, 1.0,
          1.15, 1.1, 0.95, 0.95, 1.0, 1.05, 1.15, 1.25, 1.35, 1.35, 1.0, 0.65)


# --- The world ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    fr: str  # "plaid en lin"
    gender: str  # "m" | "f"
    en: str  # "linen throw"
    tags: tuple[str, ...] = ()  # "textile", "furniture", "rigid"

    @property
    def vowel(self) -> bool:
        return _ascii(self.fr[0]).lower() in "aeiou"


TEXTILE, FURNITURE, RIGID = "textile", "furniture", "rigid"

DEFAULT_PRODUCTS = (
    Product("plaid en lin", "m", "linen throw", (TEXTILE,)),
    Product("lampe Opaline", "f", "Opaline lamp", (RIGID,)),
    Product("canapé Lumen", "m", "Lumen sofa", (FURNITURE, RIGID)),
    Product("parure de lit en lin lavé", "f", "washed linen bedding set", (TEXTILE,)),
    Product("service de table Aube", "m", "Aube dinner set", (RIGID,)),
    Product("tapis berbère", "m", "berber rug", (TEXTILE,)),
    Product("étagère Alba", "f", "Alba shelf", (FURNITURE, RIGID)),
    Product("lot de coussins Sable", "m", "Sable cushion set", (TEXTILE,)),
    Product("miroir en rotin", "m", "rattan mirror", (RIGID,)),
    Product("bougie parfumée Figue", "f", "Figue scented candle", ()),
    Product("carafe Goutte", "f", "Goutte carafe", (RIGID,)),
    Product("fauteuil Lou", "m", "Lou armchair", (FURNITURE, RIGID)),
    Product("nappe en lin", "f", "linen tablecloth", (TEXTILE,)),
)

DEFAULT_CITIES = ("Paris", "Lyon", "Lille", "Nantes", "Bordeaux", "Toulouse", "Marseille", "Rennes", "Strasbourg",
                  "Montpellier", "Grenoble", "Nice")


@dataclass(frozen=True)
class Brand:
    """A brand of the demo world. The first brand given to the generator is the tenant's:
    it gets the most mentions, replies most, posts its own news and has the crisis."""

    name: str
    handle: str  # X username and Mastodon username, no "@"
    hashtag: str  # no "#"
    products: tuple[Product, ...] = DEFAULT_PRODUCTS
    cities: tuple[str, ...] = DEFAULT_CITIES
    agents: tuple[str, ...] = ("Léa", "Karim", "Manon", "Thomas", "Inès")  # who signs the replies
    crisis_product: Product | None = None  # default: the first product
    crisis_hashtag: str = ""  # default: "Rappel" + hashtag
    crisis_lots: str = "2403 à 2418"

    @property
    def x_user_id(self) -> str:
        """The brand's X account id: fixed by its handle, the same for every seed."""
        return str(1_400_000_000_000_000_000 + zlib.crc32(self.handle.lower().encode()) * 100_000_000 + 42)

    @property
    def mastodon_account_id(self) -> str:
        return str(109_000_000_000_000_000 + zlib.crc32(self.handle.lower().encode()) * 1_000_000 + 42)

    @property
    def mastodon_acct(self) -> str:
        """How the Mastodon parser names the account (``user@host``); an own account's external_id."""
        return f"{self.handle}@{HOME_INSTANCE}"


def entity_terms(own: Brand, competitors: Sequence[Brand]) -> list[tuple[str, str, list[str]]]:
    """(kind, name, other spellings) of the entity terms a tenant of this world declares: its
    brand and handle, its products (French name, English as another spelling) and its
    competitors, so the entity ruler finds what the generator writes."""
    terms = [("brand", own.name, [own.hashtag]), ("handle", "@" + own.handle, [])]
    products = [*own.products, own.crisis_product] if own.crisis_product else list(own.products)
    seen = set()
    for p in products:
        if p.fr not in seen:
            seen.add(p.fr)
            terms.append(("product", p.fr, [p.en]))
    terms += [("competitor", b.name, [b.hashtag, "@" + b.handle]) for b in competitors]
    return terms


MAISON_AURORE = Brand(
    name="Maison Aurore", handle="MaisonAurore", hashtag="MaisonAurore",
    crisis_product=Product("bouilloire Céleste", "f", "Céleste kettle", (RIGID,)),
    crisis_hashtag="RappelAurore",
)
BLEU_COMPTOIR = Brand(
    name="Bleu Comptoir", handle="BleuComptoir", hashtag="BleuComptoir",
    products=(
        Product("cocotte en fonte", "f", "cast-iron casserole", (RIGID,)),
        Product("théière Sencha", "f", "Sencha teapot", (RIGID,)),
        Product("nappe enduite", "f", "coated tablecloth", (TEXTILE,)),
        Product("lot de verres Bistrot", "m", "Bistrot glasses set", (RIGID,)),
        Product("service à café Marée", "m", "Marée coffee set", (RIGID,)),
        Product("tablier en lin", "m", "linen apron", (TEXTILE,)),
    ),
    agents=("Sophie", "Julien", "Nadia"),
)
NORDIK_HOME = Brand(
    name="Nordik Home", handle="NordikHome", hashtag="NordikHome",
    products=(
        Product("étagère Fjell", "f", "Fjell shelf", (FURNITURE, RIGID)),
        Product("fauteuil Sova", "m", "Sova armchair", (FURNITURE, RIGID)),
        Product("bureau Linje", "m", "Linje desk", (FURNITURE, RIGID)),
        Product("lampadaire Ljus", "m", "Ljus floor lamp", (RIGID,)),
        Product("canapé Hem", "m", "Hem sofa", (FURNITURE, RIGID)),
        Product("housse de couette Moln", "f", "Moln duvet cover", (TEXTILE,)),
    ),
    agents=("Erik", "Camille", "Yanis"),
)
DEFAULT_BRANDS = (MAISON_AURORE, BLEU_COMPTOIR, NORDIK_HOME)


# --- Names ---------------------------------------------------------------------------------------

FR_FIRST = ("Camille Julie Thomas Nicolas Léa Manon Hugo Lucas Chloé Sarah Marie Sophie Nathalie Isabelle Céline "
            "Aurélie Julien Maxime Antoine Pierre Mathilde Pauline Clément Romain Émilie Élodie Sandrine Laurent "
            "Stéphane Karine Yasmine Nadia Mehdi Karim Sofiane Inès Amandine Benoît Cécile Delphine Fatima Gaëlle "
            "Hélène Jérôme Kevin Laetitia Marion Noémie Océane Quentin Rémi Salomé Théo Valérie Xavier Yann Zoé "
            "Anaïs Baptiste Coralie Damien Estelle Florian Gabriel Héloïse Jeanne Louise Malik Nina Olivier Patrice "
            "Rachid Sébastien Tiphaine Victor Wassim Adèle Bruno Chantal Dominique Françoise Gérard Monique Bernard "
            "Martine Lina Adam Sami Elsa Jules Margaux Axel Lou").split()
FR_LAST = ("Martin Bernard Dubois Durand Lefebvre Moreau Laurent Simon Michel Garcia Roux Fournier Girard Bonnet "
           "Dupont Lambert Fontaine Rousseau Vincent Muller Faure Blanc Guérin Boyer Chevalier Robin Masson Sanchez "
           "Henry Perrin Morin Mathieu Clément Gauthier Dumont Lopez Mercier Benali Haddad Nguyen Lemaire Caron "
           "Barbier Renaud Picard Leroy Colin Arnaud Brun Marchand Giraud Lacroix Meunier Aubert Bertin").split()
EN_FIRST = ("Emma Olivia Sophie Charlotte Amelia Grace Hannah Lucy Emily Jessica Sarah Rachel Megan Laura Kate Anna "
            "James Oliver Harry Jack George Tom Sam Ben Daniel Matt Chris Dan Ryan Luke Josh Alex Jamie Priya Aisha "
            "Mei Chloe Zoe Nina Maya Liam Noah Ethan Mike David Paul Mark Kevin Steve Fiona Claire Rosie").split()
EN_LAST = ("Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker White "
           "Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis Harris Cooper King Baker Hughes Ward Murphy "
           "Kelly Campbell Reid Morgan Bell Turner Price Hill Fraser Doyle").split()
FR_NICK = ("lafeedulogis papadeborde missdeco chatperche bricoleurdudimanche mamande3 plantesetcafe lapetiteourse "
           "ronchonne cafecreme lecturesdusoir bobo_lyonnais jardinsecret tata_jeanne lechatnoir mlle_pivoine "
           "velotaf_nantes petitemaison lutin_du_nord marmottte").split()
EN_NICK = "plantmum coffeeandchaos homenerd tinyflatbigdreams rainycityhome cosycorner_uk".split()
FR_NICK_NAMES = ("La fée du logis", "Papa débordé", "Miss Déco", "Chat perché", "Bricoleur du dimanche", "Maman de 3",
                 "Plantes et café", "La petite ourse", "Ronchonne", "Café crème", "Lectures du soir", "Bobo lyonnais",
                 "Jardin secret", "Tata Jeanne", "Le chat noir", "Mlle Pivoine", "Vélotaf Nantes", "Petite maison",
                 "Lutin du Nord", "Marmotte")
EN_NICK_NAMES = ("plant mum", "coffee & chaos", "home nerd", "tiny flat big dreams", "rainy city home", "cosy corner")

WEEKDAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


@dataclass(eq=False)
class Person:
    platform: str
    id: str
    username: str
    name: str
    lang: str  # the language they write in
    followers: int
    following: int
    statuses: int
    created: datetime
    role: str = "regular"  # regular, grumpy, fan, news, deals, influencer, brand
    verified: bool = False
    instance: str = ""  # Mastodon
    first: str = ""  # for "Bonjour Camille,"
    affinity: int | None = None  # a fan's brand
    brand: int | None = None  # a brand's own account
    accents: bool = True
    lower: bool = False
    emoji: float = 0.3
    typo: float = 0.04
    tight_punct: bool = False  # "quoi?" rather than "quoi ?"

    @property
    def acct(self) -> str:
        return self.username if self.instance == HOME_INSTANCE else f"{self.username}@{self.instance}"

    @property
    def url(self) -> str:
        return f"https://{self.instance}/@{self.username}"


@dataclass(eq=False)
class Post:
    platform: str
    author: Person
    at: datetime
    text: str
    lang: str
    kind: str  # complaint praise question neutral sarcasm | crisis own reply retweet quote
    topic: str = ""
    brand: str = ""  # a brand name, "compare" or "" (a topic, no brand)
    pid: str = ""
    product: Product | None = None
    parent: Post | None = None
    root: Post | None = None
    repost_of: Post | None = None
    quote_of: Post | None = None
    first_version: Post | None = None  # X edit: the original version
    edited_at: datetime | None = None  # Mastodon edit: the new version's time
    crisis: bool = False
    own: bool = False  # posted by the tenant brand's account
    malformed: str = ""
    agent: str = ""
    mentions_brand: str = ""  # the brand handle an X reply should carry along
    replies: int = 0
    reposts: int = 0
    quotes: int = 0
    children: int = 0
    keep: bool = False  # never trimmed

    @property
    def observed(self) -> datetime:
        return self.edited_at or self.at


# --- Text ----------------------------------------------------------------------------------------

_ALT = re.compile(r"\[([^\[\]]*)\]")
_TAG = re.compile(r"^<(\w+)>")
_SPACES = re.compile(r"[ \t]{2,}")


class Context(dict):
    """The values of a template's ``{placeholders}``, drawn on first use and then fixed for the
    post, so a number or a city used twice stays the same."""

    def __init__(self, gen: _Generator, lang: str, brand: Brand | None, product: Product | None, **given):
        super().__init__(**given)
        self.gen, self.rng, self.lang, self.brand, self.product = gen, gen.rng, lang, brand, product

    def __missing__(self, key: str) -> str:
        value = self._make(key)
        self[key] = value
        return value

    def _make(self, key: str) -> str:  # noqa: C901 (a plain table of placeholders)
        rng, brand, p = self.rng, self.brand or self.gen.brands[0], self.product
        if key == "B":
            roll = rng.random()
            if roll < 0.45:
                return "@" + brand.handle
            if roll < 0.82:
                return brand.name
            if roll < 0.92:
                return brand.name.lower()
            return "#" + brand.hashtag
        if key == "Bn":
            return brand.name
        if key == "C":
            others = [b for b in self.gen.brands if b is not brand]
            return rng.choice(others).name if others else "Déco Plus"
        if key == "tag":
            return "#" + brand.hashtag
        if p is None:
            p = self.product = rng.choice(brand.products)
        cp = brand.crisis_product or brand.products[0]
        fem, cfem = p.gender == "f", cp.gender == "f"
        table = {
            "p": p.fr,
            "mon_p": ("ma " if fem and not p.vowel else "mon ") + p.fr,
            "le_p": ("l'" if p.vowel else "la " if fem else "le ") + p.fr,
            "un_p": ("une " if fem else "un ") + p.fr,
            "du_p": ("de l'" if p.vowel else "de la " if fem else "du ") + p.fr,
            "e": "e" if fem else "",
            "beau": "belle" if fem else "beau",
            "il": "elle" if fem else "il",
            "celui": "celle" if fem else "celui",
            "p_en": p.en,
            "my_p": "my " + p.en,
            "the_p": "the " + p.en,
            "a_p": ("an " if p.en[0].lower() in "aeiou" else "a ") + p.en,
            "cp": cp.fr,
            "la_cp": ("l'" if cp.vowel else "la " if cfem else "le ") + cp.fr,
            "sa_cp": ("sa " if cfem and not cp.vowel else "son ") + cp.fr,
            "une_cp": "une" if cfem else "un",
            "elle": "elle" if cfem else "il",
            "Elle": "Elle" if cfem else "Il",
            "la_mienne": "La mienne" if cfem else "Le mien",
            "lots": brand.crisis_lots,
            "ch": "#" + (brand.crisis_hashtag or "Rappel" + brand.hashtag),
        }
        if key in table:
            return table[key]
        if key == "days":
            return str(rng.choice((4, 5, 6, 8, 9, 10, 12, 15, 17, 19, 21, 23)))
        if key == "n":
            return str(rng.randint(2, 9))
        if key == "day":
            return str(rng.randint(1, 28))
        if key == "hours":
            return rng.choice(("1", "2", "1h30", "3")) if self.lang == "fr" else rng.choice(("1", "2", "3"))
        if key == "amount":
            value = rng.choice((19, 29, 39, 49, 59, 89, 129, 149, 249, 399, 899))
            return f"{value} €" if self.lang == "fr" else f"€{value}"
        if key == "pct":
            return str(rng.choice((5, 8, 10, 12, 15, 20, 30, 40)))
        if key == "city":
            return rng.choice(brand.cities)
        if key == "order":
            return f"{rng.randint(10, 99)}{rng.randint(100000, 999999)}"
        if key == "weekday":
            return rng.choice(WEEKDAYS_FR)
        if key == "weekday_en":
            return rng.choice(WEEKDAYS_EN)
        if key in ("hello", "first", "sig", "agent"):
            return ""
        raise KeyError(key)


def expand(rng: random.Random, template: str, ctx: Context) -> str:
    template = _TAG.sub("", template)
    while True:
        match = _ALT.search(template)
        if match is None:
            break
        template = template[:match.start()] + rng.choice(match.group(1).split("|")) + template[match.end():]
    text = template.format_map(ctx)
    text = _SPACES.sub(" ", text).replace(" ,", ",").replace(" .", ".").strip()
    return text[:1].upper() + text[1:] if text[:1].islower() and not text.startswith(("@", "#")) else text


def pick_template(rng: random.Random, templates: Sequence[str], product: Product | None) -> str:
    """A template whose ``<tag>`` (if any) the product has."""
    usable = [t for t in templates if not (m := _TAG.match(t)) or (product is not None and m.group(1) in product.tags)]
    return rng.choice(usable or [t for t in templates if not _TAG.match(t)] or list(templates))


_SENTENCE = re.compile(r"([.!?] )([a-zàâçéèêëîïôûùüÿœ])")


def _sentences(text: str) -> str:
    """A capital letter after a full stop (templates glue "{mon_p}" in mid-text)."""
    return _SENTENCE.sub(lambda m: m.group(1) + m.group(2).upper(), text)


def _typo(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randint(1, len(w) - 3)
    roll = rng.random()
    if roll < 0.45:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]  # swapped letters
    elif roll < 0.75:
        w = w[:j] + w[j + 1:]  # a letter dropped
    else:
        w = w[:j] + w[j] + w[j:]  # a letter doubled
    words[i] = w
    return " ".join(words)


def _keep_tokens(text: str, transform) -> str:
    """Apply ``transform`` to everything but @handles, #tags and links."""
    return " ".join(w if w.startswith(("@", "#", "http")) else transform(w) for w in text.split(" "))


def humanize(rng: random.Random, text: str, who: Person, lang: str, *, typos: bool = True) -> str:
    if lang == "fr" and not who.accents:
        text = _keep_tokens(text, _ascii_keep_emoji)
    if who.lower:
        text = _keep_tokens(text, str.lower)
        if rng.random() < 0.6:
            text = text.rstrip(".")
    if lang == "fr" and who.tight_punct:
        text = text.replace(" ?", "?").replace(" !", "!").replace(" :", ":")
    if typos and rng.random() < who.typo:
        text = _typo(rng, text)
    return text


def _ascii_keep_emoji(word: str) -> str:
    return "".join(_ascii(c) if unicodedata.category(c).startswith("L") else c for c in word)


def _finish(rng: random.Random, core: str, kind: str) -> str:
    if core.endswith(("?", "!", ".", "…", "...", ")", "\"")) or core[-1:] and not core[-1].isalnum():
        return core
    if kind == "complaint":
        return core + rng.choice((".", ".", "!", "", "...", " !!" if rng.random() < 0.3 else "!"))
    if kind == "question":
        return core + " ?"
    return core + rng.choice((".", "", "", "!"))


def fit(text: str, limit: int = 280) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def _join_opener(opener: str, core: str, brands: Sequence[Brand]) -> str:
    """``Franchement`` + ``Le livreur...`` -> ``Franchement, le livreur...``."""
    if opener.endswith((":", ".", "?", "!")) or not (opener[-1:].isalnum() or opener.endswith(",")):
        return f"{opener} {core}"
    starts_with_name = core.startswith(("@", "#")) or any(core.startswith(b.name) for b in brands)
    if not starts_with_name and core[:1].isupper() and core[1:2].islower():
        core = core[0].lower() + core[1:]
    return f"{opener} {core}" if opener.endswith(",") else f"{opener}, {core}"


# --- The generator -------------------------------------------------------------------------------


ROLE_KINDS = {
    "regular": {"complaint": 0.33, "praise": 0.22, "question": 0.20, "neutral": 0.17, "sarcasm": 0.08},
    "grumpy": {"complaint": 0.6, "sarcasm": 0.28, "question": 0.12},
    "fan": {"praise": 0.65, "question": 0.15, "neutral": 0.15, "complaint": 0.05},
    "news": {"neutral": 1.0},
    "deals": {"neutral": 0.65, "praise": 0.35},
    "influencer": {"praise": 0.5, "neutral": 0.25, "complaint": 0.15, "question": 0.1},
}
KIND_TOPICS = {
    "complaint": {"delivery": 0.3, "refund": 0.15, "app": 0.15, "service": 0.17, "quality": 0.15, "store": 0.08},
    "praise": {"delivery": 0.18, "refund": 0.06, "app": 0.08, "service": 0.14, "quality": 0.32, "store": 0.22},
    "question": {"delivery": 0.25, "refund": 0.18, "app": 0.15, "service": 0.12, "quality": 0.15, "store": 0.15},
    "neutral": {"delivery": 0.15, "refund": 0.08, "app": 0.12, "service": 0.08, "quality": 0.12, "store": 0.45},
    "sarcasm": {"delivery": 0.3, "refund": 0.18, "app": 0.2, "service": 0.17, "quality": 0.1, "store": 0.05},
}
OPENER_P = {"complaint": 0.25, "praise": 0.18, "question": 0.2, "neutral": 0.12, "sarcasm": 0.3}
CLOSER_P = {"complaint": 0.35, "praise": 0.25, "question": 0.2, "neutral": 0.08, "sarcasm": 0.3}

# Named heavy posters: (platform, username, name, lang, role, followers, verified, weight, affinity)
PERSONAS = (
    ("x", "bonsplans_deco", "Bons Plans Déco 🏷️", "fr", "deals", 18400, False, 3.0, None),
    ("x", "gege_ronchon", "Gégé ronchon", "fr", "grumpy", 312, False, 2.6, 0),
    ("x", "sarah_in_lyon", "Sarah in Lyon 🇬🇧", "en", "regular", 1240, False, 2.0, None),
    ("x", "aurore_addict", "Aurore addict ✨", "fr", "fan", 890, False, 2.0, 0),
    ("x", "consoinfo_hebdo", "ConsoInfo Hebdo", "fr", "news", 86000, True, 1.6, None),
    ("x", "decobyines", "Déco by Inès", "fr", "influencer", 241000, True, 1.0, None),
    ("x", "homewithhannah", "Home with Hannah", "en", "influencer", 158000, True, 0.8, None),
    ("x", "retailtribune", "Retail Tribune", "en", "news", 54000, True, 0.9, None),
    ("x", "team_nordik", "Nordik fan club", "fr", "fan", 2100, False, 1.2, 2),
    ("mastodon", "julien_b", "Julien 🐘", "fr", "grumpy", 480, False, 1.4, None),
    ("mastodon", "libre_deco", "Libre Déco", "fr", "news", 3900, False, 0.9, None),
    ("mastodon", "ellie_reads", "Ellie (she/her)", "en", "regular", 260, False, 1.0, None),
)


class _Generator:
    def __init__(self, count: int, seed: int, brands: Sequence[Brand], malformed: bool):
        if count < 200:
            raise ValueError("count must be at least 200 (threads, a crisis and edits need room)")
        if not brands:
            raise ValueError("at least one brand")
        self.count, self.brands, self.with_malformed = count, tuple(brands), malformed
        self.rng = random.Random(seed)
        self.posts: list[Post] = []
        self.ids: set[str] = set()
        self.usernames: dict[str, set[str]] = {"x": set(), "mastodon": set()}
        self.brand_accounts: dict[tuple[int, str], Person] = {}
        self._people()

    # -- people --

    def _new_id(self, platform: str, when: datetime, *, user: bool = False) -> str:
        ms = int(when.timestamp() * 1000)
        while True:
            if platform == "x":
                if user and when.year < 2016:
                    value = str(self.rng.randint(10_000_000, 3_999_999_999))
                else:
                    value = str(((ms - X_EPOCH_MS) << 22) | self.rng.getrandbits(22))
            else:
                value = str((ms << 16) | self.rng.getrandbits(16))
            if value not in self.ids:
                self.ids.add(value)
                return value

    def _username(self, platform: str, base: str) -> str:
        base = re.sub(r"[^a-z0-9_]", "", _ascii(base).lower())[:15] or "user"
        name, taken = base, self.usernames[platform]
        while name in taken:
            name = (base[:11] + str(self.rng.randint(1, 999)))[:15]
        taken.add(name)
        return name

    def _person(self, platform: str, lang: str, role: str = "regular", **kw) -> Person:
        rng = self.rng
        first = ""
        if "username" in kw:
            username, name = self._username(platform, kw.pop("username")), kw.pop("name")
        elif rng.random() < 0.1:
            nick = rng.randrange(len(FR_NICK if lang == "fr" else EN_NICK))
            username = self._username(platform, (FR_NICK if lang == "fr" else EN_NICK)[nick])
            name = (FR_NICK_NAMES if lang == "fr" else EN_NICK_NAMES)[nick]
        else:
            first = rng.choice(FR_FIRST if lang == "fr" else EN_FIRST)
            last = rng.choice(FR_LAST if lang == "fr" else EN_LAST)
            style = rng.random()
            if style < 0.35:
                name = f"{first} {last}"
            elif style < 0.6:
                name = f"{first} {last[0]}."
            elif style < 0.75:
                name = first.lower() if rng.random() < 0.5 else first
            elif style < 0.87:
                name = f"{first} {rng.choice(('🌿', '☕', '🌻', '📚', '🐈', '🚲', '✨', '🏡'))}"
            else:
                suffixes = ("elle", "il", "she/her", "he/him") if platform == "mastodon" else ("Lyon", "Paris", "Nantes", "33", "69")
                name = f"{first} ({rng.choice(suffixes)})"
            f, l = _ascii(first).lower(), _ascii(last).lower()
            pattern = rng.random()
            if pattern < 0.3:
                base = f"{f}_{l}"
            elif pattern < 0.55:
                base = f"{f}{l[:1]}{rng.randint(1, 99)}"
            elif pattern < 0.75:
                base = f"{f[:3]}{l}"
            elif pattern < 0.9:
                base = f"{l}{f[:1]}"
            else:
                base = f"{f}{rng.randint(1970, 2005)}"
            username = self._username(platform, base)
        created = START - timedelta(days=rng.randint(300, 5200 if platform == "x" else 2500))
        followers = kw.pop("followers", None)
        if followers is None:
            followers = int(math.exp(rng.gauss(5.0, 1.5)))
        person = Person(
            platform=platform, id=self._new_id(platform, created, user=True), username=username, name=name, lang=lang,
            followers=followers, following=int(math.exp(rng.gauss(5.5, 1.0))),
            statuses=int(math.exp(rng.gauss(7.0, 1.5))) + 1, created=created, role=role, first=first,
            instance=(HOME_INSTANCE if rng.random() < 0.4 else rng.choice(INSTANCES[1:]))
            if platform == "mastodon" else "",
            accents=rng.random() > 0.12, lower=rng.random() < 0.15, emoji=rng.choice((0.05, 0.2, 0.35, 0.6)),
            typo=rng.choice((0.0, 0.03, 0.06, 0.15)), tight_punct=rng.random() < 0.5, **kw,
        )
        return person

    def _people(self) -> None:
        rng = self.rng
        for index, brand in enumerate(self.brands):
            for platform in ("x", "mastodon"):
                created = START - timedelta(days=2000)
                account = Person(
                    platform=platform,
                    id=brand.x_user_id if platform == "x" else brand.mastodon_account_id,
                    username=brand.handle, name=brand.name, lang="fr", role="brand", brand=index,
                    followers=(48200, 12900, 31700)[index % 3] if platform == "x" else (2300, 610, 1400)[index % 3],
                    following=180, statuses=9800, created=created, verified=platform == "x",
                    instance=HOME_INSTANCE if platform == "mastodon" else "", accents=True, emoji=0.0, typo=0.0,
                )
                self.usernames[platform].add(brand.handle.lower())
                self.ids.add(account.id)
                self.brand_accounts[(index, platform)] = account
        self.heavy: list[Person] = []
        self.heavy_weights: list[float] = []
        for platform, username, name, lang, role, followers, verified, weight, affinity in PERSONAS:
            person = self._person(platform, lang, role, username=username, name=name, followers=followers,
                                  verified=verified,
                                  affinity=affinity if affinity is None or affinity < len(self.brands) else None)
            if role in ("news", "influencer", "deals"):
                person.typo, person.lower, person.accents = 0.0, False, True
            if role == "grumpy":
                person.emoji = 0.5
            self.heavy.append(person)
            self.heavy_weights.append(weight)
        # The long tail: many people who post once, some a few times.
        self.tail: list[Person] = []
        for _ in range(max(80, int(self.count * 0.5))):
            platform = "mastodon" if rng.random() < 0.2 else "x"
            lang = "fr" if rng.random() < 0.66 else "en"
            roll = rng.random()
            if roll < 0.012:
                person = self._person(platform, lang, "influencer", followers=rng.randint(20_000, 320_000),
                                      verified=platform == "x")
                person.typo = 0.0
            elif roll < 0.03:
                person = self._person(platform, lang, "grumpy")
            elif roll < 0.06:
                person = self._person(platform, lang, "fan", affinity=rng.randrange(len(self.brands)))
            else:
                person = self._person(platform, lang)
            self.tail.append(person)
        weights = [1.0 / (rank + 6) ** 0.85 for rank in range(len(self.tail))]
        self.tail_cum = list(_accumulate(weights))
        self.by_platform_lang = {
            (platform, lang): [p for p in self.tail if p.platform == platform and p.lang == lang]
            for platform in ("x", "mastodon") for lang in ("fr", "en")
        }

    def _author(self) -> Person:
        if self.rng.random() < 0.11:
            return self.rng.choices(self.heavy, weights=self.heavy_weights)[0]
        return self.rng.choices(self.tail, cum_weights=self.tail_cum)[0]

    def _someone(self, platform: str, lang: str | None = None, exclude: Person | None = None) -> Person:
        """A tail person on ``platform`` (to reply, to retweet)."""
        lang = lang or ("fr" if self.rng.random() < 0.6 else "en")
        other = "fr" if lang == "en" else "en"
        pool = self.by_platform_lang[(platform, lang)] or self.by_platform_lang[(platform, other)]
        while True:
            person = self.rng.choice(pool)
            if person is not exclude:
                return person

    # -- time --

    def _weight(self, when: datetime) -> float:
        return HOURLY[(when + LOCAL).hour]

    def _time(self, start: datetime = START, end: datetime = END) -> datetime:
        span = (end - start).total_seconds()
        top = max(HOURLY)
        while True:
            when = start + timedelta(seconds=self.rng.random() * span)
            if self.rng.random() * top < self._weight(when):
                return when.replace(microsecond=self.rng.randrange(0, 1000) * 1000)

    def _office_hours(self, when: datetime) -> datetime:
        """Move a brand reply written at night to the next morning (8:00-9:30 local)."""
        local = when + LOCAL
        if 8 <= local.hour < 22:
            return when
        morning = local.replace(hour=8, minute=0, second=0) + (timedelta(days=1) if local.hour >= 22 else timedelta())
        return morning - LOCAL + timedelta(minutes=self.rng.uniform(0, 90))

    def _after(self, when: datetime, median_minutes: float, sigma: float = 0.9, *, office: bool = False) -> datetime:
        delay = timedelta(minutes=max(0.5, math.exp(self.rng.gauss(math.log(median_minutes), sigma))))
        later = when + delay
        return self._office_hours(later) if office else later

    # -- posts --

    def _add(self, post: Post) -> Post:
        if post.platform == "x":
            post.at = post.at.replace(microsecond=0)  # X's created_at has whole seconds
        if not post.pid:
            post.pid = self._new_id(post.platform, post.at)
        self.posts.append(post)
        return post

    def _compose(self, kind: str, topic: str, brand_choice: str, brand: Brand | None, who: Person,
                 lang: str) -> tuple[str, Product | None, str]:
        """A root post's text, its product and its kind (a comparison or a topic post takes the
        kind of the sentence drawn: a question or not)."""
        rng = self.rng
        product = rng.choice(brand.products) if brand else rng.choice(self.brands[0].products)
        ctx = Context(self, lang, brand, product)
        if brand_choice in ("compare", "generic"):
            if brand_choice == "compare":
                templates = texts.COMPARE[lang]
            else:
                templates = texts.GENERIC[lang].get(kind) or texts.GENERIC[lang]["complaint"]
            template = pick_template(rng, templates, product)
            if "?" in template:
                kind = "question"
            elif kind == "question" or kind not in texts.GENERIC[lang]:
                kind = "neutral" if brand_choice == "compare" else "complaint"
            core = expand(rng, template, ctx)
        else:
            core = expand(rng, pick_template(rng, texts.BANK[lang][topic][kind], product), ctx)
        core = _finish(rng, core, kind)
        if rng.random() < OPENER_P[kind]:
            core = _join_opener(rng.choice(texts.OPENERS[lang][kind]), core, self.brands)
        closer = rng.choice(texts.CLOSERS[lang][kind]) if rng.random() < CLOSER_P[kind] else ""
        if closer and core[-1:].isalnum():
            core += rng.choice((".", "!", "..."))
        parts = [_sentences(core), closer]
        if rng.random() < who.emoji:
            parts.append("".join(rng.choice(texts.EMOJIS[kind]) for _ in range(rng.choice((1, 1, 1, 2, 3)))))
        if rng.random() < 0.08 and brand_choice != "generic":
            parts.append(rng.choice(texts.TOPIC_TAGS[lang][topic]))
        if brand is not None and rng.random() < 0.07 and "#" + brand.hashtag not in core:
            parts.append("#" + brand.hashtag)
        text = " ".join(part for part in parts if part)
        return fit(humanize(rng, text, who, lang)), product, kind

    def _root(self, when: datetime, *, spawn: bool = True) -> Post:
        rng = self.rng
        who = self._author()
        lang = who.lang if rng.random() > 0.04 else ("en" if who.lang == "fr" else "fr")
        kinds = ROLE_KINDS[who.role]
        kind = rng.choices(list(kinds), weights=list(kinds.values()))[0]
        topics = KIND_TOPICS[kind]
        topic = rng.choices(list(topics), weights=list(topics.values()))[0]
        if who.affinity is not None and rng.random() < 0.85:
            brand_index: int | None = who.affinity
            choice = "brand"
        else:
            n = len(self.brands)
            weights = [0.55, 0.17, 0.13][:n] + [0.0] * max(0, n - 3)
            if n > 3:  # more competitors: share the competitor part
                weights = [0.55] + [0.30 / (n - 1)] * (n - 1)
            options = list(range(n)) + ["compare", "generic"]
            picked = rng.choices(options, weights=weights + [0.05 if n > 1 else 0.0, 0.10])[0]
            brand_index = picked if isinstance(picked, int) else (0 if picked == "compare" else None)
            choice = picked if isinstance(picked, str) else "brand"
        brand = self.brands[brand_index] if brand_index is not None else None
        if rng.random() < 0.004:  # a few posts X could not tell the language of
            text, lang, product = rng.choice(("😍😍😍", "🙄🙄", "👀", "😭😭😭")), "und", None
            if brand:
                text = f"@{brand.handle} {text}"
            kind = "praise" if "😍" in text else "complaint"
        else:
            text, product, kind = self._compose(kind, topic, choice, brand, who, lang)
        post = self._add(Post(
            platform=who.platform, author=who, at=when, text=text, lang=lang, kind=kind, topic=topic,
            brand="compare" if choice == "compare" else (brand.name if brand else ""), product=product,
        ))
        post.root = post
        if spawn:
            self._children(post, brand_index)
        return post

    def _reply_prefix(self, parent: Post, replier: Person) -> str:
        names = [] if parent.author is replier else ["@" + parent.author.username]
        carry = parent.mentions_brand
        if carry and carry.lower() != replier.username.lower() and "@" + carry not in names and self.rng.random() < 0.7:
            names.append("@" + carry)
        return " ".join(names) + " " if names else ""

    def _brand_in(self, post: Post) -> str:
        for brand in self.brands:
            if "@" + brand.handle.lower() in post.text.lower():
                return brand.handle
        return ""

    def _reply(self, parent: Post, who: Person, when: datetime, body: str, kind: str = "reply", **kw) -> Post | None:
        if when > END:
            return None
        text = fit(self._reply_prefix(parent, who) + body, 280 if parent.platform == "x" else 500)
        post = self._add(Post(
            platform=parent.platform, author=who, at=when, text=text, lang=kw.pop("lang", parent.lang), kind=kind,
            topic=parent.topic, brand=parent.brand, parent=parent, root=parent.root or parent, product=parent.product,
            crisis=parent.crisis, own=who.brand == 0,
            mentions_brand=parent.mentions_brand or self._brand_in(parent), **kw,
        ))
        parent.replies += 1
        parent.children += 1
        return post

    def _brand_reply_text(self, brand_index: int, parent: Post, agent: str, *, crisis: bool = False) -> str:
        rng, brand = self.rng, self.brands[brand_index]
        lang = parent.lang if parent.lang in ("fr", "en") else "fr"
        bank = texts.BRAND_REPLY[lang]
        if crisis:
            templates = bank[("crisis", "any")] if lang == "fr" else bank[("any", "any")]
        else:
            kind = parent.kind if parent.kind in ("complaint", "question", "praise", "sarcasm") else "any"
            templates = (bank.get((parent.topic, kind)) or bank.get(("any", kind)) or bank[("any", "any")])
        first = parent.author.first
        if lang == "fr":
            hello = "Bonjour,"
            if first and rng.random() < 0.7:
                hello = rng.choice((f"Bonjour {first},", f"Bonjour {first},", f"Hello {first},"))
        else:
            hello = rng.choice((f"Hi {first},", f"Hello {first},")) if first and rng.random() < 0.7 else "Hi,"
        sig = "^" + agent if rng.random() < 0.8 else ""
        ctx = Context(self, lang, brand, parent.product, hello=hello, first=first or "", sig=sig, agent=agent)
        return expand(rng, pick_template(rng, templates, parent.product), ctx).strip()

    def _children(self, root: Post, brand_index: int | None) -> None:
        """What happens after a root post: the brand answers, others chime in, retweets, quotes."""
        rng = self.rng
        kind, platform = root.kind, root.platform
        if brand_index is not None and root.brand not in ("", "compare") and root.author.brand is None:
            tenant = brand_index == 0
            p = {"complaint": 0.27, "question": 0.35, "sarcasm": 0.15, "praise": 0.08}.get(kind, 0.0)
            p *= 1 if tenant else 0.4
            if rng.random() < p:
                account = self.brand_accounts[(brand_index, platform)]
                agent = rng.choice(self.brands[brand_index].agents)
                when = self._after(root.at, 35 if tenant else 150, office=True)
                reply = self._reply(root, account, when, self._brand_reply_text(brand_index, root, agent), agent=agent)
                if reply is not None and kind in ("complaint", "question", "sarcasm") and rng.random() < 0.45:
                    mood = "bad" if rng.random() < (0.4 if kind != "question" else 0.12) else "good"
                    ctx = Context(self, root.lang if root.lang in ("fr", "en") else "fr", self.brands[brand_index],
                                  root.product, agent=agent)
                    lang = root.lang if root.lang in ("fr", "en") else "fr"
                    body = expand(rng, rng.choice(texts.CUSTOMER_FOLLOWUP[lang][mood]), ctx)
                    body = humanize(rng, body, root.author, lang)
                    follow = self._reply(reply, root.author, self._after(reply.at, 25), body)
                    if follow is not None and (mood == "bad" or rng.random() < 0.25):
                        sig = "^" + agent if rng.random() < 0.8 else ""
                        body = expand(rng, rng.choice(texts.BRAND_SECOND_REPLY[lang]),
                                      Context(self, lang, self.brands[brand_index], root.product, sig=sig))
                        self._reply(follow, account, self._after(follow.at, 30, office=True), body, agent=agent)
        # Other people chime in.
        chime = {"complaint": 0.1, "question": 0.18, "praise": 0.06, "sarcasm": 0.12, "neutral": 0.05}.get(kind, 0.0)
        if root.author.role in ("news", "influencer"):
            chime *= 2.5
        when = root.at
        while rng.random() < chime and root.lang in ("fr", "en"):
            who = self._someone(platform, root.lang, exclude=root.author)
            ctx = Context(self, root.lang, None, root.product)
            body = expand(rng, rng.choice(texts.USER_REPLY[root.lang][kind]), ctx)
            when = self._after(when, 25)
            if self._reply(root, who, when, humanize(rng, body, who, root.lang)) is None:
                break
            chime *= 0.5
        # Retweets / boosts and quotes.
        share = {"news": 0.4, "influencer": 0.35, "deals": 0.15}.get(root.author.role, 0.012)
        if root.kind == "sarcasm":
            share *= 3
        while rng.random() < share:
            self._repost(root, self._after(root.at, 60, 1.2))
            share *= 0.45
        if rng.random() < (0.1 if root.author.role in ("news", "influencer") else 0.006) and platform == "x":
            self._quote(root, self._after(root.at, 90, 1.0))

    def _repost(self, original: Post, when: datetime, who: Person | None = None) -> Post | None:
        if when > END:
            return None
        who = who or self._someone(original.platform, original.lang if original.lang in ("fr", "en") else None,
                                   exclude=original.author)
        if original.platform == "x":
            text = fit(f"RT @{original.author.username}: {original.text}", 140)
        else:
            text = ""
        original.reposts += 1
        original.children += 1
        return self._add(Post(platform=original.platform, author=who, at=when, text=text, lang=original.lang,
                              kind="retweet", topic=original.topic, brand=original.brand, repost_of=original,
                              crisis=original.crisis, product=original.product))

    def _quote(self, original: Post, when: datetime) -> Post | None:
        if when > END or original.lang not in ("fr", "en"):
            return None
        who = self._someone("x", original.lang, exclude=original.author)
        body = expand(self.rng, self.rng.choice(texts.QUOTE[original.lang]), Context(self, original.lang, None, None))
        link = "https://t.co/" + "".join(self.rng.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
                                         for _ in range(10))
        original.quotes += 1
        original.children += 1
        text = f"{humanize(self.rng, body, who, original.lang)} {link}"
        return self._add(Post(platform="x", author=who, at=when, text=text,
                              lang=original.lang, kind="quote", topic=original.topic, brand=original.brand,
                              quote_of=original, product=original.product))

    def _own_posts(self, n: int) -> None:
        rng = self.rng
        for _ in range(n):
            lang = "fr" if rng.random() < 0.8 else "en"
            platform = "x" if rng.random() < 0.75 else "mastodon"
            account = self.brand_accounts[(0, platform)]
            when = self._office_hours(self._time())
            if when > END:
                continue
            ctx = Context(self, lang, self.brands[0], None)
            text = expand(rng, rng.choice(texts.OWN_POSTS[lang]), ctx)
            post = self._add(Post(platform=platform, author=account, at=when, text=text, lang=lang, kind="own",
                                  topic="store", brand=self.brands[0].name, own=True, keep=True))
            post.root = post
            when = post.at
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                who = self._someone(platform, lang)
                kind = rng.choice(("praise", "question", "complaint", "neutral"))
                body = expand(rng, rng.choice(texts.USER_REPLY[lang][kind]), Context(self, lang, None, None))
                when = self._after(when, 20)
                self._reply(post, who, when, humanize(rng, body, who, lang))

    # -- crisis --

    def _crisis_text(self, who: Person) -> str:
        rng, brand = self.rng, self.brands[0]
        ctx = Context(self, "fr", brand, brand.crisis_product or brand.products[0])
        core = _sentences(_finish(rng, expand(rng, rng.choice(texts.CRISIS), ctx), "complaint"))
        if rng.random() < 0.3:
            core = _join_opener(rng.choice(texts.CRISIS_OPENERS), core, self.brands)
        parts = [core]
        if rng.random() < max(who.emoji, 0.3):
            parts.append("".join(rng.choice(texts.EMOJIS["crisis"]) for _ in range(rng.choice((1, 1, 2, 3)))))
        if rng.random() < 0.9 and ctx["ch"] not in core:
            parts.append(ctx["ch"])
        if rng.random() < 0.15:
            parts.append(rng.choice(texts.CRISIS_TAGS))
        return fit(humanize(rng, " ".join(parts), who, "fr"))

    def _crisis(self, burst: int, tail: int) -> None:
        rng, brand = self.rng, self.brands[0]
        start, end = CRISIS_START, CRISIS_START + timedelta(minutes=CRISIS_MINUTES)
        ctx = Context(self, "fr", brand, brand.crisis_product or brand.products[0])
        reporters = [p for p in self.heavy if p.role == "news" and p.lang == "fr" and p.platform == "x"]
        reporter = reporters[0] if reporters else self.heavy[0]
        alert = self._add(Post(platform="x", author=reporter, at=start + timedelta(seconds=40),
                               text=fit(expand(rng, texts.CRISIS_ALERT[0], ctx)), lang="fr", kind="crisis",
                               topic="quality", brand=brand.name, crisis=True, keep=True))
        alert.root = alert
        statements = []
        for platform, minutes in (("x", 9), ("mastodon", 10)):
            statement = self._add(Post(platform=platform, author=self.brand_accounts[(0, platform)],
                                       at=start + timedelta(minutes=minutes, seconds=rng.randint(0, 59)),
                                       text=fit(expand(rng, texts.CRISIS_STATEMENT[0], ctx)), lang="fr", kind="own",
                                       topic="quality", brand=brand.name, crisis=True, own=True, keep=True))
            statement.root = statement
            statements.append(statement)
        crisis_posts: list[Post] = [alert]
        agent = rng.choice(brand.agents)

        def one(when: datetime) -> None:
            roll = rng.random()
            earlier = [p for p in crisis_posts if p.at < when and p.kind in ("crisis", "own")]
            if roll < 0.2 and earlier:
                target = rng.choice([p for p in earlier if p.author.followers > 5000] or earlier)
                self._repost(target, when, self._someone(target.platform, "fr", exclude=target.author))
                return
            if roll < 0.3 and earlier:
                parent = rng.choice([p for p in earlier if p.own] or earlier)
                who = self._someone(parent.platform, "fr", exclude=parent.author)
                post = self._reply(parent, who, when, self._crisis_text(who), kind="crisis")
                if post is not None:
                    crisis_posts.append(post)
                return
            if roll < 0.45:
                complaints = [p for p in crisis_posts if p.kind == "crisis" and p.at < when and not p.own
                              and p.author is not reporter]
                if complaints:
                    parent = rng.choice(complaints)
                    account = self.brand_accounts[(0, parent.platform)]
                    body = self._brand_reply_text(0, parent, agent, crisis=True)
                    self._reply(parent, account, when, body, agent=agent)
                    return
            platform = "mastodon" if rng.random() < 0.2 else "x"
            who = self._someone(platform, "fr")
            post = self._add(Post(platform=platform, author=who, at=when, text=self._crisis_text(who), lang="fr",
                                  kind="crisis", topic="quality", brand=brand.name, crisis=True))
            post.root = post
            crisis_posts.append(post)

        crisis_posts.extend(statements)
        # The burst: ramps up fast, stays high, eases off at the end of the 40 minutes.
        times = sorted(start + timedelta(seconds=rng.triangular(60, CRISIS_MINUTES * 60 - 1, 900))
                       for _ in range(burst - 3))
        for when in times:
            one(when.replace(microsecond=rng.randrange(1000) * 1000))
        # The tail: decays over the night, a little more the next morning.
        times = []
        for _ in range(tail):
            when = end + timedelta(minutes=rng.expovariate(1 / 80))
            if when > end + timedelta(hours=CRISIS_TAIL_HOURS) or when > END:
                when = end + timedelta(hours=rng.uniform(12, CRISIS_TAIL_HOURS))
            times.append(min(when, END))
        for when in sorted(times):
            one(when.replace(microsecond=rng.randrange(1000) * 1000))

    # -- edits and malformed records --

    def _edits(self, n_x: int, n_mastodon: int) -> None:
        rng = self.rng
        candidates = [p for p in self.posts if p.parent is None and p.kind in ("complaint", "praise") and not p.crisis
                      and p.author.brand is None and p.lang == "fr" and not p.children
                      and START + timedelta(hours=2) < p.at < END - timedelta(hours=2)]
        rng.shuffle(candidates)
        for platform, n in (("x", n_x), ("mastodon", n_mastodon)):
            chosen = [p for p in candidates if p.platform == platform][:n]
            for original in chosen:
                clean = original.text
                if rng.random() < 0.5:
                    original.text = _typo(rng, clean)  # the edit fixes a typo
                if original.text == clean:  # the edit adds a precision
                    clean = fit(clean + rng.choice((" (edit : c'est réglé finalement)", " EDIT : toujours rien.",
                                                    " (edit : merci pour les réponses)")))
                original.keep = True
                later = original.at + timedelta(minutes=rng.uniform(2, 25))
                if platform == "x":
                    self._add(Post(platform="x", author=original.author, at=later, text=clean, lang=original.lang,
                                   kind=original.kind, topic=original.topic, brand=original.brand, keep=True,
                                   first_version=original, product=original.product, root=original))
                else:
                    self._add(Post(platform="mastodon", author=original.author, at=original.at, edited_at=later,
                                   text=clean, lang=original.lang, kind=original.kind, topic=original.topic,
                                   brand=original.brand, keep=True, pid=original.pid, first_version=original,
                                   product=original.product, root=original))

    def _malformed(self) -> None:
        """Three records the pipeline must quarantine: an X post without id, a Mastodon status
        with an impossible created_at, and a payload that is not an object (a page that was
        JSON-encoded twice)."""
        rng = self.rng
        for reason, fraction in (("missing id", 0.21), ("bad created_at", 0.55), ("non-object payload", 0.86)):
            when = START + SPAN * fraction + timedelta(seconds=rng.randint(0, 3000))
            platform = "mastodon" if reason == "bad created_at" else "x"
            who = self._someone(platform, "fr")
            text, product, _ = self._compose("complaint", "delivery", "brand", self.brands[0], who, "fr")
            post = self._add(Post(platform=platform, author=who, at=when, text=text, lang="fr", kind="complaint",
                                  topic="delivery", brand=self.brands[0].name, malformed=reason, keep=True,
                                  product=product))
            post.root = post

    # -- the whole --

    def _in_window(self, post: Post, days_before: int = 0) -> bool:
        start = CRISIS_START - timedelta(days=days_before)
        return start <= post.observed < start + timedelta(minutes=CRISIS_MINUTES)

    def run(self) -> list[Post]:
        rng = self.rng
        n_malformed = 3 if self.with_malformed else 0
        n_edits_x, n_edits_m = max(2, self.count // 1500), max(1, self.count // 3000)
        fixed = n_malformed + n_edits_x + n_edits_m
        # Share of the usual volume that falls in the crisis window, to size the crisis.
        minute = timedelta(minutes=1)
        total_w = sum(self._weight(START + minute * i) for i in range(int(SPAN / minute)))
        window_w = sum(self._weight(CRISIS_START + minute * i) for i in range(CRISIS_MINUTES))
        share = window_w / total_w
        tail_ratio = 0.8
        regular_target = int((self.count - fixed) / (1 + share * (CRISIS_FACTOR - 1) * (1 + tail_ratio)))
        self._own_posts(max(4, self.count // 250))
        while len(self.posts) < regular_target:
            self._root(self._time())
        # The crisis window holds CRISIS_FACTOR times the usual volume at that hour (the mean
        # of the same 40 minutes on the other days).
        today = sum(1 for p in self.posts if self._in_window(p))
        other_days = [sum(1 for p in self.posts if self._in_window(p, days_before=d)) for d in range(1, 7)]
        usual = sum(other_days) / len(other_days)
        burst = max(12, round((CRISIS_FACTOR - 1) * usual), round(CRISIS_FACTOR * usual) - today)
        tail = int(burst * tail_ratio)
        self._crisis(burst, tail)
        self._edits(n_edits_x, n_edits_m)
        if self.with_malformed:
            self._malformed()
        # Exactly ``count`` records: drop or add lone posts outside the crisis window.
        excess = len(self.posts) - self.count
        if excess > 0:
            removable = [p for p in self.posts if p.parent is None and not p.children and not p.keep and not p.crisis
                         and p.repost_of is None and p.quote_of is None and not self._in_window(p)]
            drop = set(map(id, rng.sample(removable, min(excess, len(removable)))))
            self.posts = [p for p in self.posts if id(p) not in drop]
        while len(self.posts) < self.count:
            when = self._time()
            if not CRISIS_START - timedelta(minutes=5) <= when < CRISIS_START + timedelta(minutes=CRISIS_MINUTES + 5):
                self._root(when, spawn=False)
        order = sorted(range(len(self.posts)), key=lambda i: (self.posts[i].observed, i))
        return [self.posts[i] for i in order]


def _accumulate(values):
    total = 0.0
    for value in values:
        total += value
        yield total


# --- Rendering -----------------------------------------------------------------------------------


def _iso_x(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _iso_ms(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _x_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Renderer:
    def __init__(self, gen: _Generator):
        self.gen, self.rng = gen, random.Random(gen.rng.random())
        self.handles = {"x": {}, "mastodon": {}}
        for (_, platform), account in gen.brand_accounts.items():
            self.handles[platform][account.username.lower()] = account

    def likes(self, post: Post) -> int:
        factor = {"praise": 1.5, "complaint": 1.0, "sarcasm": 2.5, "neutral": 1.2, "crisis": 3.0, "own": 2.0,
                  "reply": 0.25, "quote": 0.8, "question": 0.4}.get(post.kind, 0.0)
        mean = factor * (0.3 + post.author.followers ** 0.55 * 0.06)
        return int(self.rng.expovariate(1 / mean)) if mean > 0 else 0

    def x_user(self, who: Person) -> dict:
        user = {
            "id": who.id, "name": who.name, "username": who.username, "verified": who.verified,
            "created_at": _iso_x(who.created),
            "public_metrics": {"followers_count": who.followers, "following_count": who.following,
                               "tweet_count": who.statuses, "listed_count": who.followers // 200},
        }
        if who.verified:
            user["verified_type"] = "business" if who.role in ("brand", "news") else "blue"
        return user

    def x_page(self, post: Post) -> dict:
        likes = 0 if post.kind == "retweet" else self.likes(post)
        first = post.first_version
        data = {
            "edit_history_tweet_ids": [first.pid, post.pid] if first else [post.pid],
            "id": post.pid,
            "text": _x_escape(post.text),
            "author_id": post.author.id,
            "created_at": _iso_x(post.at),
            "lang": post.lang,
            "conversation_id": (first or (post.root if post.parent else None) or post).pid,
            "public_metrics": {
                "retweet_count": (post.repost_of.reposts if post.repost_of else post.reposts),
                "reply_count": post.replies, "like_count": likes, "quote_count": post.quotes,
                "bookmark_count": likes // 12,
                "impression_count": int(post.author.followers * self.rng.uniform(0.03, 0.4)
                                        + likes * self.rng.uniform(20, 60)
                                        + self.rng.randint(2, 40)),
            },
        }
        if post.parent is not None:
            data["referenced_tweets"] = [{"type": "replied_to", "id": post.parent.pid}]
            data["in_reply_to_user_id"] = post.parent.author.id
        elif post.repost_of is not None:
            data["referenced_tweets"] = [{"type": "retweeted", "id": post.repost_of.pid}]
        elif post.quote_of is not None:
            data["referenced_tweets"] = [{"type": "quoted", "id": post.quote_of.pid}]
        if post.malformed == "missing id":
            del data["id"]
        page = {"data": [data], "includes": {"users": [self.x_user(post.author)]}}
        return page

    def m_account(self, who: Person) -> dict:
        return {
            "id": who.id, "username": who.username, "acct": who.acct, "display_name": who.name, "locked": False,
            "bot": False, "discoverable": True, "group": False,
            "created_at": _iso_ms(who.created.replace(hour=0, minute=0, second=0, microsecond=0)),
            "note": "", "url": who.url, "uri": f"https://{who.instance}/users/{who.username}",
            "avatar": f"https://{HOME_INSTANCE}/avatars/original/missing.png",
            "avatar_static": f"https://{HOME_INSTANCE}/avatars/original/missing.png",
            "header": f"https://{HOME_INSTANCE}/headers/original/missing.png",
            "header_static": f"https://{HOME_INSTANCE}/headers/original/missing.png",
            "followers_count": who.followers, "following_count": who.following, "statuses_count": who.statuses,
            "last_status_at": END.date().isoformat(), "emojis": [], "fields": [],
        }

    def m_html(self, text: str, people: dict[str, Person]) -> tuple[str, list[dict], list[dict]]:
        mentions, tags = [], []

        def token(word: str) -> str:
            m = re.fullmatch(r"(@)(\w+)([^\w]*)|(#)(\w+)([^\w]*)", word)
            if m and m.group(1):
                who = self.handles["mastodon"].get(m.group(2).lower()) or people.get(m.group(2).lower())
                if who is None:
                    return _h(word)
                if not any(x["id"] == who.id for x in mentions):
                    mentions.append({"id": who.id, "username": who.username, "url": who.url, "acct": who.acct})
                return (f'<span class="h-card" translate="no"><a href="{who.url}" class="u-url mention">'
                        f'@<span>{who.username}</span></a></span>{_h(m.group(3))}')
            if m and m.group(4):
                name = m.group(5)
                url = f"https://{HOME_INSTANCE}/tags/{name.lower()}"
                if not any(t["name"] == name.lower() for t in tags):
                    tags.append({"name": name.lower(), "url": url})
                return f'<a href="{url}" class="mention hashtag" rel="tag">#<span>{name}</span></a>{_h(m.group(6))}'
            return _h(word)

        paragraphs = []
        for paragraph in text.split("\n\n"):
            lines = [" ".join(token(w) for w in line.split(" ")) for line in paragraph.split("\n")]
            paragraphs.append("<p>" + "<br />".join(lines) + "</p>")
        return "".join(paragraphs), mentions, tags

    def m_status(self, post: Post) -> dict:
        who = post.author
        people = {post.parent.author.username.lower(): post.parent.author} if post.parent is not None else {}
        content, mentions, tags = self.m_html(post.text, people) if post.text else ("", [], [])
        status = {
            "id": post.pid,
            "created_at": _iso_ms(post.at),
            "in_reply_to_id": post.parent.pid if post.parent else None,
            "in_reply_to_account_id": post.parent.author.id if post.parent else None,
            "sensitive": False, "spoiler_text": "", "visibility": "public",
            "language": None if post.lang == "und" else post.lang,
            "uri": f"https://{who.instance}/users/{who.username}/statuses/{post.pid}",
            "url": f"{who.url}/{post.pid}",
            "replies_count": post.replies, "reblogs_count": post.reposts,
            "favourites_count": 0 if post.repost_of else self.likes(post), "quotes_count": 0,
            "edited_at": _iso_ms(post.edited_at) if post.edited_at else None,
            "content": content, "reblog": None, "account": self.m_account(who), "media_attachments": [],
            "mentions": mentions, "tags": tags, "emojis": [], "card": None, "poll": None,
        }
        if post.repost_of is not None:
            status["uri"] = f"https://{who.instance}/users/{who.username}/statuses/{post.pid}/activity"
            status["url"] = None
            status["language"] = None
            status["reblog"] = self.m_status(post.repost_of)
        if post.malformed == "bad created_at":
            status["created_at"] = post.at.strftime("%Y-%m") + "-31T25:61:00.000Z"  # no such day, no such hour
        return status

    def record(self, post: Post) -> dict:
        if post.platform == "x":
            page = self.x_page(post)
            if post.malformed == "non-object payload":
                return {"platform": "x", "payload": json.dumps(page, ensure_ascii=False)}
            return {"platform": "x", "payload": page}
        return {"platform": "mastodon", "payload": self.m_status(post)}


def _h(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;").replace("'", "&#39;")


# --- Public API -----------------------------------------------------------------------------------


def _meta(post: Post) -> dict:
    kind = post.kind
    return {
        "platform": post.platform, "lang": post.lang, "kind": kind, "topic": post.topic, "brand": post.brand,
        "crisis": post.crisis,
        "crisis_window": CRISIS_START <= post.observed < CRISIS_START + timedelta(minutes=CRISIS_MINUTES),
        "own": post.own, "reply": post.parent is not None, "own_reply": post.own and post.parent is not None,
        "retweet": post.repost_of is not None, "quote": post.quote_of is not None,
        "edit": post.first_version is not None, "malformed": post.malformed,
        "author": f"{post.platform}:{post.author.id}",
    }


def iter_records_with_meta(count: int, seed: int, brands: Sequence[Brand] = DEFAULT_BRANDS, *,
                           malformed: bool = True) -> Iterator[tuple[dict, dict]]:
    """``(record, meta)`` in time order; ``meta`` says what the generator meant (kind, crisis,
    own reply...), for statistics and tests. It is not written to the file."""
    gen = _Generator(count, seed, brands, malformed)
    posts = gen.run()
    renderer = _Renderer(gen)
    for post in posts:
        yield renderer.record(post), _meta(post)


def iter_records(count: int, seed: int, brands: Sequence[Brand] = DEFAULT_BRANDS, *,
                 malformed: bool = True) -> Iterator[dict]:
    """``count`` records ``{"platform", "payload"}`` in time order, the same for the same
    arguments. ``brands[0]`` is the tenant's brand (own replies, crisis). The whole set is built
    in memory before the first record is yielded (about 1 KB per record)."""
    for record, _ in iter_records_with_meta(count, seed, brands, malformed=malformed):
        yield record


def dumps(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def write(records, out: Path | str) -> int:
    """Write records as gzip JSONL with a fixed header (no file name, mtime 0): same records,
    same bytes."""
    buffer = io.BytesIO()
    n = 0
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        for record in records:
            gz.write(dumps(record).encode("utf-8") + b"\n")
            n += 1
    Path(out).write_bytes(buffer.getvalue())
    return n


def summarize(metas: Sequence[dict]) -> dict:
    def count(key):
        return dict(sorted(Counter(m[key] for m in metas).items(), key=lambda kv: str(kv[0])))

    return {
        "records": len(metas),
        "platform": count("platform"),
        "lang": count("lang"),
        "kind": count("kind"),
        "topic": count("topic"),
        "brand": count("brand"),
        "crisis": sum(m["crisis"] for m in metas),
        "crisis_window": sum(m["crisis_window"] for m in metas),
        "replies": sum(m["reply"] for m in metas),
        "own_posts": sum(m["own"] for m in metas),
        "own_replies": sum(m["own_reply"] for m in metas),
        "retweets": sum(m["retweet"] for m in metas),
        "quotes": sum(m["quote"] for m in metas),
        "edits": sum(m["edit"] for m in metas),
        "malformed": [m["malformed"] for m in metas if m["malformed"]],
        "authors": len({m["author"] for m in metas}),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="python -m listening.demo.generate")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="gzip JSONL file to write")
    parser.add_argument("--count", type=int, default=3000, help="number of records (lines)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-malformed", action="store_true", help="leave out the 3 malformed records")
    parser.add_argument("--stats", action="store_true", help="print the composition as JSON")
    args = parser.parse_args(argv)
    pairs = list(iter_records_with_meta(args.count, args.seed, malformed=not args.no_malformed))
    n = write((record for record, _ in pairs), args.out)
    size = Path(args.out).stat().st_size
    print(f"wrote {n} records to {args.out} ({size / 1024:.0f} KiB)", file=sys.stderr)
    if args.stats:
        print(json.dumps(summarize([meta for _, meta in pairs]), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
