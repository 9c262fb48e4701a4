"""RSS and Atom feeds (requests + feedparser): one ``feed`` stream per source; listening
queries are applied locally. See ``connector`` and ``parse``."""

from .connector import RssConnector
from .parse import parse_entry, parse_payload
from ..htmltext import html_to_text

__all__ = ["RssConnector", "html_to_text", "parse_entry", "parse_payload"]
