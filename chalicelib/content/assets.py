"""Downloadable files in marketing/assets/: checked at validate, published with the content.

A file is served by the API at /assets/{name} from what `publish` stored, the same way locally
and on AWS. The API answers through Lambda, whose answer is at most 6 MB with the file base64
encoded in it; so a file is at most 4 MiB, and bigger ones belong on a CDN (a form's
download takes a `url` instead of a `file` for those).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from chalicelib.errors import ContentProblem
from chalicelib.leads.downloads import (
    NAME,
    NAME_RULE,
    TYPES_RULE,
    FileType,
    file_type,
)

MAX_BYTES = 4 * 1024 * 1024
TOO_LARGE = (
    f"is over {MAX_BYTES // (1024 * 1024)} MiB, the most the API serves (a Lambda answer is"
    " at most 6 MB); put the file on a CDN and give the form's download a url instead"
)


@dataclass(frozen=True)
class Asset:
    name: str
    data: bytes

    @property
    def type(self) -> FileType:
        found = file_type(self.name)
        assert found is not None, "load() keeps only files of a known type"
        return found

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def to_body(self) -> dict[str, object]:
        """What is published under the name; the bytes are stored apart, by their digest."""
        return {
            "name": self.name,
            "media_type": self.type.media_type,
            "size": len(self.data),
            "sha256": self.sha256,
        }


def problem_of(name: str, size: int, head: bytes) -> str | None:
    """Why a file cannot be served, or None; `head` is the file's first bytes."""
    if not NAME.match(name):
        return f"the file name {name!r} cannot be a URL: {NAME_RULE}"
    kind = file_type(name)
    if kind is None:
        return f"the API serves only {TYPES_RULE} files; name the file with one of these endings"
    if size > MAX_BYTES:
        return f"the file is {size:,} bytes and {TOO_LARGE}"
    if not head.startswith(kind.magic):
        return f"the file is not a {name.rsplit('.', 1)[-1]} file (it does not begin as one does)"
    return None


def files(root: Path) -> list[Path]:
    """What is in `root` (marketing/assets/), but hidden files such as .DS_Store."""
    found = sorted(root.iterdir()) if root.is_dir() else []
    return [path for path in found if not path.name.startswith(".")]


def load(paths: list[Path], display: str, problems: list[ContentProblem]) -> dict[str, Asset]:
    """The files among `paths` that can be served, by name; a problem for each other one (a
    folder too: the API serves only the files directly in assets/)."""
    found: dict[str, Asset] = {}
    for path in paths:
        shown = f"{display}/{path.name}"
        if path.is_dir():
            problems.append(
                ContentProblem(shown, None, "", "only files directly in assets/ are published")
            )
            continue
        with path.open("rb") as file:
            head = file.read(16)
        problem = problem_of(path.name, path.stat().st_size, head)
        if problem:
            problems.append(ContentProblem(shown, None, "", problem))
            continue
        found[path.name] = Asset(path.name, path.read_bytes())
    return found
