"""Published scoring, routing and rules as the pipeline sees them, parsed once per version."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from chalicelib.leads.routing import Routing
from chalicelib.leads.scoring import Scoring
from chalicelib.rules.language import RuleBook
from chalicelib.store.content import ContentStore

KIND = "leads"
M = TypeVar("M", bound=BaseModel)


class LeadLibrary:
    def __init__(self, content: ContentStore) -> None:
        self.content = content
        self._parsed: dict[str, tuple[dict[str, Any], BaseModel]] = {}

    def _get(self, name: str, model: type[M]) -> M | None:
        body = self.content.latest(KIND, name)
        if not body:
            return None
        hit = self._parsed.get(name)
        if hit is None or hit[0] is not body:
            hit = (body, model.model_validate(body))
            self._parsed[name] = hit
        return hit[1]  # type: ignore[return-value]

    def scoring(self) -> Scoring | None:
        return self._get("scoring", Scoring)

    def routing(self) -> Routing | None:
        return self._get("routing", Routing)

    def rules(self) -> RuleBook | None:
        return self._get("rules", RuleBook)
