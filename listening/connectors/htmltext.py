"""HTML -> plain text for connectors whose platforms send HTML (Mastodon status content, RSS/Atom
summaries): tags stripped, ``<br>`` a line break, blocks separated by a blank line, entities
unescaped, scripts and styles dropped, non-breaking spaces become spaces. Link markup keeps
the whole URL (Mastodon hides its scheme and tail in ``<span class="invisible">``, which is
still text)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
           "section", "article", "header", "footer", "figure", "figcaption", "dl", "dt", "dd", "hr", "aside"}
_SKIP = {"script", "style", "template"}
class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.trailing = 0  # newlines at the end of the text so far
        self.skip = 0
        self.pre = 0

    def _append(self, text: str) -> None:
        if not text:
            return
        self.parts.append(text)
        stripped = text.rstrip("\n")
        self.trailing = len(text) - len(stripped) if stripped else self.trailing + len(text)

    def _break(self, newlines: int) -> None:
        if self.parts and self.trailing < newlines:
            self._append("\n" * (newlines - self.trailing))

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self._append("\n")
        elif tag == "li":
            self._break(1)
        elif tag in _BLOCKS:
            self.pre += tag == "pre"
            self._break(2)

    def handle_startendtag(self, tag, attrs):  # <br/>, <hr/>, <p/>
        self.handle_starttag(tag, attrs)
        if tag != "br":
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "li":
            self._break(1)
        elif tag in _BLOCKS:
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self._break(2)

    def handle_data(self, data):
        if self.skip:
            return
        if not self.pre:
            data = re.sub(r"[ \t\r\n\f]+", " ", data)
        self._append(data)


def html_to_text(html: str) -> str:
    if not html:
        return ""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ").replace("\r", "")
    lines = [re.sub(r" {2,}", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
