"""Published emails as the sender sees them: compiled HTML and text, and the sender settings.

`leadflow publish` stores each compiled template as a content version; the sender reads the
newest through the content store's cache, which keeps one CompiledEmail per published body;
the renderer parses its Jinja once per CompiledEmail (renderer.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.messaging.compiler import CompiledEmail
from chalicelib.store.content import ContentStore

KIND = "template"
SETTINGS = ("index", "email")


@dataclass(frozen=True)
class EmailSettings:
    sender: str | None = None
    reply_to: str | None = None
    unsubscribe_mailto: str | None = None
    topics: dict[str, str] = field(default_factory=dict)
    consent_topics: frozenset[str] = frozenset()
    name: str | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> EmailSettings:
        return cls(
            sender=body.get("from"),
            reply_to=body.get("reply_to"),
            unsubscribe_mailto=body.get("unsubscribe_mailto"),
            topics=dict(body.get("topics") or {}),
            consent_topics=frozenset(body.get("consent_topics") or ()),
            name=body.get("name"),
        )


class TemplateLibrary:
    def __init__(self, content: ContentStore) -> None:
        self.content = content

    def get(self, name: str) -> CompiledEmail | None:
        return self.content.parsed(
            KIND, name, lambda body: CompiledEmail(name, body["html"], body["text"])
        )

    def settings(self) -> EmailSettings:
        return self.content.parsed(*SETTINGS, EmailSettings.from_body) or EmailSettings()
