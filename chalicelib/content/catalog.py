"""Reading marketing/: every content file parsed and validated, with all problems at once.

One run reports everything: a journey the schema refuses is still checked against its own steps
and the other files (see salvage.py), and a reference to a file that has problems of its own is
not reported again as missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from chalicelib.broadcasts.language import Broadcast
from chalicelib.content import assets, emails, salvage, wording
from chalicelib.content.assets import Asset
from chalicelib.content.emails import EmailContent
from chalicelib.content.source import Loc, SourceDoc, load_yaml
from chalicelib.errors import ContentError, ContentProblem
from chalicelib.events import FORM_SUBMITTED
from chalicelib.journeys import checks
from chalicelib.journeys.language import HandoffStep, Journey, SendEmailStep, UpdateStep
from chalicelib.leads import downloads
from chalicelib.leads.form_language import Form
from chalicelib.leads.routing import Routing
from chalicelib.leads.scoring import Scoring
from chalicelib.reports.campaigns import CampaignBook
from chalicelib.rules.language import RuleBook
from chalicelib.segments.book import SegmentBook, SegmentCycle, segment_refs
from chalicelib.segments.language import Segment
from chalicelib.segments.rfm import RfmSettings

# marketing/scoring.yaml, routing.yaml, rules.yaml, rfm.yaml and campaigns.yaml, and the
# model each one is
LEAD_FILES: dict[str, type[BaseModel]] = {
    "scoring": Scoring,
    "routing": Routing,
    "rules": RuleBook,
    "rfm": RfmSettings,
    "campaigns": CampaignBook,
}


@dataclass
class Catalog:
    forms: dict[str, Form] = field(default_factory=dict)
    journeys: dict[str, Journey] = field(default_factory=dict)
    journey_bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[ContentProblem] = field(default_factory=list)
    files: int = 0
    sources: dict[tuple[str, str], SourceDoc] = field(default_factory=dict)
    emails: EmailContent = field(default_factory=EmailContent)
    # scoring.yaml, routing.yaml, rules.yaml: parsed, and their bodies to publish.
    leads: dict[str, BaseModel] = field(default_factory=dict)
    lead_bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Every form and journey file by id, valid or not, for references between files.
    form_ids: set[str] = field(default_factory=set)
    journey_ids: set[str] = field(default_factory=set)
    # Journeys to check against the other files: valid, or salvaged with what was left out.
    checked: dict[str, tuple[Journey, SourceDoc, list[Loc]]] = field(default_factory=dict)
    # The field names a form with problems declares, so templates reading them are not blamed.
    refused_form_fields: set[str] = field(default_factory=set)
    # assets/: the files that can be served, and every file's name (one with problems too).
    assets: dict[str, Asset] = field(default_factory=dict)
    asset_files: set[str] = field(default_factory=set)
    # segments/: valid segments, and every segment file's id (for references).
    segments: dict[str, Segment] = field(default_factory=dict)
    segment_ids: set[str] = field(default_factory=set)
    # broadcasts/: valid broadcasts.
    broadcasts: dict[str, Broadcast] = field(default_factory=dict)

    @property
    def consent_topics(self) -> set[str]:
        return {t for form in self.forms.values() if form.consent for t in form.consent.topics}

    @property
    def contact_fields(self) -> set[str]:
        """Every contact field something here can set: forms, journey updates, the basics."""
        found = set(emails.CONTACT_FIELDS) | self.refused_form_fields
        found |= {f.name for form in self.forms.values() for f in form.fields}
        for journey, _, _ in self.checked.values():
            for step in journey.steps:
                if isinstance(step, UpdateStep) and step.update.fields:
                    found |= set(step.update.fields)
        return found

    def raise_for_problems(self) -> None:
        if self.problems:
            raise ContentError(self.problems)


def _schema_problems(doc: SourceDoc, exc: ValidationError) -> list[ContentProblem]:
    return [
        doc.problem(loc, message) for loc, message in wording.complaints(doc.data, exc.errors())
    ]


def _read(path: Path, root: Path, catalog: Catalog, what: str) -> SourceDoc | None:
    """The file's YAML as a mapping with its id (the file name), or None with the problem."""
    display = str(path.relative_to(root.parent)) if path.is_relative_to(root.parent) else str(path)
    try:
        doc = load_yaml(path, display)
    except ContentError as exc:
        catalog.problems.extend(exc.problems)
        return None
    if not isinstance(doc.data, dict):
        catalog.problems.append(doc.problem((), f"a {what} file must be a mapping of settings"))
        return None
    if "id" in doc.data:
        catalog.problems.append(doc.problem(("id",), f"the {what} id is its file name; remove id"))
        return None
    doc.data = {"id": path.stem, **doc.data}
    return doc


