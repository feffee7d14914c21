"""Emails in the catalog: compile templates/ once, and check what journeys ask of them.

`validate` refuses a journey that sends a template that does not exist, a subject or template
reading a variable that no contact field or send context provides (a typo would otherwise
reach an inbox as an error or a blank), and a topic brand.yaml does not name (the preference
centre lists topics by their names there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from chalicelib.errors import ContentProblem
from chalicelib.messaging import compiler
from chalicelib.messaging.compiler import CompiledEmail, TemplateProblem

# What every send provides besides the contact: see services/sender.py.
CONTEXT = frozenset(
    {
        "contact",
        "subject",
        "unsubscribe_url",
        "assets_url",  # where marketing/assets/ is served: {{ assets_url }}/playbook-2026.pdf
        "journey",
        "step",
        "lead",
        "owner",
        "notice",
    }
)
# Contact fields every contact may have, whatever the forms collect.
CONTACT_FIELDS = frozenset(
    {
        "id",
        "email",
        "phone",
        "stage",
        "score",
        "tags",
        "segments",
        "first_name",
        "last_name",
        "name",
        "company",
        "job_title",
        "country",
        "timezone",
        "locale",
    }
)
BRAND_FILE = "brand.yaml"

HANDOFF_TEMPLATE = "lead-handoff"  # what an owner gets for a hot lead
NOTICE_TEMPLATE = "team-notice"  # what rules and SLA reminders send


@dataclass
class EmailContent:
    """The compiled templates and the sender settings from brand.yaml."""

    templates: dict[str, CompiledEmail] = field(default_factory=dict)
    brand: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    # Templates that exist but did not compile: their own problem is reported once.
    broken: set[str] = field(default_factory=set)

    def exists(self, name: str) -> bool:
        return name in self.templates or name in self.broken

    @property
    def topics(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in (self.brand.get("topics") or {}).items()}

    def settings(self, consent_topics: set[str]) -> dict[str, Any]:
        """What the sender and the preference centre read at run time."""
        return {
            "from": self.brand.get("from"),
            "reply_to": self.brand.get("reply_to"),
            "unsubscribe_mailto": self.brand.get("unsubscribe_mailto"),
            "topics": self.topics,
            "consent_topics": sorted(consent_topics),
            "name": self.brand.get("name"),
        }


def _where(root: Path, name: str) -> str:
    return f"{root.name}/{name}{compiler.TEMPLATE_SUFFIX}"


def _line_of(source: str, needle: str) -> int | None:
    for number, line in enumerate(source.splitlines(), start=1):
        if needle in line:
            return number
    return None


def load(root: Path, problems: list[ContentProblem]) -> EmailContent:
    """Compile every template under `root`; problems name file and line."""
    content = EmailContent()
    if not root.is_dir():
        return content
    brand_file = root / BRAND_FILE
    if brand_file.exists():
        loaded = yaml.safe_load(brand_file.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            problems.append(ContentProblem(f"{root.name}/{BRAND_FILE}", None, "", "not a mapping"))
        else:
            content.brand = loaded
    for name in compiler.names(root):
        try:
            content.templates[name] = compiler.compile_template(root, name, content.brand)
        except TemplateProblem as exc:
            problems.append(ContentProblem(_where(root, name), exc.line, "", exc.detail))
            content.broken.add(name)
            continue
        content.sources[name] = (root / f"{name}{compiler.TEMPLATE_SUFFIX}").read_text("utf-8")
    return content


def unknown_variables(source: str, contact_fields: set[str]) -> list[str]:
    """Names a template or subject reads that neither the send context nor a contact has."""
    unknown = []
    for name in sorted(compiler.variables(source)):
        head, _, rest = name.partition(".")
        if head.startswith("_"):  # set by the sender itself (links.TRACKER)
            continue
        if head not in CONTEXT or (
            head == "contact" and rest and rest.split(".")[0] not in contact_fields
        ):
            unknown.append(name)
    return [n for n in unknown if not any(o != n and n.startswith(o + ".") for o in unknown)]


def check_templates(
    root: Path, content: EmailContent, contact_fields: set[str], problems: list[ContentProblem]
) -> None:
    for name, email in content.templates.items():
        for variable in unknown_variables(email.html, contact_fields):
            line = _line_of(content.sources.get(name, ""), variable)
            problems.append(
                ContentProblem(
                    _where(root, name),
                    line,
                    variable,
                    "no contact field or send context provides this variable "
                    "(check the spelling, or collect the field in a form)",
                )
            )


def subject_syntax(subject: str) -> str | None:
    """What is wrong with a subject as a template, or None (fields are not checked)."""
    try:
        unknown_variables(subject, set())
    except jinja2.TemplateSyntaxError as exc:
        return f"template syntax: {exc.message}"
    return None


def check_subject(subject: str, contact_fields: set[str]) -> str | None:
    try:
        unknown = unknown_variables(subject, contact_fields)
    except jinja2.TemplateSyntaxError as exc:
        return f"template syntax: {exc.message}"
    if unknown:
        return f"no contact field or send context provides {', '.join(unknown)}"
    return None
