"""Reading marketing/: every content file parsed and validated, with all problems at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from chalicelib.content import emails
from chalicelib.content.emails import EmailContent
from chalicelib.content.forms import Form
from chalicelib.content.source import Loc, SourceDoc, load_yaml
from chalicelib.errors import ContentError, ContentProblem
from chalicelib.journeys import checks
from chalicelib.journeys.dsl import Journey, SendEmailStep, UpdateStep
from chalicelib.leads import library
from chalicelib.leads.notices import HANDOFF_TEMPLATE, NOTICE_TEMPLATE
from chalicelib.rules.dsl import RuleBook


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

    @property
    def consent_topics(self) -> set[str]:
        return {t for form in self.forms.values() if form.consent for t in form.consent.topics}

    @property
    def contact_fields(self) -> set[str]:
        """Every contact field something here can set: forms, journey updates, the basics."""
        found = set(emails.CONTACT_FIELDS)
        found |= {f.name for form in self.forms.values() for f in form.fields}
        for journey in self.journeys.values():
            for step in journey.steps:
                if isinstance(step, UpdateStep) and step.update.fields:
                    found |= set(step.update.fields)
        return found

    def raise_for_problems(self) -> None:
        if self.problems:
            raise ContentError(self.problems)


def _tidy(loc: tuple[Any, ...]) -> Loc:
    """Drop the discriminator tags pydantic repeats (steps.0.wait.wait -> steps.0.wait)."""
    out: list[Any] = []
    for part in loc:
        if not out or out[-1] != part:
            out.append(part)
    return tuple(out)


def _pydantic_problems(doc: SourceDoc, exc: ValidationError) -> list[ContentProblem]:
    problems = []
    for err in exc.errors():
        loc = _tidy(tuple(err["loc"]))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "is not a known setting (check the spelling)"
        problems.append(doc.problem(loc, message))
    return problems


def _parse(
    path: Path, root: Path, catalog: Catalog, model: type[BaseModel], what: str
) -> tuple[SourceDoc, Any] | None:
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
    try:
        return doc, model.model_validate(doc.data)
    except ValidationError as exc:
        catalog.problems.extend(_pydantic_problems(doc, exc))
        return None


def _load_form(path: Path, root: Path, catalog: Catalog) -> None:
    parsed = _parse(path, root, catalog, Form, "form")
    if parsed is not None:
        catalog.forms[parsed[1].id] = parsed[1]


def _load_journey(path: Path, root: Path, catalog: Catalog) -> None:
    parsed = _parse(path, root, catalog, Journey, "journey")
    if parsed is None:
        return
    doc, journey = parsed
    found = checks.problems(journey)
    catalog.problems.extend(doc.problem(loc, message) for loc, message in found)
    if not found:
        catalog.journeys[journey.id] = journey
        catalog.journey_bodies[journey.id] = doc.data
        catalog.sources[("journey", journey.id)] = doc


def _cross_check(catalog: Catalog) -> None:
    for journey_id, journey in catalog.journeys.items():
        doc = catalog.sources[("journey", journey_id)]
        for loc, target in checks.enroll_targets(journey):
            if target not in catalog.journeys:
                catalog.problems.append(doc.problem(loc, f"there is no journey {target!r}"))
        trigger = journey.trigger
        form = trigger.where.get("form_id") if trigger.event == "form_submitted" else None
        if isinstance(form, str) and form not in catalog.forms:
            catalog.problems.append(
                doc.problem(("trigger", "where", "form_id"), f"there is no form {form!r}")
            )
        _check_sends(catalog, journey, doc)
    topics = catalog.emails.topics
    for form_id, form in catalog.forms.items():
        for topic in form.consent.topics if form.consent else ():
            if topic not in topics:
                catalog.problems.append(
                    ContentProblem(
                        f"forms/{form_id}.yaml",
                        None,
                        "consent.topics",
                        f"topic {topic!r} is not listed under topics in templates/brand.yaml",
                    )
                )


def _check_sends(catalog: Catalog, journey: Journey, doc: SourceDoc) -> None:
    fields = catalog.contact_fields
    for i, step in enumerate(journey.steps):
        if not isinstance(step, SendEmailStep):
            continue
        spec, loc = step.send_email, ("steps", i, "send_email")
        if spec.template not in catalog.emails.templates:
            catalog.problems.append(
                doc.problem(
                    (*loc, "template"), f"there is no template templates/{spec.template}.mjml"
                )
            )
        problem = emails.check_subject(spec.subject, fields)
        if problem:
            catalog.problems.append(doc.problem((*loc, "subject"), problem))
        if spec.topic and spec.topic not in catalog.emails.topics:
            catalog.problems.append(
                doc.problem(
                    (*loc, "topic"),
                    f"topic {spec.topic!r} is not listed under topics in templates/brand.yaml",
                )
            )


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
    for name, model in library.MODELS.items():
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
            if target is not None and target not in catalog.journeys:
                catalog.problems.append(
                    doc.problem(
                        ("rules", i, "then", j, "enroll"), f"there is no journey {target!r}"
                    )
                )
    if book.rules and NOTICE_TEMPLATE not in catalog.emails.templates:
        catalog.problems.append(
            doc.problem(("rules",), f"rules notify by email: add templates/{NOTICE_TEMPLATE}.mjml")
        )


LOADERS: tuple[tuple[str, Callable[[Path, Path, Catalog], None]], ...] = (
    ("forms", _load_form),
    ("journeys", _load_journey),
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
    templates = templates if templates is not None else root.parent / "templates"
    catalog.emails = emails.load(templates, catalog.problems)
    emails.check_templates(templates, catalog.emails, catalog.contact_fields, catalog.problems)
    _load_leads(root, catalog)
    _cross_check(catalog)
    _check_rules(catalog)
    if "routing" in catalog.leads and HANDOFF_TEMPLATE not in catalog.emails.templates:
        catalog.problems.append(
            catalog.sources[("leads", "routing")].problem(
                (), f"hand-offs email the owner: add templates/{HANDOFF_TEMPLATE}.mjml"
            )
        )
    return catalog
