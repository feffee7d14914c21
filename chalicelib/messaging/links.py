"""Tracking, set up once at publish: each link becomes a call to the `track` filter.

`instrument` wraps every http(s) or personalised href of a compiled email in
`{% filter track %}...{% endfilter %}` and adds an open pixel, so at send time the Jinja render
itself signs the links: no scan of the rendered HTML per send. The click URL names the send
and the link's position only, never the destination: the click route looks the URL up in the
record of the email that was sent, so it cannot redirect anywhere else.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

TRACKER = "_tracker"
_HREF = re.compile(r"""(<[aA]\s[^>]*?\b[hH][rR][eE][fF]\s*=\s*)(["'])(.*?)\2""", re.DOTALL)
_TRACKED = ("http://", "https://")
_PIXEL = (
    "{% if " + TRACKER + " is defined %}"
    '<img src="{{ ' + TRACKER + '.pixel }}" width="1" height="1" alt="" '
    'style="display:block;border:0;width:1px;height:1px;" />{% endif %}'
)


def instrument(html: str) -> str:
    """At publish: route each http(s) or personalised link through `track`; add the pixel."""

    def wrap(match: re.Match[str]) -> str:
        value = match.group(3)
        start = value.strip()
        if not (start[:8].lower().startswith(_TRACKED) or start.startswith("{{")):
            return match.group(0)
        quote = match.group(2)
        return f"{match.group(1)}{quote}{{% filter track %}}{value}{{% endfilter %}}{quote}"

    out = _HREF.sub(wrap, html)
    at = max(out.rfind("</body"), out.rfind("</BODY"))
    return out + _PIXEL if at < 0 else out[:at] + _PIXEL + out[at:]


class Tracker:
    """One send's links: each distinct URL gets a position and a signed click URL."""

    def __init__(
        self, click_url: Callable[[int], str], pixel: str, untracked: tuple[str, ...] = ()
    ) -> None:
        self.click_url = click_url
        self.pixel = pixel
        self.untracked = untracked
        self.links: list[str] = []
        self._positions: dict[str, int] = {}

    def url(self, url: str) -> str | None:
        """The click URL for `url`, or None for a link that stays as it is."""
        if not url[:8].lower().startswith(_TRACKED) or url.startswith(self.untracked):
            return None
        if url not in self._positions:
            self._positions[url] = len(self.links)
            self.links.append(url)
        return self.click_url(self._positions[url])


@pass_context
def track(ctx: Context, value: Any) -> Any:
    """The filter `instrument` puts around each href; a render without a tracker (a preview)
    leaves links as they are."""
    tracker = ctx.get(TRACKER)
    if not isinstance(tracker, Tracker):
        return value
    tracked = tracker.url(html_lib.unescape(str(value)).strip())
    return value if tracked is None else tracked
