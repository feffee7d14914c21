"""What a visitor reads beside a field the form refused, in the form's language.

Capture names each bad field with an English rule ("is required"); a Chinese landing page
shows it in Chinese. Rules without a translation keep their English words: a visitor is
better served by an English hint than by none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from chalicelib.errors import FieldError
from chalicelib.leads.form_language import FieldType, Form

# Exact rules capture gives (leads/capture.py, leads/normalise.py) -> Chinese.
_ZH = {
    "is required": "此项必填",
    "must be accepted": "请勾选同意后提交",
    "an email or a phone number is required": "请填写邮箱或手机号",
    "is not a phone number": "手机号格式不正确",
    "is not a valid phone number": "手机号格式不正确",
    "is not an ISO 3166 two-letter country code": "请填写两位国家或地区代码，例如 CN",
    "is not an http(s) URL": "请填写以 http:// 或 https:// 开头的网址",
    "has the wrong format": "格式不正确",
    "is not a number": "请填写数字",
    "is not one of the options": "请从选项中选择",
    "must not contain HTML or script markup": "不能包含 HTML 或脚本代码",
    "the challenge was not passed: please try it again": "人机验证未通过，请重新验证后提交",
    "is sensitive information: it needs your separate consent to be kept": (
        "属于敏感个人信息，需要您单独同意后才能提交"
    ),
}
_ZH_PATTERNS = (
    (re.compile(r"^is longer than (\d+) characters$"), "不能超过 {0} 个字符"),
    (re.compile(r"^must be at least (.+)$"), "不能小于 {0}"),
    (re.compile(r"^must be at most (.+)$"), "不能大于 {0}"),
)
_EMAIL_ZH = "邮箱地址格式不正确"
SUMMARY = {"en": "Please check the highlighted fields.", "zh-CN": "请检查标出的内容后重新提交。"}
_OWN_LABELS = {"consent": "Consent", "captcha": "Verification"}
BACK = {"en": "Back to the page you came from", "zh-CN": "返回来源页面"}


def _zh(rule: str, kind: FieldType | None) -> str:
    if rule in _ZH:
        return _ZH[rule]
    for pattern, words in _ZH_PATTERNS:
        if found := pattern.match(rule):
            return words.format(*found.groups())
    return _EMAIL_ZH if kind is FieldType.EMAIL else rule


def messages(form: Form, errors: Iterable[FieldError]) -> dict[str, str]:
    """Field name -> the sentence shown beside it, in the form's language."""
    kinds = {f.name: f.type for f in form.fields}
    labels = {f.name: f.display_label for f in form.fields}
    out: dict[str, str] = {}
    for error in errors:
        if form.language.startswith("zh"):
            text = _zh(error.message, kinds.get(error.field))
        else:
            own = "Consent" if error.field.startswith("consent_") else None
            label = labels.get(error.field, _OWN_LABELS.get(error.field, own))
            joiner = ": " if error.message[:1].isupper() else " "  # a sentence, or a rule
            text = f"{label}{joiner}{error.message}" if label else error.message
        out.setdefault(error.field, text)
    return out
