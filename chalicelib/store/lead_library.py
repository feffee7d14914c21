"""Published scoring, routing, rules, RFM and campaigns as the pipeline and reports see them,
parsed once per version."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from chalicelib.leads.routing import Routing
from chalicelib.leads.scoring import Scoring
from chalicelib.reports.campaigns import CampaignBook
from chalicelib.rules.language import RuleBook
from chalicelib.segments.rfm import RfmSettings
from chalicelib.store.content import ContentStore

KIND = "leads"
M = TypeVar("M", bound=BaseModel)


class LeadLibrary:
    def __init__(self, content: ContentStore) -> None:
        self.content = content

    def _get(self, name: str, model: type[M]) -> M | None:
        # An empty body is how a file is withdrawn: no scoring, no routing, no rules.
        return self.content.parsed(
            KIND, name, lambda body: model.model_validate(body) if body else None
        )

    def scoring(self) -> Scoring | None:
        return self._get("scoring", Scoring)

    def routing(self) -> Routing | None:
        return self._get("routing", Routing)

    def rules(self) -> RuleBook | None:
        return self._get("rules", RuleBook)

    def rfm(self) -> RfmSettings | None:
        return self._get("rfm", RfmSettings)

    def campaigns(self) -> CampaignBook:
        """campaigns.yaml, or an empty book (every utm_campaign reported as it came)."""
        return self._get("campaigns", CampaignBook) or CampaignBook()
