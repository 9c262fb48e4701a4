"""Facebook Pages: polling through the Graph API (``connector``, on the thin client in ``graph``),
normalisation (``parse``) and webhooks (``webhook``). See each module's docstring."""

from .connector import COMMENT_FIELDS, POST_FIELDS, FacebookConnector
from .graph import GraphClient
from .parse import parse_payload
from .webhook import WebhookRejected, check_signature, parse_feed_changes, verify_challenge

__all__ = [
    "COMMENT_FIELDS", "POST_FIELDS", "FacebookConnector", "GraphClient", "WebhookRejected", "check_signature",
    "parse_feed_changes", "parse_payload", "verify_challenge",
]