def _parse(
    path: Path, root: Path, catalog: Catalog, model: type[BaseModel], what: str
) -> tuple[SourceDoc, Any] | None:
    doc = _read(path, root, catalog, what)
    if doc is None:
        return None
    try:
        return doc, model.model_validate(doc.data)
    except ValidationError as exc:
        catalog.problems.extend(_schema_problems(doc, exc))
        return None


def _load_form(path: Path, root: Path, catalog: Catalog) -> None:
    catalog.form_ids.add(path.stem)
    doc = _read(path, root, catalog, "form")
    if doc is None:
        return
    try:
        form = Form.model_validate(doc.data)
    except ValidationError as exc:
        catalog.problems.extend(_schema_problems(doc, exc))
        fields = doc.data.get("fields")
        for item in fields if isinstance(fields, list) else ():
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                catalog.refused_form_fields.add(item["name"])
        return
    catalog.forms[form.id] = form
    catalog.sources[("form", form.id)] = doc


def _load_journey(path: Path, root: Path, catalog: Catalog) -> None:
    catalog.journey_ids.add(path.stem)
    doc = _read(path, root, catalog, "journey")
    if doc is None:
        return
    unsure: list[Loc] = []
    try:
        journey: Journey | None = Journey.model_validate(doc.data)
    except ValidationError as exc:
        refused = wording.complaints(doc.data, exc.errors())
        catalog.problems.extend(doc.problem(loc, message) for loc, message in refused)
        salvaged = salvage.salvage(doc.data, [loc for loc, _ in refused])
        journey, unsure = salvaged.journey, salvaged.unsure
    if journey is None:
        return
    found = [
        (loc, message)
        for loc, message in checks.problems(journey, unsure)
        if salvage.trusted(loc, unsure)
    ]
    catalog.problems.extend(doc.problem(loc, message) for loc, message in found)
    catalog.checked[journey.id] = (journey, doc, unsure)
    if not unsure and not found:
        catalog.journeys[journey.id] = journey
        catalog.journey_bodies[journey.id] = doc.data
        catalog.sources[("journey", journey.id)] = doc


def _cross_check(catalog: Catalog) -> None:
    for journey, doc, unsure in catalog.checked.values():
        found: list[tuple[Loc, str]] = []
        for loc, target in checks.enroll_targets(journey):
            if target not in catalog.journey_ids:
                found.append((loc, f"there is no journey {target!r}"))
        trigger = journey.trigger
        form = trigger.where.get("form_id") if trigger.event == FORM_SUBMITTED else None
        if isinstance(form, str) and form not in catalog.form_ids:
            found.append((("trigger", "where", "form_id"), f"there is no form {form!r}"))
        found += _check_sends(catalog, journey)
        found += _check_handoff_teams(catalog, journey)
        catalog.problems.extend(
            doc.problem(loc, message) for loc, message in found if salvage.trusted(loc, unsure)
        )
    topics = catalog.emails.topics
    for form_id, form in catalog.forms.items():
        doc = catalog.sources[("form", form_id)]
        found = _check_download(catalog, form)
        catalog.problems.extend(doc.problem(loc, message) for loc, message in found)
        for i, topic in enumerate(form.consent.topics if form.consent else ()):
            if topic not in topics:
                catalog.problems.append(
                    doc.problem(
                        ("consent", "topics", i),
                        f"topic {topic!r} is not listed under topics in templates/brand.yaml",
                    )
                )


def _check_handoff_teams(catalog: Catalog, journey: Journey) -> list[tuple[Loc, str]]:
    """A hand-off that names a team names one routing.yaml has (else it would quietly go to
    whichever team the rules pick)."""
    routing = catalog.leads.get("routing")
    if routing is None:
        return []
    teams = [t.id for t in routing.teams]  # type: ignore[attr-defined]
    return [
        (
            ("steps", i, "handoff", "team"),
            f"there is no team {step.handoff.team!r} in routing.yaml ({', '.join(teams)})",
        )
        for i, step in enumerate(journey.steps)
        if isinstance(step, HandoffStep) and step.handoff.team and step.handoff.team not in teams
    ]


