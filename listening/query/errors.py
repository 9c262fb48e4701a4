"""Errors raised while parsing a listening query or compiling it for a platform."""

from __future__ import annotations


class QuerySyntaxError(ValueError):
    """The query text is not valid; ``position`` is the 0-based character offset to blame."""

    def __init__(self, message: str, position: int, query: str = ""):
        super().__init__(message, position)
        self.message = message
        self.position = position
        self.query = query

    def __str__(self) -> str:
        return f"{self.message} (at character {self.position})"

    def caret(self) -> str:
        """The query on one line and a ``^`` under the offending character on the next."""
        # Tabs and newlines would shift the caret: show every whitespace as one space.
        line = "".join(" " if char.isspace() else char for char in self.query)
        return f"{line}\n{' ' * self.position}^"


class QueryCompileError(ValueError):
    """A valid query cannot be expressed in a platform's search syntax (e.g. too long for X)."""
