"""Per-recipient rendering of compiled emails: only Jinja runs at send time, in a sandbox.

HTML is autoescaped (a contact named <script> is text, not markup); the text part is not
escaped, since it is text. A variable the send does not provide fails the render instead of
leaving a blank in someone's inbox; `| default("there")` is how a template says it may be
missing.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from chalicelib.messaging.compiler import CompiledEmail
from chalicelib.messaging.filters import FILTERS


def _environment(autoescape: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=autoescape, undefined=jinja2.StrictUndefined)
    env.filters.update(FILTERS)
    return env


_HTML = _environment(autoescape=True)
_TEXT = _environment(autoescape=False)


class MissingValue(ValueError):
    """The template reads a value this send does not have."""


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str


class Renderer:
    """Parses each compiled email once; renders it for each recipient.

    The parsed templates live as long as the CompiledEmail they came from (the content
    store's cache holds one per published body), so an edited template is parsed anew and the
    old one is let go with its email."""

    def __init__(self) -> None:
        self._cache: weakref.WeakKeyDictionary[
            CompiledEmail, tuple[jinja2.Template, jinja2.Template]
        ] = weakref.WeakKeyDictionary()
        self._subjects: dict[str, jinja2.Template] = {}

    def _templates(self, email: CompiledEmail) -> tuple[jinja2.Template, jinja2.Template]:
        parsed = self._cache.get(email)
        if parsed is None:
            parsed = (_HTML.from_string(email.html), _TEXT.from_string(email.text))
            self._cache[email] = parsed
        return parsed

    def subject(self, source: str, context: dict[str, Any]) -> str:
        """A subject line may be personalised too; it is text, never HTML."""
        template = self._subjects.get(source)
        if template is None:
            template = self._subjects[source] = _TEXT.from_string(source)
        try:
            return " ".join(template.render(context).split())
        except jinja2.UndefinedError as exc:
            raise MissingValue(f"subject: {exc.message}") from exc

    def render(self, email: CompiledEmail, context: dict[str, Any]) -> Rendered:
        html, text = self._templates(email)
        try:
            return Rendered(html.render(context), text.render(context))
        except jinja2.UndefinedError as exc:
            raise MissingValue(f"{email.name}: {exc.message}") from exc
