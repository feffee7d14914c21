"""YAML with positions, so every content error can name its file and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chalicelib.errors import ContentError, ContentProblem

Loc = tuple[str | int, ...]


@dataclass
class SourceDoc:
    path: str
    data: Any
    lines: dict[Loc, int]

    def line_of(self, loc: Loc) -> int | None:
        """The line of the deepest node of `loc` that exists in the file."""
        for depth in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:depth]))
            if line is not None:
                return line
        return None

    def problem(self, loc: Loc, message: str) -> ContentProblem:
        return ContentProblem(self.path, self.line_of(loc), _dotted(loc), message)


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _index(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*loc, key_node.value)
            _index(value_node, child, lines)
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*loc, i), lines)


def load_yaml(path: Path, display: str | None = None) -> SourceDoc:
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError([ContentProblem(name, None, "", f"not UTF-8 text: {exc}")]) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ContentError(
            [ContentProblem(name, line, "", f"invalid YAML: {exc.problem}")]
        ) from exc
    lines: dict[Loc, int] = {}
    if node is not None:
        _index(node, (), lines)
    return SourceDoc(name, data, lines)