def _check_download(catalog: Catalog, form: Form) -> list[tuple[Loc, str]]:
    """The file a form offers is in assets/ (a file with problems of its own is reported
    there), and a redirect does not skip the hosted thank-you page that offers it."""
    thanks = form.thank_you
    if thanks.download is None:
        return []
    found: list[tuple[Loc, str]] = []
    if thanks.download.file and thanks.download.file not in catalog.asset_files:
        message = f"there is no file {thanks.download.file!r} in marketing/assets/"
        found.append((("thank_you", "download", "file"), message))
    if thanks.redirect not in (None, f"/forms/{form.id}/thank-you"):
        message = (
            "visitors are sent here instead of the thank-you page that offers download;"
            " remove redirect, or link the file from this page and remove download"
        )
        found.append((("thank_you", "redirect"), message))
    return found


def _check_sends(catalog: Catalog, journey: Journey) -> list[tuple[Loc, str]]:
    fields = catalog.contact_fields
    found: list[tuple[Loc, str]] = []
    for i, step in enumerate(journey.steps):
        if not isinstance(step, SendEmailStep):
            continue
        spec, loc = step.send_email, ("steps", i, "send_email")
        if not catalog.emails.exists(spec.template):
            found.append(
                ((*loc, "template"), f"there is no template templates/{spec.template}.mjml")
            )
        problem = emails.check_subject(spec.subject, fields)
        if problem:
            found.append(((*loc, "subject"), problem))
        if spec.topic and spec.topic not in catalog.emails.topics:
            found.append(
                (
                    (*loc, "topic"),
                    f"topic {spec.topic!r} is not listed under topics in templates/brand.yaml",
                )
            )
    return found


