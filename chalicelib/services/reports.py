"""Reports: the overview, funnel, cohorts, campaigns and channels with ROI, email, journey
and sales figures, read from the report counters only (never the event table).

Each report reads a handful of scopes over the period's days; what a report lists (the
campaigns, owners, templates of the period) comes from the `all` scope's note of the scopes
counted. Money is shown in campaigns.yaml's currency; amounts in a currency it has no rate
for are reported beside, unconverted.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from chalicelib.clock import Clock
from chalicelib.journeys.language import kind_of
from chalicelib.lifecycle import Stage
from chalicelib.reports import figures, histogram, tally
from chalicelib.reports.campaigns import Campaign, CampaignBook
from chalicelib.reports.credit import NONE, Model
from chalicelib.reports.period import Period
from chalicelib.store.journey_library import JourneyLibrary
from chalicelib.store.lead_library import LeadLibrary
from chalicelib.store.stats import Metrics, StatStore

KPIS = (
    ("contacts", tally.CONTACTS),
    ("submissions", tally.SUBMISSIONS),
    ("leads", tally.stage(Stage.LEAD)),
    ("mqls", tally.stage(Stage.MQL)),
    ("sqls", tally.stage(Stage.SQL)),
    ("opportunities", tally.stage(Stage.OPPORTUNITY)),
    ("customers", tally.stage(Stage.CUSTOMER)),
    ("deals_won", tally.DEALS_WON),
    ("emails_sent", tally.SENT),
    ("unique_opens", tally.OPENS_UNIQUE),
    ("unique_clicks", tally.CLICKS_UNIQUE),
    ("handoffs", tally.HANDOFFS),
)
SERIES = ("contacts", "leads", "deals_won")
EMAIL_KINDS = {
    "template": "template#",
    "journey": "journey#",
    "broadcast": "broadcast#",
    "campaign": "campaign#",
}
FUNNEL_BY = {"campaign": tally.campaign, "channel": tally.channel, "source": tally.source}


def _sum(parts: list[Metrics]) -> dict[str, Decimal]:
    total: dict[str, Decimal] = defaultdict(Decimal)
    for metrics in parts:
        for k, v in metrics.items():
            total[k] += v
    return dict(total)


def _change(now: float, before: float) -> float | None:
    return round((now - before) / before, 4) if before else None


class Reports:
    def __init__(
        self, stats: StatStore, library: LeadLibrary, journeys: JourneyLibrary, clock: Clock
    ) -> None:
        self.stats = stats
        self.library = library
        self.journeys = journeys
        self.clock = clock

    def today(self) -> date:
        return self.clock.now().date()

    def _named(self, period: Period, prefix: str) -> list[str]:
        """The names after `prefix` of every scope counted in the period, sorted."""
        return sorted(
            s[len(prefix) :]
            for s in self.stats.scopes(period.first, period.last)
            if s.startswith(prefix)
        )

    # --- overview, funnel, cohorts ----------------------------------------------------------

    def overview(self, period: Period) -> dict[str, Any]:
        book = self.library.campaigns()
        now = self.stats.range(tally.ALL, period.first, period.last)
        before_period = period.before()
        before = self.stats.range(tally.ALL, before_period.first, before_period.last)
        kpis = []
        for name, metric in KPIS:
            value, earlier = figures.count(now, metric), figures.count(before, metric)
            kpis.append(
                {
                    "kpi": name,
                    "value": value,
                    "previous": earlier,
                    "change": _change(value, earlier),
                }
            )
        revenue, unconverted = figures.money(now, "revenue", book)
        earlier_revenue, _ = figures.money(before, "revenue", book)
        kpis.append(
            {
                "kpi": "revenue",
                "value": revenue,
                "previous": earlier_revenue,
                "change": _change(float(revenue), float(earlier_revenue)),
            }
        )
        days = self.stats.by_day(tally.ALL, period.first, period.last)
        metric_of = dict(KPIS)
        series = {
            name: [figures.count(days.get(d, {}), metric_of[name]) for d in period.each_day()]
            for name in SERIES
        }
        return {
            "period": period.as_dict(),
            "previous_period": before_period.as_dict(),
            "currency": book.currency,
            "kpis": kpis,
            "unconverted_revenue": unconverted,
            "email": figures.email(now),
            "days": [d.isoformat() for d in period.each_day()],
            "series": series,
            "rows": kpis,
        }

    def funnel(
        self, period: Period, by: str | None = None, key: str | None = None
    ) -> dict[str, Any]:
        """The ladder for everyone, or for one campaign, channel or source (first touch)."""
        scope = FUNNEL_BY[by](key) if by and key is not None else tally.ALL
        metrics = self.stats.range(scope, period.first, period.last)
        if scope != tally.ALL:  # time in stage is kept for everyone only
            metrics = {k: v for k, v in metrics.items() if not k.startswith("stage_minutes:")}
        rows = figures.funnel(metrics)
        return {"period": period.as_dict(), "by": by, "key": key, "stages": rows, "rows": rows}

    def cohorts(self, period: Period) -> dict[str, Any]:
        """Contacts by month of creation, and how many of them reached each stage so far."""
        rows = []
        for month in self._named(period, "cohort#"):
            start = date.fromisoformat(f"{month}-01")
            metrics = self.stats.range(tally.cohort(month), start, self.today())
            row = {"cohort": month, **figures.pipeline(metrics)}
            row.pop("deals_won")
            rows.append(row)
        return {"period": period.as_dict(), "rows": rows}

    # --- campaigns and channels -------------------------------------------------------------

    def campaigns(self, period: Period, model: Model = Model.LINEAR) -> dict[str, Any]:
        book = self.library.campaigns()
        seen = set(self._named(period, "campaign#"))
        rows = []
        for campaign in book.campaigns:
            scopes = [tally.campaign(k) for k in campaign.keys]
            rows.append(
                self._roi_row(
                    period, book, model, scopes, campaign.spent(period.first, period.last), campaign
                )
            )
            seen -= set(campaign.keys)
        for key in sorted(seen):
            rows.append(
                self._roi_row(period, book, model, [tally.campaign(key)], Decimal(0), None, key)
            )
        return {
            "period": period.as_dict(),
            "model": str(model),
            "currency": book.currency,
            "rows": rows,
        }

    def campaign(
        self, period: Period, campaign_id: str, model: Model = Model.LINEAR
    ) -> dict[str, Any] | None:
        """One campaign (of campaigns.yaml, or a utm_campaign seen) with its funnel, emails
        and days; None when it is neither."""
        book = self.library.campaigns()
        found = next((c for c in book.campaigns if c.id == campaign_id), None)
        keys = found.keys if found else [campaign_id.strip().lower()]
        scopes = [tally.campaign(k) for k in keys]
        metrics = _sum([self.stats.range(s, period.first, period.last) for s in scopes])
        if found is None and not metrics:
            return None
        spend = found.spent(period.first, period.last) if found else Decimal(0)
        row = self._roi_row(period, book, model, scopes, spend, found, campaign_id)
        every_model = {}
        for m in Model:
            revenue, _ = figures.money(metrics, f"revenue:{m}", book)
            every_model[str(m)] = {
                "deals": float(metrics.get(tally.credited(m), 0)),
                "revenue": revenue,
                "roi": figures.roi(revenue, spend),
            }
        return {
            "period": period.as_dict(),
            "model": str(model),
            "currency": book.currency,
            "campaign": row,
            "models": every_model,
            "funnel": figures.funnel(metrics),
            "email": figures.email(metrics),
            "rows": [row],
        }

    def channels(self, period: Period, model: Model = Model.LINEAR) -> dict[str, Any]:
        book = self.library.campaigns()
        spend: dict[str, Decimal] = defaultdict(Decimal)
        for c in book.campaigns:
            if c.channel:
                spend[c.channel] += c.spent(period.first, period.last)
        names = sorted(set(self._named(period, "channel#")) | set(spend))
        rows = []
        for name in names:
            row = self._roi_row(
                period, book, model, [tally.channel(name)], spend.get(name, Decimal(0)), None, name
            )
            row["channel"] = row.pop("campaign")
            row.pop("name", None)
            rows.append(row)
        return {
            "period": period.as_dict(),
            "model": str(model),
            "currency": book.currency,
            "rows": rows,
        }

    def _roi_row(
        self,
        period: Period,
        book: CampaignBook,
        model: Model,
        scopes: list[str],
        spend: Decimal,
        campaign: Campaign | None,
        key: str | None = None,
    ) -> dict[str, Any]:
        metrics = _sum([self.stats.range(s, period.first, period.last) for s in scopes])
        pipeline = figures.pipeline(metrics)
        revenue, unconverted = figures.money(metrics, f"revenue:{model}", book)
        credited = Decimal(str(metrics.get(tally.credited(model), 0))).quantize(Decimal("0.0001"))
        spend = spend.quantize(figures.CENTS)
        return {
            "campaign": campaign.id if campaign else key or NONE,
            "name": campaign.title if campaign else key or NONE,
            "channel": campaign.channel if campaign else None,
            "listed": campaign is not None,
            "budget": campaign.budget if campaign else None,
            "spend": spend,
            **pipeline,
            "credited_deals": credited,
            "credited_revenue": revenue,
            "unconverted_revenue": unconverted,
            "cost_per_lead": figures.per(spend, pipeline[str(Stage.LEAD)]),
            "cost_per_mql": figures.per(spend, pipeline[str(Stage.MQL)]),
            "cost_per_sql": figures.per(spend, pipeline[str(Stage.SQL)]),
            "cost_per_customer": figures.per(spend, pipeline[str(Stage.CUSTOMER)]),
            "roi": figures.roi(revenue, spend),
        }

    # --- email, journeys, sales -------------------------------------------------------------

    def emails(self, period: Period, by: str = "template") -> dict[str, Any]:
        prefix = EMAIL_KINDS[by]
        rows = []
        for name in self._named(period, prefix):
            metrics = self.stats.range(prefix + name, period.first, period.last)
            if any(metrics.get(m) for m in tally.EMAIL_METRICS):
                rows.append({by: name, **figures.email(metrics)})
        total = {
            by: "(all)",
            **figures.email(
                self.stats.range(tally.channel(tally.EMAIL_CHANNEL), period.first, period.last)
            ),
        }
        return {"period": period.as_dict(), "by": by, "total": total, "rows": rows}

    def journey(self, period: Period, journey_id: str) -> dict[str, Any] | None:
        """A journey's entries, exits and goal, and per step (in the journey's order): entered,
        moved on, exited there, waiting there now, and what its emails did. None for a
        journey that is neither live nor counted."""
        live = {j.journey.id: j.journey for j in self.journeys.live()}
        definition = live.get(journey_id)
        metrics = self.stats.range(tally.journey(journey_id), period.first, period.last)
        if definition is None and not metrics:
            return None
        order = [(s.id, kind_of(s)) for s in definition.steps] if definition else []
        known = {name for name, _ in order}
        order += [(n, "") for n in self._named(period, f"step#{journey_id}#") if n not in known]
        levels = self.stats.levels(tally.journey(journey_id))
        steps = []
        for name, kind in order:
            sends = kind in ("send_email", "")  # only a sending step has email figures
            scope = tally.step(journey_id, name)
            counted = self.stats.range(scope, period.first, period.last) if sends else {}
            steps.append(
                {
                    "step": name,
                    "kind": kind,
                    "entered": figures.count(metrics, tally.at_step(tally.STEP_ENTERED, name)),
                    "moved_on": figures.count(metrics, tally.at_step(tally.STEP_LEFT, name)),
                    "exited_here": figures.count(metrics, tally.at_step(tally.STEP_EXITED, name)),
                    "waiting_now": figures.count(levels, tally.at_step(tally.WAITING, name)),
                    **figures.email(counted),
                }
            )
        entered = figures.count(metrics, tally.ENTERED)
        converted = figures.count(metrics, tally.CONVERTED)
        exits = {
            k.split(":", 1)[1]: int(v)
            for k, v in sorted(metrics.items())
            if k.startswith(f"{tally.EXITED}:")
        }
        branches: dict[str, dict[str, int]] = defaultdict(dict)
        for k, v in sorted(metrics.items()):
            if k.startswith("branch:"):
                _, step, case = k.split(":", 2)
                branches[step][case] = int(v)
        return {
            "period": period.as_dict(),
            "journey": journey_id,
            "name": definition.name if definition else None,
            "live": definition is not None,
            "entered": entered,
            "completed": figures.count(metrics, tally.COMPLETED),
            "exited": figures.count(metrics, tally.EXITED),
            "exit_reasons": exits,
            "converted": converted,
            "conversion_rate": figures.share(converted, entered),
            "branches": dict(branches),
            "email": figures.email(metrics),
            "steps": steps,
            "rows": steps,
        }

    def broadcast(
        self, period: Period, broadcast_id: str, status: dict[str, Any]
    ) -> dict[str, Any]:
        """A broadcast's run (its desk's status: variants, skips) with its email figures, and
        for an A/B test each variant's rates and the confidence that it differs from the
        first on unique opens and on unique clicks."""
        metrics = self.stats.range(tally.broadcast(broadcast_id), period.first, period.last)
        variants = []
        arms = list((status.get("variants") or {}).items())
        for name, counts in arms:
            sent, opened, clicked = (int(counts.get(k, 0)) for k in ("sent", "opened", "clicked"))
            row: dict[str, Any] = {
                "variant": name,
                "sent": sent,
                "opened": opened,
                "clicked": clicked,
                "open_rate": figures.share(opened, sent),
                "click_rate": figures.share(clicked, sent),
            }
            if arms and name != arms[0][0]:
                base = arms[0][1]
                first_sent = int(base.get("sent", 0))
                row["open_confidence"] = figures.ab_confidence(
                    opened, sent, int(base.get("opened", 0)), first_sent
                )
                row["click_confidence"] = figures.ab_confidence(
                    clicked, sent, int(base.get("clicked", 0)), first_sent
                )
            variants.append(row)
        return {
            "period": period.as_dict(),
            "broadcast": broadcast_id,
            "status": status,
            "email": figures.email(metrics),
            "variants": variants,
            "rows": variants,
        }

    def segment_sizes(self, period: Period, segment_id: str, size_now: int) -> list[int]:
        """A segment's size at the end of each day of the period, from its size now and the
        entries and exits counted since."""
        today = self.today()
        days = self.stats.by_day(tally.segment(segment_id), period.first, max(today, period.last))
        net = {
            d: figures.count(m, tally.JOINED) - figures.count(m, tally.LEFT_SEGMENT)
            for d, m in days.items()
        }
        sizes = []
        for day in period.each_day():
            later = sum(n for d, n in net.items() if d > day)
            sizes.append(max(size_now - later, 0))
        return sizes

    def sales(self, period: Period, team: str | None = None) -> dict[str, Any]:
        """Hand-offs, speed, SLA and deals for everyone, each team and each owner; with a
        `team` (a sales manager's view), that team's row and its members' rows only."""
        book = self.library.campaigns()

        def row(kind: str, name: str, scope: str) -> dict[str, Any]:
            m = self.stats.range(scope, period.first, period.last)
            buckets = histogram.of_labels(m, tally.ACCEPT_TIME)
            from_post = histogram.of_labels(m, tally.LEAD_TIME)
            revenue, unconverted = figures.money(m, "revenue", book)
            return {
                "kind": kind,
                "name": name,
                "handoffs": figures.count(m, tally.HANDOFFS),
                "accepted": figures.count(m, tally.ACCEPTED),
                "accept_minutes_p50": histogram.percentile(buckets, 0.5),
                "accept_minutes_p90": histogram.percentile(buckets, 0.9),
                "speed_to_lead_minutes_p50": histogram.percentile(from_post, 0.5),
                "speed_to_lead_minutes_p90": histogram.percentile(from_post, 0.9),
                "sla_breaches": figures.count(m, tally.SLA_BREACHES),
                "recycles": figures.count(m, tally.RECYCLES),
                "released": figures.count(m, tally.RELEASES),
                "returned_to_pool": figures.count(m, tally.UNASSIGNED),
                "disqualified": figures.count(m, tally.DISQUALIFIED),
                "follow_ups": figures.count(m, tally.FOLLOW_UPS),
                "follow_up_gaps": figures.count(m, tally.FOLLOW_UP_GAPS),
                "in_pool_now": figures.count(self.stats.levels(scope), tally.POOL)
                if kind in ("all", "team")
                else None,
                "opportunities": figures.count(m, tally.OPPORTUNITIES),
                "deals_won": figures.count(m, tally.DEALS_WON),
                "revenue": revenue,
                "unconverted_revenue": unconverted,
            }

        teams, owners = self._named(period, "team#"), self._named(period, "owner#")
        if team is not None:
            routing = self.library.routing()
            members = {
                m.id for t in (routing.teams if routing else ()) if t.id == team for m in t.members
            }
            teams, owners = [t for t in teams if t == team], [o for o in owners if o in members]
        rows = [row("all", "(all)", tally.ALL)] if team is None else []
        rows += [row("team", t, tally.team(t)) for t in teams]
        rows += [row("owner", o, tally.owner(o)) for o in owners]
        return {"period": period.as_dict(), "currency": book.currency, "rows": rows}
