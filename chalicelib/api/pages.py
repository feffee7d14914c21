"""Server-rendered pages (hosted form, thank-you, errors): compiled once per process."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "pages"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
# A path segment from free text (a utm_campaign with a space, Chinese or a slash): encoded
# whole, as the gateway decodes it into one path parameter.
_env.filters["segment"] = lambda text: quote(str(text), safe="")


def render(name: str, **context: Any) -> str:
    return _env.get_template(name).render(**context)
