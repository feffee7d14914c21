"""The plain-text part, derived once from compiled HTML and kept as a template of its own.

Jinja expressions pass through untouched, so the text part is personalised by the same render
as the HTML; links keep their (tracked) address in brackets after their words.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "tr", "table", "h1", "h2", "h3", "h4", "li", "br", "td", "section"}
_SKIP = {"style", "script", "head", "title"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.skipping = 0
        self.href: str | None = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.out.append("\n")
        elif tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "a" and self.href is not None:
            words = " ".join("".join(self.link_text).split())
            self.out.append(f"{words} ({self.href})" if words and words != self.href else self.href)
            self.href = None
        elif tag in _BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        (self.link_text if self.href is not None else self.out).append(data)

    def handle_entityref(self, name: str) -> None:
        self.handle_data(unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.handle_data(unescape(f"&#{name};"))


def from_html(html: str) -> str:
    """Readable text: one paragraph per block, links as `words (url)`, no markup."""
    parser = _Text()
    parser.feed(html)
    text = "".join(parser.out)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
