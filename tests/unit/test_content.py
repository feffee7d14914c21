"""Form content: validation messages name file, line and field (publishing, which is
versioned: tests/integration/test_content.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from chalicelib.cli import main
from chalicelib.content import catalog
from tests.builders import ROOT


def _write(root: Path, name: str, text: str) -> Path:
    forms = root / "marketing" / "forms"
    forms.mkdir(parents=True, exist_ok=True)
    path = forms / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root / "marketing"


VALID = textwrap.dedent("""\
    name: Demo request
    fields:
      - name: email
        type: email
        required: true
""")


def test_the_sample_content_is_valid():
    content = catalog.load(ROOT / "marketing")

    assert content.problems == []
    assert {"whitepaper", "newsletter"} <= set(content.forms)


def test_a_bad_field_type_is_reported_with_file_line_and_field(tmp_path, capsys):
    root = _write(
        tmp_path,
        "demo.yaml",
        """\
        name: Demo request
        fields:
          - name: email
            type: email
          - name: size
            type: dropdown
    """,
    )

    code = main(["validate", str(root)])

    err = capsys.readouterr().err
    assert code == 1
    assert "marketing/forms/demo.yaml:6: fields[1].type: should be 'text'" in err


def test_a_misspelt_setting_is_named(tmp_path):
    root = _write(tmp_path, "demo.yaml", VALID + "thank_yuo:\n  message: hi\n")

    (problem,) = catalog.load(root).problems

    assert (problem.line, problem.field) == (6, "thank_yuo")
    assert "not a known setting" in problem.message


def test_a_form_without_an_identity_field_is_refused(tmp_path):
    root = _write(tmp_path, "demo.yaml", "name: x\nfields:\n  - name: company\n")

    (problem,) = catalog.load(root).problems

    assert "needs an email or a phone field" in problem.message
    assert problem.line == 1


def test_invalid_yaml_names_the_line(tmp_path):
    root = _write(tmp_path, "demo.yaml", VALID + "consent: [unclosed\n")

    (problem,) = catalog.load(root).problems

    assert problem.line == 7
    assert "invalid YAML" in problem.message
