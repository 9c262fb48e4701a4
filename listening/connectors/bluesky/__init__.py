"""Bluesky (AT Protocol, through the atproto SDK): post search for listening queries, mention /
reply / quote notifications of the connected account. See ``connector`` and ``parse``."""

from .connector import BlueskyConnector
from .parse import parse_payload, parse_post_view

__all__ = ["BlueskyConnector", "parse_payload", "parse_post_view"]
