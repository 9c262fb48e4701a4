"""Match queries against prepared mentions, locally and fast.

``compile_node`` turns the AST into a tree of closures once per query (``Query`` caches it).
Speed comes from ``PreparedText``: single-token terms are set look-ups, and groups of them are
collapsed into one set operation (``{a, b} <= tokens`` for AND, ``not {a, b}.isdisjoint(tokens)``
for OR); phrases and wildcards are one substring search in the space-joined token string.
"""

from __future__ import annotations

from typing import Callable

from .nodes import HASHTAG, MENTION, PREFIX, And, Node, Not, Query, Term
from .text import PreparedText, normalize, prepare, words

Predicate = Callable[[PreparedText], bool]


def matches_text(query: Query | str, text: str) -> bool:
    """Convenience for one-off checks; to test many queries, ``prepare`` the text once."""
    if isinstance(query, str):
        from .parser import parse

        query = parse(query)
    return query.matches(prepare(text))


def compile_node(node: Node) -> Predicate:
    if isinstance(node, Term):
        return _term(node)
    if isinstance(node, Not):
        if isinstance(node.child, Not):  # double negation: skip both layers
            return compile_node(node.child.child)
        inner = compile_node(node.child)
        return lambda prepared: not inner(prepared)
    if isinstance(node, And):
        return _and(node.children)
    return _or(node.children)


def _single_token(node: Node) -> str | None:
    """The one token a term stands for, when it can be checked by set membership."""
    if not isinstance(node, Term) or node.kind == PREFIX:
        return None
    if node.kind in (HASHTAG, MENTION):
        return ("#" if node.kind == HASHTAG else "@") + normalize(node.text)
    pieces = words(node.text)
    return pieces[0] if len(pieces) == 1 else None


def _term(term: Term) -> Predicate:
    token = _single_token(term)
    if token is not None:
        return lambda prepared: token in prepared.tokenset
    pieces = words(term.text)
    if not pieces:  # the parser rejects such terms; a stored oddity simply never matches
        return lambda prepared: False
    # ``joined`` is " tok1 tok2 ... ": a phrase is " a b " and a prefix is " stem" (any token
    # that starts with it), so hyphens, apostrophes and extra spaces in the text do not matter.
    needle = " " + " ".join(pieces) + ("" if term.kind == PREFIX else " ")
    return lambda prepared: needle in prepared.joined


def _and(children: tuple[Node, ...]) -> Predicate:
    required, excluded, others = [], [], []
    for child in children:
        if (token := _single_token(child)) is not None:
            required.append(token)
        elif isinstance(child, Not) and (token := _single_token(child.child)) is not None:
            excluded.append(token)
        else:
            others.append(child)
    checks: list[Predicate] = []
    if required:
        required_set = frozenset(required)
        checks.append(lambda prepared: required_set <= prepared.tokenset)
    if excluded:
        excluded_set = frozenset(excluded)
        checks.append(lambda prepared: excluded_set.isdisjoint(prepared.tokenset))
    # Cheap checks first: terms before groups, so most mentions are rejected by a set look-up.
    others.sort(key=lambda child: not isinstance(child, (Term, Not)))
    checks.extend(compile_node(child) for child in others)
    return _all(checks)


def _or(children: tuple[Node, ...]) -> Predicate:
    tokens = [token for child in children if (token := _single_token(child)) is not None]
    checks: list[Predicate] = [compile_node(child) for child in children if _single_token(child) is None]
    if tokens:
        token_set = frozenset(tokens)
        checks.insert(0, lambda prepared: not token_set.isdisjoint(prepared.tokenset))
    return _any(checks)


def _all(checks: list[Predicate]) -> Predicate:
    if len(checks) == 1:
        return checks[0]

    def all_match(prepared: PreparedText) -> bool:
        for check in checks:
            if not check(prepared):
                return False
        return True

    return all_match


def _any(checks: list[Predicate]) -> Predicate:
    if len(checks) == 1:
        return checks[0]

    def any_match(prepared: PreparedText) -> bool:
        for check in checks:
            if check(prepared):
                return True
        return False

    return any_match
