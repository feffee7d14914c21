"""Email templates: compiled once (layout, partials, MJML), rendered per contact in a sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chalicelib.cli import main
from chalicelib.messaging import compiler
from chalicelib.messaging.renderer import MissingValue, Renderer
from tests.builders import ROOT

TEMPLATES = ROOT / "templates"
BRAND = yaml.safe_load((TEMPLATES / "brand.yaml").read_text())
CONTEXT = {
    "subject": "Hello",
    "unsubscribe_url": "https://leads.example.com/u/tok",
    "assets_url": "https://leads.example.com/assets",
}


def _compiled(name: str):
    return compiler.compile_template(TEMPLATES, name, BRAND)


@pytest.mark.parametrize("name", compiler.names(TEMPLATES))
def test_every_sample_compiles_with_its_layout_footer_and_text_part(name):
    email = _compiled(name)
    assert "[%" not in email.html and "<mj-" not in email.html
    assert BRAND["postal_address"] in email.html and "{{ unsubscribe_url }}" in email.html
    assert "{{ unsubscribe_url }}" in email.text and "<" not in email.text.replace("{{", "")


def test_rendering_personalises_with_contact_fields_and_defaults():
    email = _compiled("playbook-thank-you")
    ada = Renderer().render(email, {**CONTEXT, "contact": {"first_name": "Ada"}})
    nobody = Renderer().render(email, {**CONTEXT, "contact": {}})
    assert "Your playbook is ready, Ada" in ada.text
    assert "Your playbook is ready, there" in nobody.text
    assert "https://leads.example.com/u/tok" in ada.html
    assert 'href="https://leads.example.com/assets/playbook-2026.pdf"' in ada.html


def test_a_contact_named_like_a_script_is_escaped_in_the_html():
    email = _compiled("playbook-thank-you")
    contact = {"first_name": "<script>alert(1)</script>"}
    rendered = Renderer().render(email, {**CONTEXT, "contact": contact})
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "<script>alert(1)" not in rendered.html


def test_the_chinese_sample_keeps_its_language_and_footer():
    rendered = Renderer().render(_compiled("newsletter-welcome-zh"), {**CONTEXT, "contact": {}})
    assert 'lang="zh-CN"' in rendered.html
    assert "您好，欢迎订阅增长周刊" in rendered.text and "退订或管理订阅偏好" in rendered.text


def test_a_missing_value_fails_the_render_instead_of_leaving_a_blank():
    with pytest.raises(MissingValue, match="unsubscribe_url"):
        Renderer().render(
            _compiled("playbook-thank-you"),
            {"subject": "x", "contact": {}, "assets_url": CONTEXT["assets_url"]},
        )


def test_variables_lists_what_a_compiled_email_reads():
    found = compiler.variables(_compiled("playbook-thank-you").html)
    assert {"contact.first_name", "unsubscribe_url", "subject"} <= found


def _write(root: Path, name: str, text: str) -> None:
    path = root / f"{name}.mjml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_broken_template_names_its_file_and_the_problem(tmp_path):
    _write(tmp_path, "bad", '[% extends "layouts/nope.mjml" %]')
    with pytest.raises(compiler.TemplateProblem, match=r"templates/bad\.mjml:1: no such template"):
        compiler.compile_template(tmp_path, "bad")
    _write(tmp_path, "syntax", "<mjml><mj-body>{{ contact.first_name </mj-body></mjml>")
    with pytest.raises(compiler.TemplateProblem, match=r"syntax\.mjml:1: template syntax"):
        compiler.compile_template(tmp_path, "syntax")


def test_preview_writes_the_html_and_text_parts(tmp_path, capsys):
    code = main(
        [
            "preview",
            "playbook-thank-you",
            "--contact",
            '{"first_name": "Ada"}',
            "--templates",
            str(TEMPLATES),
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    assert "Ada" in (tmp_path / "playbook-thank-you.html").read_text()
    assert "Your playbook is ready, Ada" in (tmp_path / "playbook-thank-you.txt").read_text()
