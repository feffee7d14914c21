"""Downloadable files in marketing/assets/: checked at validate, published with the content.

A file is served by the API at /assets/{name} from what `publish` stored, the same way locally
and on AWS. The API answers through Lambda, whose answer is at most 6 MB with the file base64
encoded in it; so a file is at most 4 MiB, and bigger ones belong on a CDN (a form's
download takes a `url` instead of a `file` for those).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from chalicelib.errors import ContentProblem

KIND = "asset"  # the content kind a file's description is published as
FOLDER = "assets"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
NAME_RULE = (
    "use lower-case letters, digits, '.', '-' and '_', at most 100 characters,"
    " like playbook-2026.pdf"
)
MAX_BYTES = 4 * 1024 * 1024
TOO_LARGE = (
    f"is over {MAX_BYTES // (1024 * 1024)} MiB, the most the API serves (a Lambda answer is"
    " at most 6 MB); put the file on a CDN and give the form's download a url instead"
)


@dataclass(frozen=True)
class FileType:
    media_type: str
    # Shown by the browser (a PDF, an image) rather than saved: Content-Disposition inline.
    inline: bool
    # How every file of the type begins, so a renamed file is caught at validate.
    magic: tuple[bytes, ...]


_ZIP = (b"PK\x03\x04",)
TYPES: dict[str, FileType] = {
    "pdf": FileType("application/pdf", True, (b"%PDF-",)),
    "png": FileType("image/png", True, (b"\x89PNG\r\n\x1a\n",)),
    "jpg": FileType("image/jpeg", True, (b"\xff\xd8\xff",)),
    "jpeg": FileType("image/jpeg", True, (b"\xff\xd8\xff",)),
    "gif": FileType("image/gif", True, (b"GIF87a", b"GIF89a")),
    "zip": FileType("application/zip", False, _ZIP),
    "docx": FileType(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", False, _ZIP
    ),
    "xlsx": FileType(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False, _ZIP
    ),
    "pptx": FileType(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation", False, _ZIP
    ),
}
MEDIA_TYPES = tuple(sorted({t.media_type for t in TYPES.values()}))
TYPES_RULE = ", ".join(TYPES)


def file_type(name: str) -> FileType | None:
    """The type a file name's extension stands for, or None for one not served."""
    return TYPES.get(name.rsplit(".", 1)[-1]) if "." in name else None


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