def _plain(value: Any) -> Any:
    """YAML's dates as the ISO text they were written as, so the body stores as JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _load_leads(root: Path, catalog: Catalog) -> None:
    for name, model in LEAD_FILES.items():
        path = root / f"{name}.yaml"
        if not path.exists():
            continue
        catalog.files += 1
        parsed = _parse(path, root, catalog, model, name)
        if parsed is not None:
            catalog.leads[name] = parsed[1]
            catalog.lead_bodies[name] = _plain(parsed[0].data)
            catalog.sources[("leads", name)] = parsed[0]


def _check_rules(catalog: Catalog) -> None:
    book = catalog.leads.get("rules")
    if not isinstance(book, RuleBook):
        return
    doc = catalog.sources[("leads", "rules")]
    for i, rule in enumerate(book.rules):
        for j, action in enumerate(rule.then):
            target = getattr(action, "enroll", None)
            if target is not None and target not in catalog.journey_ids:
                catalog.problems.append(
                    doc.problem(
                        ("rules", i, "then", j, "enroll"), f"there is no journey {target!r}"
                    )
                )
    if book.rules and not catalog.emails.exists(emails.NOTICE_TEMPLATE):
        catalog.problems.append(
            doc.problem(
                ("rules",), f"rules notify by email: add templates/{emails.NOTICE_TEMPLATE}.mjml"
            )
        )


def _load_assets(root: Path, catalog: Catalog) -> None:
    paths = assets.files(root / downloads.FOLDER)
    catalog.files += len(paths)
    catalog.asset_files = {path.name for path in paths}
    catalog.assets = assets.load(paths, f"{root.name}/{downloads.FOLDER}", catalog.problems)


def _load_segment(path: Path, root: Path, catalog: Catalog) -> None:
    catalog.segment_ids.add(path.stem)
    parsed = _parse(path, root, catalog, Segment, "segment")
    if parsed is not None:
        doc, segment = parsed
        catalog.segments[segment.id] = segment
        catalog.sources[("segment", segment.id)] = doc


def _check_segments(catalog: Catalog) -> None:
    """Segments name segments that exist, and never read one another in a circle; journeys
    triggered by a segment name one that exists."""
    for segment_id, segment in catalog.segments.items():
        doc = catalog.sources[("segment", segment_id)]
        for loc, target in segment_refs(segment.when, ("when",)) if segment.when else ():
            if target not in catalog.segment_ids:
                catalog.problems.append(doc.problem(loc, f"there is no segment {target!r}"))
    try:
        SegmentBook(list(catalog.segments.values()))
    except SegmentCycle as exc:
        for reader, read in zip(exc.circle, exc.circle[1:], strict=False):
            segment = catalog.segments[reader]
            refs = segment_refs(segment.when, ("when",)) if segment.when else []
            loc = next((loc for loc, target in refs if target == read), ("when",))
            doc = catalog.sources[("segment", reader)]
            catalog.problems.append(doc.problem(loc, str(exc)))
    for journey, doc, unsure in catalog.checked.values():
        target = journey.trigger.segment
        if target is not None and target not in catalog.segment_ids:
            loc = ("trigger", "segment")
            if salvage.trusted(loc, unsure):
                catalog.problems.append(doc.problem(loc, f"there is no segment {target!r}"))


def _load_broadcast(path: Path, root: Path, catalog: Catalog) -> None:
    parsed = _parse(path, root, catalog, Broadcast, "broadcast")
    if parsed is not None:
        doc, broadcast = parsed
        catalog.broadcasts[broadcast.id] = broadcast
        catalog.sources[("broadcast", broadcast.id)] = doc


def _check_broadcasts(catalog: Catalog) -> None:
    """A broadcast names segments, templates and a topic that exist, and subjects that
    read only fields contacts can have."""
    for broadcast_id, broadcast in catalog.broadcasts.items():
        doc = catalog.sources[("broadcast", broadcast_id)]
        found: list[tuple[Loc, str]] = []
        audience = broadcast.audience
        targets = [(("audience", "segment"), audience.segment)]
        targets += [(("audience", "exclude", i), s) for i, s in enumerate(audience.exclude)]
        found += [
            (loc, f"there is no segment {t!r}")
            for loc, t in targets
            if t not in catalog.segment_ids
        ]
        emails_ = [(("email",), broadcast.email.template, broadcast.email.subject)]
        emails_ += [
            (("ab_test", "variants", i), v.template, v.subject)
            for i, v in enumerate(broadcast.variants)
        ]
        for loc, template, subject in emails_:
            if template and not catalog.emails.exists(template):
                found.append(
                    ((*loc, "template"), f"there is no template templates/{template}.mjml")
                )
            problem = emails.check_subject(subject, catalog.contact_fields) if subject else None
            if problem:
                found.append(((*loc, "subject"), problem))
        topic = broadcast.email.topic
        if topic != "marketing" and topic not in catalog.emails.topics:
            message = f"topic {topic!r} is not listed under topics in templates/brand.yaml"
            found.append((("email", "topic"), message))
        catalog.problems.extend(doc.problem(loc, message) for loc, message in found)


LOADERS: tuple[tuple[str, Callable[[Path, Path, Catalog], None]], ...] = (
    ("forms", _load_form),
    ("journeys", _load_journey),
    ("segments", _load_segment),
    ("broadcasts", _load_broadcast),
)


def load(root: Path, templates: Path | None = None) -> Catalog:
    """Load the content under `root` (the marketing/ folder) and the emails beside it."""
    catalog = Catalog()
    if not root.is_dir():
        catalog.problems.append(ContentProblem(str(root), None, "", "no such folder"))
        return catalog
    for folder, loader in LOADERS:
        for path in sorted((root / folder).glob("*.y*ml")):
            catalog.files += 1
            loader(path, root, catalog)
    _load_assets(root, catalog)
    templates = templates if templates is not None else root.parent / "templates"
    catalog.emails = emails.load(templates, catalog.problems)
    emails.check_templates(templates, catalog.emails, catalog.contact_fields, catalog.problems)
    _load_leads(root, catalog)
    _cross_check(catalog)
    _check_rules(catalog)
    _check_segments(catalog)
    _check_broadcasts(catalog)
    if "routing" in catalog.leads and not catalog.emails.exists(emails.HANDOFF_TEMPLATE):
        catalog.problems.append(
            catalog.sources[("leads", "routing")].problem(
                (), f"hand-offs email the owner: add templates/{emails.HANDOFF_TEMPLATE}.mjml"
            )
        )
    catalog.problems.sort(key=lambda p: (p.path, p.line or 0))
    return catalog
