"""Compile a query into what each platform's search accepts.

Platform search only has to *fetch candidates*: every fetched mention is then matched locally
with ``Query.matches``, which is exact. So when a platform cannot express something, we widen
(fetch more and filter locally) rather than narrow, except where the platform leaves no choice
(X has no wildcard: ``annul*`` is searched as the word ``annul``).
"""

from __future__ import annotations

from itertools import product

from .errors import QueryCompileError
from .nodes import HASHTAG, MENTION, PHRASE, And, Node, Not, Or, Query, Term

X_RECENT_SEARCH_MAX_LENGTH = 512
KEYWORDS_CAP = 10


# --- X (API v2 recent search) ------------------------------------------------------------------


def to_x(query: Query, extra: str = "", max_length: int = X_RECENT_SEARCH_MAX_LENGTH) -> str:
    """The query in X API v2 search syntax.

    - Implicit AND is a space, ``OR`` stays, exclusion is ``-term``/``-"phrase"``/``-(a b)``.
    - Wildcards do not exist on X: ``rembours*`` becomes the keyword ``rembours`` (X then only
      returns posts with that exact word; local matching still applies the real prefix).
    - X advises against negating an OR group, so ``-(a OR b)`` is written ``-a -b`` (same meaning).
    - Words with a hyphen or an apostrophe are quoted (``"e-commerce"``) so X reads one phrase.
    - ``extra`` (e.g. ``"-is:retweet lang:fr"``) is appended as is after a space; a top-level OR is
      then parenthesised, because on X AND binds tighter than OR.

    Raises ``QueryCompileError`` when the result is longer than ``max_length`` (512 for recent
    search on self-serve access).
    """
    root = query.root
    if isinstance(root, Or):
        text = " OR ".join(_x_alternative(child) for child in root.children)
    else:
        text = " ".join(_x_conjuncts(root))
    if extra.strip():
        text = f"({text}) {extra.strip()}" if isinstance(root, Or) else f"{text} {extra.strip()}"
    if len(text) > max_length:
        raise QueryCompileError(
            f"The query is {len(text)} characters long in X syntax; X accepts at most {max_length}. "
            "Split it into several listening queries or remove some terms."
        )
    return text


def _x_term(term: Term) -> str:
    if term.kind == HASHTAG:
        return "#" + term.text
    if term.kind == MENTION:
        return "@" + term.text
    if term.kind == PHRASE or any(char in term.text for char in "-'’"):
        return f'"{term.text}"'
    return term.text  # a word, or the stem of a prefix (see to_x)


def _x_conjuncts(node: Node) -> list[str]:
    """The parts that, separated by spaces (AND), express ``node``."""
    if isinstance(node, Term):
        return [_x_term(node)]
    if isinstance(node, Not):
        return _x_exclusions(node.child)
    if isinstance(node, And):
        return [part for child in node.children for part in _x_conjuncts(child)]
    return ["(" + " OR ".join(_x_alternative(child) for child in node.children) + ")"]


def _x_exclusions(node: Node) -> list[str]:
    """The parts that, separated by spaces, express ``NOT node``."""
    if isinstance(node, Term):
        return ["-" + _x_term(node)]
    if isinstance(node, Not):
        return _x_conjuncts(node.child)
    if isinstance(node, Or):  # De Morgan: NOT (a OR b) == -a -b
        return [part for child in node.children for part in _x_exclusions(child)]
    return ["-(" + " ".join(_x_conjuncts(node)) + ")"]


def _x_alternative(node: Node) -> str:
    """One side of an OR; several conjuncts are grouped for readability (X needs no parentheses
    there, since AND binds tighter, but its documentation groups them)."""
    parts = _x_conjuncts(node)
    return parts[0] if len(parts) == 1 else "(" + " ".join(parts) + ")"


# --- Plain keyword search (Mastodon, Bluesky searchPosts) --------------------------------------


def to_keywords(query: Query, cap: int = KEYWORDS_CAP) -> list[str]:
    """At most ``cap`` keyword searches whose union fetches every mention the query can match.

    The positive part of the query is expanded to disjunctive normal form, one search string per
    alternative: ``(a OR b) AND c NOT d`` -> ``["a c", "b c"]``. Exclusions are left to local
    matching. Hashtags and handles become their bare text, ``rembours*`` its stem, phrases stay
    quoted. When the expansion would exceed ``cap``, the largest OR groups of an AND are left out
    (the searches get broader, never narrower); only a flat OR of more than ``cap`` terms has to
    be truncated to its first ``cap`` alternatives.
    """
    searches: dict[str, str] = {}  # case-folded -> as typed: "SNCF" and "#sncf" are one search
    for conjunction in _dnf(query.root, cap):
        keywords: dict[str, str] = {}
        for term in conjunction:
            keyword = _keyword(term)
            keywords.setdefault(keyword.casefold(), keyword)
        text = " ".join(keywords.values())
        searches.setdefault(text.casefold(), text)
    return list(searches.values())[:cap]


def _keyword(term: Term) -> str:
    return f'"{term.text}"' if term.kind == PHRASE else term.text


Conjunction = tuple[Term, ...]


def _dnf(node: Node, cap: int) -> list[Conjunction]:
    """Positive terms of ``node`` as OR-of-ANDs; ``[()]`` means "no positive constraint"."""
    if isinstance(node, Term):
        return [(node,)]
    if isinstance(node, Not):
        return _dnf(node.child.child, cap) if isinstance(node.child, Not) else [()]
    if isinstance(node, Or):
        return _simplify([conjunction for child in node.children for conjunction in _dnf(child, cap)])
    factors = [factor for child in node.children if (factor := _dnf(child, cap)) != [()]]
    if not factors:
        return [()]
    # Keep the smallest factors while the product stays within the cap; leaving a factor out
    # only broadens the searches, which local matching corrects.
    kept, size = set(), 1
    for index in sorted(range(len(factors)), key=lambda i: len(factors[i])):
        if size * len(factors[index]) <= cap:
            kept.add(index)
            size *= len(factors[index])
    if not kept:
        return min(factors, key=len)[:cap]
    chosen = [factor for index, factor in enumerate(factors) if index in kept]  # in query order
    return _simplify([tuple(term for part in parts for term in part) for parts in product(*chosen)])


def _simplify(conjunctions: list[Conjunction]) -> list[Conjunction]:
    """Drop repeated terms and conjunctions made redundant by a smaller one (a OR a b == a)."""
    unique = list(dict.fromkeys(tuple(dict.fromkeys(conjunction)) for conjunction in conjunctions))
    if () in unique:
        return [()]
    sets = [frozenset(conjunction) for conjunction in unique]
    seen: set[frozenset[Term]] = set()  # "a b" and "b a" are the same search: keep the first
    simplified = []
    for conjunction, terms in zip(unique, sets):
        if terms not in seen and not any(other < terms for other in sets):
            seen.add(terms)
            simplified.append(conjunction)
    return simplified
