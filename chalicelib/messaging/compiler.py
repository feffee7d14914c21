"""Compile once: an email template becomes HTML and text templates at publish, not per send.

A template is MJML with two kinds of Jinja. Build-time tags in square brackets
(`[% extends "layouts/base.mjml" %]`, `[% block body %]`, `[% include "partials/footer.mjml" %]`)
assemble the layout and partials before MJML compiles; ordinary `{{ contact.first_name }}`
and `{% if %}` pass through MJML untouched and run per recipient, in the sandbox
(messaging/renderer.py). `variables()` lists what a compiled email reads, so `validate` can
refuse a name that no contact field or send context provides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from chalicelib.messaging import links, plaintext
from chalicelib.messaging.filters import FILTERS

TEMPLATE_SUFFIX = ".mjml"
SHARED_FOLDERS = ("layouts", "partials")


class TemplateProblem(ValueError):
    """A template that cannot compile or reads a variable nothing provides."""

    def __init__(self, name: str, message: str, line: int | None = None) -> None:
        super().__init__(
            f"templates/{name}{TEMPLATE_SUFFIX}" + (f":{line}" if line else "") + f": {message}"
        )
        self.name = name
        self.line = line
        self.detail = message


@dataclass(frozen=True)
class CompiledEmail:
    name: str
    html: str
    text: str

    def to_body(self) -> dict[str, Any]:
        return {"name": self.name, "html": self.html, "text": self.text}


def _build_env(root: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        block_start_string="[%",
        block_end_string="%]",
        variable_start_string="[[",
        variable_end_string="]]",
        comment_start_string="[#",
        comment_end_string="#]",
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )


def names(root: Path) -> list[str]:
    """The sendable templates: every .mjml outside layouts/ and partials/."""
    return sorted(
        str(p.relative_to(root).with_suffix(""))
        for p in root.rglob(f"*{TEMPLATE_SUFFIX}")
        if p.relative_to(root).parts[0] not in SHARED_FOLDERS
    )


def assemble(root: Path, name: str, brand: dict[str, Any] | None = None) -> str:
    """The whole MJML document of a template: layout, partials and brand values filled in."""
    try:
        return _build_env(root).get_template(name + TEMPLATE_SUFFIX).render(brand=brand or {})
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(name, f"template syntax: {exc.message}", exc.lineno) from exc
    except jinja2.TemplateNotFound as exc:
        line = _line_naming(root, name, str(exc.name))
        raise TemplateProblem(name, f"no such template or partial: {exc.name}", line) from exc
    except jinja2.UndefinedError as exc:
        missing = re.search(r"has no attribute '([^']+)'", str(exc.message))
        if missing is None:
            raise TemplateProblem(name, f"build-time value missing: {exc.message}") from exc
        key = missing.group(1)
        line = _line_naming(root, name, f"brand.{key}")
        raise TemplateProblem(name, f"[[ brand.{key} ]]: brand.yaml has no {key}", line) from exc


def _line_naming(root: Path, name: str, needle: str) -> int | None:
    """The first line of the template's own file that mentions `needle` (Jinja gives none)."""
    path = root / f"{name}{TEMPLATE_SUFFIX}"
    if not path.exists():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    return next((n for n, line in enumerate(lines, 1) if needle in line), None)


def compile_template(root: Path, name: str, brand: dict[str, Any] | None = None) -> CompiledEmail:
    """Assemble layout and partials, compile MJML to HTML, derive the text part."""
    import mjml

    _check_syntax(root, name)
    mjml_source = assemble(root, name, brand)
    try:
        html = mjml.mjml2html(mjml_source)
    except Exception as exc:  # mjml-python raises plain exceptions with the parser's message
        raise TemplateProblem(name, f"MJML: {exc}") from exc
    runtime = SandboxedEnvironment()
    try:
        runtime.parse(html)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(name, f"template syntax: {exc.message}") from exc
    return CompiledEmail(name, links.instrument(html), plaintext.from_html(html))


def _check_syntax(root: Path, name: str) -> None:
    """The per-recipient Jinja of the file as written, so a mistake is named with its line
    (once compiled, lines are MJML's, not the author's)."""
    source = (root / f"{name}{TEMPLATE_SUFFIX}").read_text(encoding="utf-8")
    env = SandboxedEnvironment()
    try:
        env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        unclosed = _unclosed(env, source) if "end of template" in str(exc.message) else None
        if unclosed is not None:
            tag, line = unclosed
            message = f"{{% {tag} %}} is never closed: add {{% end{tag} %}}"
            raise TemplateProblem(name, f"template syntax: {message}", line) from exc
        raise TemplateProblem(name, f"template syntax: {exc.message}", exc.lineno) from exc


_BLOCKS = frozenset({"if", "for", "macro", "call", "filter", "with", "autoescape"})


def _unclosed(env: jinja2.Environment, source: str) -> tuple[str, int] | None:
    """The innermost block tag left open, and its line (Jinja names the end of the file)."""
    opened: list[tuple[str, int]] = []
    after_begin = False
    try:
        for line, kind, value in env.lex(source):
            if kind == "whitespace":
                continue
            if after_begin and kind == "name":
                if value in _BLOCKS:
                    opened.append((value, line))
                elif value.startswith("end") and opened and opened[-1][0] == value[3:]:
                    opened.pop()
            after_begin = kind == "block_begin"
    except jinja2.TemplateSyntaxError:
        return None
    return opened[-1] if opened else None


def variables(source: str) -> set[str]:
    """Every name a template reads, with attribute paths: {'contact.first_name', 'links'}."""
    env = SandboxedEnvironment()
    env.filters.update(FILTERS)
    tree = env.parse(source)
    found = set(meta.find_undeclared_variables(tree))
    for node in tree.find_all(nodes.Getattr):
        path = [node.attr]
        target = node.node
        while isinstance(target, nodes.Getattr):
            path.insert(0, target.attr)
            target = target.node
        if isinstance(target, nodes.Name) and target.name in found:
            found.add(".".join([target.name, *path]))
    return found
