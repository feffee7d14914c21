"""What a form's thank-you download may be: a file name that is a URL path, of a type the
API serves. The form language checks a download against these rules, and validate and
publish check each file in marketing/assets/ against them too."""

from __future__ import annotations

import re
from dataclasses import dataclass

KIND = "asset"  # the content kind a file's description is published as
FOLDER = "assets"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
NAME_RULE = (
    "use lower-case letters, digits, '.', '-' and '_', at most 100 characters,"
    " like playbook-2026.pdf"
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
