"""Which text encoding a CSV file is in, in the only order that is safe.

Excel writes three kinds of CSV: UTF-8 with a BOM ("CSV UTF-8"), UTF-16 with a BOM ("Unicode
text", tab-separated) and, on a Chinese Windows, GBK with no mark at all ("CSV"). A BOM says
for certain. Without one, strict UTF-8 comes first: text in another encoding almost never
decodes as UTF-8, while UTF-8 always "decodes" as GB18030 into garbage. What fails UTF-8 is
read as GB18030 (GBK's superset), unless it looks like Big5 or Shift-JIS, which GB18030 also
decodes without an error: that file is refused with a message naming `--encoding`.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable

SAMPLE = 1 << 20  # the look-alike check reads the first MiB that failed UTF-8
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_LOOKALIKES = ("big5", "shift_jis")
FOREIGN_SHARE = 0.2
"""GBK text from a Chinese team is nearly all GB2312's 6,763 common characters; Big5 or
Shift-JIS read as GBK lands mostly outside them."""


class EncodingError(ValueError):
    """The file's encoding cannot be told safely; the message names the option to use."""


def detect(chunks: Iterable[bytes]) -> str:
    """The codec name to read the file with, from its bytes in order (read once, streamed)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    sample = b""
    first = True
    for chunk in chunks:
        if first:
            for bom, name in _BOMS:
                if chunk.startswith(bom):
                    return name
            first = False
        if not sample:
            try:
                decoder.decode(chunk)
                continue
            except UnicodeDecodeError:
                pass
        sample += chunk[: SAMPLE - len(sample)]
        if len(sample) >= SAMPLE:
            break
    if not sample:
        try:
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:  # the file ends inside a character
            sample = b"\xff"
    if _mostly_utf8(sample):
        return UTF8_WITH_BAD_ROWS
    return _east_asian(sample)


UTF8_WITH_BAD_ROWS = "utf-8"
"""A UTF-8 file with a few rows in another encoding (pasted from elsewhere): it is read as
UTF-8 and those rows are rejected by name, instead of garbling every good row as GB18030."""
MOSTLY = 4


def _mostly_utf8(sample: bytes) -> bool:
    """Many well-formed multi-byte UTF-8 characters and few bad bytes: GBK text almost never
    forms UTF-8's three-byte sequences, which is what Chinese in UTF-8 is made of."""
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    wide = sum(1 for c in text if "\u0800" <= c <= "\uffff" and c != "\ufffd")
    return wide >= MOSTLY * max(bad, 1)


def _east_asian(sample: bytes) -> str:
    try:
        text = sample.decode("gb18030")
    except UnicodeDecodeError:
        text = sample.decode("gb18030", errors="ignore")
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return "gb18030"
    foreign = sum(1 for c in wide if not _in_gb2312(c)) / len(wide)
    if foreign > FOREIGN_SHARE and any(_decodes(sample, name) for name in _LOOKALIKES):
        raise EncodingError(
            "the file is not UTF-8 and reads like Big5 or Shift-JIS rather than GBK: "
            "say which with --encoding (big5, shift_jis or gb18030), or save it from Excel "
            'as "CSV UTF-8"'
        )
    return "gb18030"


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _decodes(sample: bytes, name: str) -> bool:
    # The sample may end inside a character: judge what comes before.
    decoder = codecs.getincrementaldecoder(name)("strict")
    try:
        decoder.decode(sample)
    except UnicodeDecodeError:
        return False
    return True


def known(name: str) -> str:
    """A codec name given with --encoding, checked (EncodingError names the option)."""
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        raise EncodingError(f"--encoding: {name!r} is not an encoding Python knows") from None
