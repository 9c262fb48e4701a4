"""The common base of every connector: what a page of results looks like, the error classes
(every error is transient or permanent), and the Connector interface.

A connector knows one platform's API and nothing of our database: it turns a cursor into a
``Page`` of normalised ``MentionData`` (plus the raw records it could not parse) and the next
cursor. ``listening.ingest`` stores pages; ``listening.tasks`` schedules polls and reacts to
errors (wait for a rate limit, mark an account "needs reconnect", retry a transient error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

# --- Errors ----------------------------------------------------------------------------------


class ConnectorError(Exception):
    """Base: ``transient`` says whether the same call may succeed later."""

    transient: ClassVar[bool] = False

    def __init__(self, message: str, *, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


class TransientError(ConnectorError):
    """Timeouts, 5xx, connection resets: retry with backoff."""

    transient = True


class RateLimited(TransientError):
    """Wait until ``reset_at`` (from the platform's headers) before calling again: never hammer."""

    def __init__(self, message: str, *, reset_at: datetime, **kwargs):
        super().__init__(message, **kwargs)
        self.reset_at = reset_at


class PermanentError(ConnectorError):
    """A request that will fail again the same way: record it, surface it, do not retry."""


class OutcomeUnknown(PermanentError):
    """A write (a reply) whose answer never came (read timeout): the platform may have taken it.
    Never retried automatically, so a reply is not published twice; a person checks and retries."""


class NeedsReconnect(PermanentError):
    """Credentials expired or revoked (X 401, Graph error 190): a person must reconnect."""


# --- Normalised data ----------------------------------------------------------------------------


@dataclass
class AuthorData:
    platform_user_id: str
    handle: str = ""
    name: str = ""
    followers: int | None = None
    verified: bool = False
    profile_url: str = ""
    avatar_url: str = ""


@dataclass
class MentionData:
    external_id: str
    text: str
    created_at: datetime
    url: str = ""
    language: str = ""
    author: AuthorData | None = None
    like_count: int | None = None
    share_count: int | None = None
    reply_count: int | None = None
    view_count: int | None = None
    parent_external_id: str = ""
    conversation_external_id: str = ""
    is_repost: bool = False
    is_deleted: bool = False
    # The newest version seen (X edits); mentions are keyed on external_id, the newest text wins.
    version_id: str = ""
    is_edited: bool = False
    raw: dict = field(default_factory=dict)
    # Only for sources that carry several platforms (replay): the platform of this record.
    platform: str = ""


@dataclass
class Quarantined:
    payload: Any
    reason: str


@dataclass
class ParseResult:
    """What a platform parser makes of one payload (a page, a status, a webhook change)."""

    mentions: list[MentionData] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)


@dataclass
class Page:
    mentions: list[MentionData] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    cursor: dict = field(default_factory=dict)  # to save with the rows; the next fetch starts here
    has_more: bool = False  # another page is ready now (paging); False = caught up
    poll_again_in: float | None = None  # seconds; sooner than the beat interval (streams, replay)
    fetched_at: datetime | None = None


@dataclass(frozen=True)
class ReplyTarget:
    """The post a reply answers, as stored: ids and the raw payload the platform sent."""

    platform: str
    external_id: str
    version_id: str = ""
    parent_external_id: str = ""
    conversation_external_id: str = ""
    author_handle: str = ""
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    """What the platform says of a reply it took."""

    external_id: str
    url: str = ""


@dataclass(frozen=True)
class AccountConfig:
    """What a connector needs of a ConnectedAccount, decrypted; no database object."""

    platform: str
    external_id: str = ""
    handle: str = ""
    base_url: str = ""
    credentials: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StreamRequest:
    """One thing to poll: a stream of an account, maybe for a listening query."""

    stream: str  # e.g. "search", "mentions", "feed", "hashtag", "notifications"
    query_expression: str = ""  # the platform search string compiled from the query, if any
    query_keywords: tuple[str, ...] = ()
    since: datetime | None = None  # backfill start after an outage, if the API supports it


class Connector:
    platform: ClassVar[str]
    # Streams this connector polls for a listening query, and without one (own account).
    query_streams: ClassVar[tuple[str, ...]] = ()
    account_streams: ClassVar[tuple[str, ...]] = ()

    def __init__(self, account: AccountConfig):
        self.account = account

    def fetch(self, request: StreamRequest, cursor: dict) -> Page:
        """Fetch one page after ``cursor``. Raises a ConnectorError subclass on failure."""
        raise NotImplementedError

    def publish_reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> Published:
        """Publish ``text`` as the account's reply to ``target``. Raises a ConnectorError subclass
        (RateLimited / TransientError: the task retries; PermanentError: the reply fails and is
        shown). ``idempotency_key`` is stable across retries of one reply, for the platforms
        that take one."""
        raise PermanentError(f"{self.platform}: this channel cannot publish replies")
