"""Files in marketing/assets/: checked at validate. (Publishing: tests/integration/test_assets.py;
serving: tests/e2e/test_assets.py.)"""

from __future__ import annotations

import textwrap
from pathlib import Path

from chalicelib.cli import main
from chalicelib.content import assets, catalog
from tests.builders import ROOT

PDF = b"%PDF-1.4\n" + b"sample page\n" * 20
FORM = textwrap.dedent("""\
    name: Demo request
    fields:
      - name: email
        type: email
        required: true
""")


def _marketing(root: Path, files: dict[str, bytes] | None = None, form: str = FORM) -> Path:
    """A marketing/ folder with one form and `files` in assets/."""
    (root / "marketing" / "forms").mkdir(parents=True)
    (root / "marketing" / "forms" / "demo.yaml").write_text(form, encoding="utf-8")
    (root / "marketing" / "assets").mkdir()
    for name, data in (files or {}).items():
        (root / "marketing" / "assets" / name).write_bytes(data)
    return root / "marketing"


def test_a_file_in_assets_is_validated_with_the_content(tmp_path, capsys):
    root = _marketing(tmp_path, {"guide.pdf": PDF})

    code = main(["validate", str(root)])

    assert code == 0
    assert capsys.readouterr().out.startswith("ok: 2 file(s)")


def test_a_file_over_the_limit_is_refused_with_the_cdn_alternative(tmp_path, capsys):
    root = _marketing(tmp_path, {"big.pdf": PDF + b"0" * assets.MAX_BYTES})

    code = main(["validate", str(root)])

    err = capsys.readouterr().err
    assert code == 1
    size = len(PDF) + assets.MAX_BYTES
    assert f"marketing/assets/big.pdf: the file is {size:,} bytes and is over 4 MiB" in err
    assert "put the file on a CDN and give the form's download a url instead" in err


def test_a_file_name_that_cannot_be_a_url_is_refused(tmp_path):
    root = _marketing(tmp_path)
    (root / "assets" / "Playbook 2026.pdf").write_bytes(PDF)

    (problem,) = catalog.load(root).problems

    assert problem.path == "marketing/assets/Playbook 2026.pdf"
    assert "cannot be a URL: use lower-case letters, digits" in problem.message


def test_a_file_of_a_type_the_api_does_not_serve_is_refused(tmp_path):
    root = _marketing(tmp_path, {"setup.exe": b"MZ\x90\x00"})

    (problem,) = catalog.load(root).problems

    assert problem.path == "marketing/assets/setup.exe"
    assert problem.message.startswith("the API serves only pdf, png, jpg, jpeg, gif, zip, docx")


def test_a_file_that_is_not_what_its_name_says_is_refused(tmp_path):
    root = _marketing(tmp_path, {"guide.pdf": b"<html><script>alert(1)</script></html>"})

    (problem,) = catalog.load(root).problems

    assert problem.message == "the file is not a pdf file (it does not begin as one does)"


def test_hidden_files_are_left_out_and_folders_named(tmp_path):
    root = _marketing(tmp_path, {"guide.pdf": PDF})
    (root / "assets" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "assets" / "old").mkdir()

    content = catalog.load(root)

    assert list(content.assets) == ["guide.pdf"]
    assert [(p.path, p.message) for p in content.problems] == [
        ("marketing/assets/old", "only files directly in assets/ are published")
    ]


def test_the_sample_playbook_is_the_pdf_its_generator_writes():
    from tests import sample_pdf

    written = (ROOT / "marketing" / "assets" / "playbook-2026.pdf").read_bytes()

    assert written == sample_pdf.pdf(sample_pdf.TITLE, sample_pdf.LINES)
    assert b"/Title (The Lead Engine Playbook 2026)" in written


# --- the thank-you page's download -----------------------------------------------------------


def _offering(download: str, redirect: str = "") -> str:
    """FORM with a thank-you that offers `download` (YAML lines under download:)."""
    lines = textwrap.indent(textwrap.dedent(download), "    ")
    return FORM + "thank_you:\n" + redirect + "  download:\n" + lines


def test_a_download_of_a_file_assets_lacks_is_named_with_its_line(tmp_path, capsys):
    form = _offering("""\
        label: Get the guide
        file: guide.pdf
    """)
    root = _marketing(tmp_path, {"other.pdf": PDF}, form=form)

    code = main(["validate", str(root)])

    err = capsys.readouterr().err
    assert code == 1
    assert (
        "marketing/forms/demo.yaml:9: thank_you.download.file:"
        " there is no file 'guide.pdf' in marketing/assets/"
    ) in err


def test_a_download_name_that_cannot_be_served_is_named_with_its_line(tmp_path):
    form = _offering("""\
        label: Get the guide
        file: Guide.PDF
    """)
    root = _marketing(tmp_path, form=form)

    (problem,) = catalog.load(root).problems

    assert (problem.line, problem.field) == (9, "thank_you.download.file")
    assert problem.message.startswith("names a file in marketing/assets/: use lower-case")


def test_a_download_needs_a_file_or_an_https_url(tmp_path):
    both = _offering("""\
        label: Get the guide
        file: guide.pdf
        url: https://cdn.example.com/guide.pdf
    """)
    plain_http = _offering("""\
        label: Get the guide
        url: http://cdn.example.com/guide.pdf
    """)
    first = catalog.load(_marketing(tmp_path / "a", {"guide.pdf": PDF}, form=both)).problems
    second = catalog.load(_marketing(tmp_path / "b", form=plain_http)).problems

    assert [(p.line, p.field, p.message) for p in first + second] == [
        (7, "thank_you.download", "give file (a file in marketing/assets/) or url, one of the two"),
        (
            9,
            "thank_you.download.url",
            "must be an https:// URL, like https://cdn.example.com/guide.pdf",
        ),
    ]


def test_a_redirect_that_skips_the_page_offering_the_download_is_named(tmp_path):
    form = _offering(
        """\
        label: Get the guide
        file: guide.pdf
    """,
        redirect="  redirect: https://www.example.com/thanks\n",
    )

    (problem,) = catalog.load(_marketing(tmp_path, {"guide.pdf": PDF}, form=form)).problems

    assert (problem.line, problem.field) == (7, "thank_you.redirect")
    assert "instead of the thank-you page that offers download" in problem.message
