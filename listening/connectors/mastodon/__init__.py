"""Mastodon (and Mastodon-API servers): hashtag timelines and status search for listening
queries, mention notifications of the connected account. See ``connector`` and ``parse``."""

from .connector import MastodonConnector
from .parse import html_to_text, parse_payload, parse_status

__all__ = ["MastodonConnector", "html_to_text", "parse_payload", "parse_status"]
