"""The query AST: immutable dataclasses that compare by value and serialise to JSON.

``parse`` always returns the normal form: ``And``/``Or`` have at least two children and are
flattened (no ``And`` directly inside an ``And``, no ``Or`` inside an ``Or``), so two queries that
mean the same thing through mere regrouping compare equal, and ``parse(q.canonical()) == q``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from .text import PreparedText

WORD, PHRASE, HASHTAG, MENTION, PREFIX = "word", "phrase", "hashtag", "mention", "prefix"
TERM_KINDS = (WORD, PHRASE, HASHTAG, MENTION, PREFIX)
SERIAL_VERSION = 1


@dataclass(frozen=True)
class Term:
    """One thing to look for. ``text`` is as typed, without its sign: ``#SNCF`` is
    ``Term("hashtag", "SNCF")``, ``rembours*`` is ``Term("prefix", "rembours")``, and
    ``"service client"`` is ``Term("phrase", "service client")``."""

    kind: str
    text: str

    def __post_init__(self) -> None:
        if self.kind not in TERM_KINDS:
            raise ValueError(f"Unknown term kind {self.kind!r}")
        if not isinstance(self.text, str) or not self.text:
            raise ValueError("A term needs a non-empty text")

    def canonical(self) -> str:
        if self.kind == PHRASE:
            return f'"{self.text}"'
        sign = {HASHTAG: "#", MENTION: "@"}.get(self.kind, "")
        return sign + self.text + ("*" if self.kind == PREFIX else "")

    __str__ = canonical


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]

    def __post_init__(self) -> None:
        _check_children(self, "And")


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]

    def __post_init__(self) -> None:
        _check_children(self, "Or")


@dataclass(frozen=True)
class Not:
    child: Node


Node = Union[Term, And, Or, Not]


def _check_children(node: And | Or, name: str) -> None:
    # Accept any iterable but store a tuple, so that the node stays hashable and immutable.
    object.__setattr__(node, "children", tuple(node.children))
    if len(node.children) < 2:
        raise ValueError(f"{name} needs at least two children")


@dataclass(frozen=True)
class Query:
    """A parsed listening query. Build one with ``parse(text)`` or ``Query.from_dict(data)``."""

    root: Node

    def matches(self, prepared: PreparedText | str) -> bool:
        """Whether the mention matches; pass ``prepare(text)`` to share the work between queries."""
        if isinstance(prepared, str):
            from .text import prepare

            prepared = prepare(prepared)
        return self._matcher(prepared)

    @cached_property
    def _matcher(self):
        # Compiled once per Query (cached in the instance __dict__, outside the compared fields).
        from .matcher import compile_node

        return compile_node(self.root)

    def terms(self) -> tuple[Term, ...]:
        """The positive terms (not excluded by NOT/-), without duplicates, in query order."""
        found = [term for term, negated in iter_terms(self.root) if not negated]
        return tuple(dict.fromkeys(found))

    def canonical(self) -> str:
        """A normalised text form: explicit ``AND``/``OR``/``NOT``, parentheses only around a
        group inside another kind of group. ``parse(q.canonical()) == q``."""
        return canonical(self.root)

    __str__ = canonical

    def to_dict(self) -> dict[str, Any]:
        return {"version": SERIAL_VERSION, "root": node_to_dict(self.root)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Query:
        """Rebuild a stored query; raises ``ValueError`` if the data is not a valid query."""
        from .parser import parse

        if not isinstance(data, dict) or data.get("version") != SERIAL_VERSION:
            raise ValueError(f"Unsupported stored query (expected version {SERIAL_VERSION})")
        built = cls(node_from_dict(data.get("root")))
        # Re-parsing the canonical form validates every term text and restores the normal form.
        try:
            query = parse(built.canonical())
        except ValueError as error:
            raise ValueError(f"Invalid stored query: {getattr(error, 'message', error)}") from error
        if list(iter_terms(query.root)) != list(iter_terms(built.root)):
            raise ValueError("Invalid stored query: a term text is not valid for its kind")
        return query

    def __getstate__(self) -> dict[str, Any]:
        return {"root": self.root}  # the compiled matcher is a closure: never pickle it


def iter_terms(node: Node, negated: bool = False):
    """Yield ``(term, negated)`` for every term, in query order."""
    if isinstance(node, Term):
        yield node, negated
    elif isinstance(node, Not):
        yield from iter_terms(node.child, not negated)
    else:
        for child in node.children:
            yield from iter_terms(child, negated)


def canonical(node: Node) -> str:
    if isinstance(node, Term):
        return node.canonical()
    if isinstance(node, Not):
        return "NOT " + _grouped(node.child, (And, Or))
    if isinstance(node, And):
        return " AND ".join(_grouped(child, (Or,)) for child in node.children)
    # An And inside an Or does not need parentheses (AND binds tighter) but reads better with them.
    return " OR ".join(_grouped(child, (And,)) for child in node.children)


def _grouped(node: Node, needs_parentheses: tuple[type, ...]) -> str:
    text = canonical(node)
    return f"({text})" if isinstance(node, needs_parentheses) else text


def node_to_dict(node: Node) -> dict[str, Any]:
    if isinstance(node, Term):
        return {"term": node.kind, "text": node.text}
    if isinstance(node, Not):
        return {"not": node_to_dict(node.child)}
    key = "and" if isinstance(node, And) else "or"
    return {key: [node_to_dict(child) for child in node.children]}


def node_from_dict(data: Any) -> Node:
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise ValueError(f"Invalid stored query node: {data!r}")
    if "term" in data:
        return Term(data["term"], data.get("text"))
    if "not" in data and len(data) == 1:
        return Not(node_from_dict(data["not"]))
    for key, cls in (("and", And), ("or", Or)):
        if key in data and len(data) == 1 and isinstance(data[key], list):
            return cls(tuple(node_from_dict(child) for child in data[key]))
    raise ValueError(f"Invalid stored query node: {data!r}")
