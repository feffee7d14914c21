"""Write marketing/assets/playbook-2026.pdf, the whitepaper form's sample download.

A one-page PDF in the standard Helvetica fonts, made by hand so the sample needs no PDF
library; the output is the same bytes every run (no creation date), so the committed file can
be checked against it. Run: .venv/bin/python -m tests.sample_pdf
"""

from __future__ import annotations

from pathlib import Path

TITLE = "The Lead Engine Playbook 2026"
LINES = (
    "Sample edition: the file the whitepaper form in Leadflow's samples offers for download.",
    "",
    "Chapter 2: first touch, last touch, and the ten touches in between.",
    "Chapter 5: a lead score your sales team will not ignore.",
    "Chapter 7: the shared pool for leads nobody follows up.",
    "",
    "Replace this file with your own in marketing/assets/, then run:",
    "./leadflow validate && ./leadflow publish",
)
OUT = Path(__file__).resolve().parent.parent / "marketing" / "assets" / "playbook-2026.pdf"


def _text(value: str) -> bytes:
    """A PDF literal string: backslashes and parentheses escaped."""
    escaped = value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("ascii") + b")"


def _page_content(title: str, lines: tuple[str, ...]) -> bytes:
    body = [b"BT /F1 24 Tf 72 700 Td " + _text(title) + b" Tj ET", b"BT /F2 12 Tf 16 TL 72 660 Td"]
    for line in lines:
        body.append(_text(line) + b" Tj T*")
    body.append(b"ET")
    return b"\n".join(body) + b"\n"


def pdf(title: str, lines: tuple[str, ...]) -> bytes:
    """A valid one-page US Letter PDF: the title in bold, then one line of text per line."""
    content = _page_content(title, lines)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
        b" /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
        b"<< /Title " + _text(title) + b" /Author (Leadflow) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


if __name__ == "__main__":
    OUT.write_bytes(pdf(TITLE, LINES))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
