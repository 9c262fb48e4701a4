"""Parse the listening query language into a ``Query`` (see the package docstring for the syntax).

Two passes: a lexer that turns the text into tokens and reports character-level mistakes
(quotes, stray characters, unbalanced parentheses) first, then a recursive-descent parser for

    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*          -- adjacency is an implicit AND
    unary    := ("NOT" | "-") unary | primary
    primary  := TERM | "(" or_expr ")"

A missing operand is reported at the operator that lacks it: ``a AND`` points at ``AND``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .errors import QuerySyntaxError
from .nodes import HASHTAG, MENTION, PHRASE, PREFIX, WORD, And, Node, Not, Or, Query, Term
from .text import words

MAX_QUERY_LENGTH = 1024
MAX_TERMS = 50
OPERATORS = ("AND", "OR", "NOT")

# Opening quote -> closing quote. Typographic quotes are accepted because phones and word
# processors substitute them ("service client" often arrives as “service client” or « ... »).
QUOTES = {'"': '"', "“": "”", "«": "»"}
_LETTER = r"[\w\u0300-\u036f]"  # a word character, or a combining accent typed separately
_WORD_RE = re.compile(rf"{_LETTER}+(?:['’-]{_LETTER}+)*")
_TAG_NAME_RE = re.compile(r"\w+")
# What may directly follow a term: anything else (a dot, a second "*", a letter after "*")
# would silently change the meaning if ignored, so it is an error.
_TERM_END = "()"


@dataclass(frozen=True)
class Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "-", "TERM"
    position: int
    term: Term | None = None


@lru_cache(maxsize=512)
def parse(expression: str) -> Query:
    """Parse a listening query; raises ``QuerySyntaxError`` with a message and a position.

    Cached: a Query is immutable, and re-parsing the same text also reuses its compiled matcher.
    """
    if len(expression) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(
            f"The query is too long ({len(expression)} characters, at most {MAX_QUERY_LENGTH})",
            MAX_QUERY_LENGTH,
            expression,
        )
    if not expression.strip():
        raise QuerySyntaxError("The query is empty: type at least one word to listen for", 0, expression)
    return _Parser(expression).parse()


class _Lexer:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[Token] = []
        self.open_parentheses: list[int] = []
        self.term_count = 0

    def error(self, message: str, position: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, position, self.text)

    def run(self) -> list[Token]:
        text, i = self.text, 0
        while i < len(text):
            char = text[i]
            if char.isspace():
                i += 1
            elif char == "(":
                self.open_parentheses.append(i)
                self.tokens.append(Token("(", i))
                i += 1
            elif char == ")":
                if not self.open_parentheses:
                    raise self.error("Unmatched ')': there is no '(' to close", i)
                self.open_parentheses.pop()
                self.tokens.append(Token(")", i))
                i += 1
            elif char == "-":
                i = self.exclusion(i)
            elif char in QUOTES:
                i = self.phrase(i)
            elif char in "#@":
                i = self.tag(i)
            elif (match := _WORD_RE.match(text, i)) is not None:
                i = self.word(match)
            else:
                raise self.error(self.unexpected(char), i)
        if self.open_parentheses:
            raise self.error("Unmatched '(': add the closing ')'", self.open_parentheses[-1])
        return self.tokens

    @staticmethod
    def unexpected(char: str) -> str:
        if char == "*":
            return "A lone '*' is not a term: put it right after a word, e.g. rembours*"
        if char in "'’":
            return "Unexpected apostrophe: use double quotes for phrases, e.g. \"service client\""
        return f"Unexpected character {char!r}"

    def exclusion(self, i: int) -> int:
        following = self.text[i + 1 : i + 2]
        if not following or not (following in "(#@" or following in QUOTES or _WORD_RE.match(following)):
            raise self.error("A lone '-' excludes nothing: write it right before a term, e.g. -retard", i)
        self.tokens.append(Token("-", i))
        return i + 1

    def phrase(self, start: int) -> int:
        close = QUOTES[self.text[start]]
        end = self.text.find(close, start + 1)
        if close != '"' and end < 0:
            end = self.text.find('"', start + 1)  # “foo" is close enough
        if end < 0:
            raise self.error("Unterminated quote: add the closing quote", start)
        content = " ".join(self.text[start + 1 : end].split())
        if '"' in content:
            raise self.error("A phrase cannot contain a double quote", start)
        if not words(content):
            raise self.error("Empty phrase: put at least one word between the quotes", start)
        return self.add_term(Term(PHRASE, content), start, end + 1)

    def tag(self, start: int) -> int:
        sign = self.text[start]
        match = _TAG_NAME_RE.match(self.text, start + 1)
        if match is None:
            kind = "a hashtag" if sign == "#" else "a handle"
            raise self.error(f"'{sign}' must be directly followed by {kind}, e.g. {sign}SNCF", start)
        kind = HASHTAG if sign == "#" else MENTION
        return self.add_term(Term(kind, match.group()), start, match.end())

    def word(self, match: re.Match) -> int:
        start, end, text = match.start(), match.end(), match.group()
        if not words(text):  # e.g. only combining accents: nothing left to match once normalised
            raise self.error(f"{text!r} has no letter or digit to search for", start)
        if self.text[end : end + 1] == "*":
            return self.add_term(Term(PREFIX, text), start, end + 1)
        if text in OPERATORS:
            self.tokens.append(Token(text, start))
            return end
        return self.add_term(Term(WORD, text), start, end)

    def add_term(self, term: Term, start: int, end: int) -> int:
        following = self.text[end : end + 1]
        if following and not following.isspace() and following not in _TERM_END:
            raise self.error(self.after_term(term, following), end)
        self.term_count += 1
        if self.term_count > MAX_TERMS:
            raise self.error(f"Too many terms: a query can hold at most {MAX_TERMS}", start)
        self.tokens.append(Token("TERM", start, term))
        return end

    @staticmethod
    def after_term(term: Term, following: str) -> str:
        if following == "*":
            if term.kind == PREFIX:
                return "Only one '*' is allowed, at the end of a word"
            return "Wildcards '*' are only supported at the end of a plain word, e.g. rembours*"
        if term.kind == PREFIX:
            return "A wildcard '*' must end the word, e.g. rembours*"
        if term.kind in (HASHTAG, MENTION):
            return f"Unexpected {following!r}: hashtags and handles are made of letters, digits and '_'"
        return f"Unexpected {following!r} right after {term.canonical()}: separate terms with a space"


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _Lexer(text).run()
        self.index = 0
        self.not_positions: dict[int, int] = {}  # id(Not node) -> position of its NOT or '-'

    def error(self, message: str, position: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, position, self.text)

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        self.index += 1
        return self.tokens[self.index - 1]

    def parse(self) -> Query:
        root = self.or_expr()
        # The lexer balanced the parentheses, so or_expr can only stop at the end of the input.
        blame = _unsearchable(root)
        if blame is not None:
            negation, in_or = blame
            message = (
                "Each side of an OR needs a positive term: this side only excludes"
                if in_or
                else "Nothing to search for: NOT and '-' only exclude; add a positive term, e.g. sncf -retard"
            )
            raise self.error(message, self.not_positions[id(negation)])
        return Query(root)

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            self.expect_operand(token, "'OR' is missing a term on its right")
            children.append(self.and_expr())
        return _combine(Or, children)

    def and_expr(self) -> Node:
        children = [self.unary()]
        while (token := self.peek()) is not None and token.kind not in ("OR", ")"):
            if token.kind == "AND":
                self.take()
                self.expect_operand(token, "'AND' is missing a term on its right")
            children.append(self.unary())
        return _combine(And, children)

    def unary(self) -> Node:
        token = self.peek()
        if token is None or token.kind in ("AND", "OR", ")"):
            # Only reachable at the start of the query or of a group (operators check their
            # right operand themselves): the operator has nothing on its left.
            if token is not None and token.kind == ")":
                raise self.error("Empty parentheses: put a term inside", self.tokens[self.index - 1].position)
            raise self.error(f"'{token.kind}' is missing a term on its left", token.position)
        self.take()
        if token.kind in ("NOT", "-"):
            self.expect_operand(token, f"'{token.kind}' must be followed by a term to exclude")
            node = Not(self.unary())
            self.not_positions[id(node)] = token.position
            return node
        if token.kind == "(":
            node = self.or_expr()
            self.take()  # the ")" guaranteed by the lexer
            return node
        return token.term

    def expect_operand(self, operator: Token, message: str) -> None:
        token = self.peek()
        if token is None or token.kind in ("AND", "OR", ")"):
            raise self.error(message, operator.position)


def _combine(cls: type[And] | type[Or], children: list[Node]) -> Node:
    """Build the n-ary node, flattening same-kind children: (a b) c == a (b c) == a b c."""
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, cls) else (child,))
    return flat[0] if len(flat) == 1 else cls(tuple(flat))


def _unsearchable(node: Node, in_or: bool = False) -> tuple[Not, bool] | None:
    """If ``node`` can match a text containing none of its terms (so no platform could search
    for it), the negation to blame and whether it is an OR alternative."""
    if isinstance(node, Term):
        return None
    if isinstance(node, Not):
        return _unsearchable(node.child.child, in_or) if isinstance(node.child, Not) else (node, in_or)
    if isinstance(node, And):
        blames = [_unsearchable(child, in_or) for child in node.children]
        return None if None in blames else blames[0]
    return next(filter(None, (_unsearchable(child, True) for child in node.children)), None)
