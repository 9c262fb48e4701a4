"""One package per platform on the small common base in ``base.py``.

``get_connector(platform)`` returns the class; each class is built from an ``AccountConfig``.
"""

from __future__ import annotations

from importlib import import_module

_REGISTRY = {
    "x": "listening.connectors.x:XConnector",
    "facebook": "listening.connectors.facebook:FacebookConnector",
    "mastodon": "listening.connectors.mastodon:MastodonConnector",
    "bluesky": "listening.connectors.bluesky:BlueskyConnector",
    "rss": "listening.connectors.rss:RssConnector",
    "replay": "listening.connectors.replay:ReplayConnector",
}


def get_connector(platform: str):
    try:
        module_name, _, class_name = _REGISTRY[platform].partition(":")
    except KeyError:
        raise LookupError(f"no connector for platform {platform!r}") from None
    return getattr(import_module(module_name), class_name)
