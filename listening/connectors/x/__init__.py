"""The X (Twitter) connector: API v2 recent search and mentions through tweepy.

``parse_payload`` turns one v2 response page into mentions (pure, no network);
``XConnector`` fetches pages, moves the cursor and maps X's errors.
"""

from listening.connectors.x.connector import XConnector
from listening.connectors.x.parse import newest_version, parse_payload

__all__ = ["XConnector", "newest_version", "parse_payload"]
