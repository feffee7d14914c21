"""Reading marketing/: every content file parsed and validated, with all problems at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from chalicelib.content.forms import Form
from chalicelib.content.source import SourceDoc, load_yaml
from chalicelib.errors import ContentError, ContentProblem


@dataclass
class Catalog:
    forms: dict[str, Form] = field(default_factory=dict)
    problems: list[ContentProblem] = field(default_factory=list)
    files: int = 0

    def raise_for_problems(self) -> None:
        if self.problems:
            raise ContentError(self.problems)


def _pydantic_problems(doc: SourceDoc, exc: ValidationError) -> list[ContentProblem]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "is not a known setting (check the spelling)"
        problems.append(doc.problem(loc, message))
    return problems


def _load_form(path: Path, root: Path, catalog: Catalog) -> None:
    display = str(path.relative_to(root.parent)) if path.is_relative_to(root.parent) else str(path)
    try:
        doc = load_yaml(path, display)
    except ContentError as exc:
        catalog.problems.extend(exc.problems)
        return
    if not isinstance(doc.data, dict):
        catalog.problems.append(doc.problem((), "a form file must be a mapping of settings"))
        return
    data = {"id": path.stem, **doc.data}
    try:
        form = Form.model_validate(data)
    except ValidationError as exc:
        catalog.problems.extend(_pydantic_problems(doc, exc))
        return
    if form.id in catalog.forms:
        catalog.problems.append(doc.problem(("id",), f"form id {form.id!r} is used twice"))
        return
    catalog.forms[form.id] = form


def load(root: Path) -> Catalog:
    """Load the content under `root` (the marketing/ folder)."""
    catalog = Catalog()
    if not root.is_dir():
        catalog.problems.append(ContentProblem(str(root), None, "", "no such folder"))
        return catalog
    for path in sorted((root / "forms").glob("*.y*ml")):
        catalog.files += 1
        _load_form(path, root, catalog)
    return catalog
