"""Which contact field each column of an imported file fills, in English or Chinese.

A header that is already a field's name (`role`, `job_title`, as an export writes them) is
that field, except names of an email, a phone, tags or consent (`mobile` is the phone).
Others are matched after NFKC, lower case and with decorations dropped (`邮箱*`, `Email
(work)`, `Job Title`), so what CRMs and Excel templates write maps without a mapping file. A
header that names nothing known becomes a custom field when it spells one (`lead_score`,
`Budget 2026` -> `budget_2026`); a Chinese header that names nothing known needs a line in the
mapping file, and until then is reported as ignored. The mapping file wins over every guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from chalicelib.leads.fields import name_fault

EMAIL, PHONE, TAGS, CONSENT = "email", "phone", "tags", "consent"
SPECIAL = (EMAIL, PHONE, TAGS, CONSENT)
"""Columns that are not profile fields: the identity, the tags, the consent."""

_KNOWN: dict[str, tuple[str, ...]] = {
    EMAIL: (
        "email",
        "e mail",
        "email address",
        "mail",
        "work email",
        "邮箱",
        "电子邮箱",
        "电子邮件",
        "邮件",
        "邮箱地址",
        "郵箱",
        "電子郵件",
    ),
    PHONE: (
        "phone",
        "mobile",
        "mobile phone",
        "cell",
        "cell phone",
        "tel",
        "telephone",
        "phone number",
        "mobile number",
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "联系电话",
        "移动电话",
        "手機",
        "電話",
    ),
    "name": ("name", "full name", "contact name", "contact", "姓名", "名字", "联系人", "客户姓名"),
    "first_name": ("first name", "firstname", "given name", "forename", "名"),
    "last_name": ("last name", "lastname", "surname", "family name", "姓"),
    "company": (
        "company",
        "company name",
        "organization",
        "organisation",
        "account",
        "account name",
        "employer",
        "公司",
        "公司名称",
        "单位",
        "企业",
        "企业名称",
        "工作单位",
    ),
    "job_title": (
        "job title",
        "title",
        "position",
        "role",
        "job",
        "职位",
        "职务",
        "岗位",
        "头衔",
        "職位",
    ),
    "province": ("province", "state", "region", "state province", "省份", "省", "地区", "所在省份"),
    "city": ("city", "town", "城市", "市", "所在城市"),
    "country": ("country", "country region", "国家", "国家地区"),
    "industry": ("industry", "sector", "行业", "所属行业"),
    "source": ("source", "lead source", "channel", "来源", "线索来源", "渠道", "客户来源"),
    "company_size": ("company size", "employees", "headcount", "公司规模", "员工人数"),
    "website": ("website", "web site", "url", "网站", "官网"),
    "notes": ("notes", "note", "comment", "comments", "remark", "remarks", "备注", "说明"),
    TAGS: ("tags", "tag", "labels", "label", "标签"),
    CONSENT: (
        "consent",
        "marketing consent",
        "opt in",
        "optin",
        "is subscribed",
        "email subscription",
        "accepts marketing",
        "email opt in",
        "同意",
        "营销同意",
        "是否同意",
        "订阅",
        "同意营销",
        "是否订阅",
        "是否同意营销",
        "营销许可",
        "接受营销",
    ),
}
_ALIASES = {alias: target for target, aliases in _KNOWN.items() for alias in aliases}
_DECORATION = re.compile(r"[*＊:：]|\(.*?\)|（.*?）|\[.*?\]")
_SEPARATORS = re.compile(r"[\s_\-./]+")
_SLUG = re.compile(r"[^a-z0-9]+")
_IDENT = re.compile(r"[a-z][a-z0-9_]{0,62}")


def canonical(header: str) -> str:
    text = unicodedata.normalize("NFKC", header).lower()
    text = _DECORATION.sub(" ", text)
    return _SEPARATORS.sub(" ", text).strip()


def slug(header: str) -> str:
    return _SLUG.sub("_", canonical(header)).strip("_")


@dataclass(frozen=True)
class Mapping:
    """Column index -> field, and what was left out and why."""

    fields: dict[int, str]
    ignored: dict[str, str] = field(default_factory=dict)
    """Header -> why it is not imported."""

    def column(self, target: str) -> int | None:
        return next((i for i, name in self.fields.items() if name == target), None)

    @property
    def identifies(self) -> bool:
        return EMAIL in self.fields.values() or PHONE in self.fields.values()


class MappingError(ValueError):
    """The mapping file or the header cannot be used; the message names the column."""


def map_columns(header: list[str], given: dict[str, Any] | None = None) -> Mapping:
    """Guess each column's field; `given` (header -> field, or null to skip) wins."""
    given = given or {}
    fields: dict[int, str] = {}
    ignored: dict[str, str] = {}
    # What the mapping file names is kept first: a guess never takes a field it gives.
    chosen: dict[str, str] = {}
    for title, target in given.items():
        if target is None:
            continue
        if target in chosen:
            raise MappingError(
                f"mapping file: {chosen[target]!r} and {title!r} both map to {target}"
            )
        chosen[target] = title
    for index, title in enumerate(header):
        title = title.strip()
        if not title:
            continue
        if title in given:
            target = given[title]
            if target is None:
                ignored[title] = "skipped by the mapping file"
                continue
        elif _IDENT.fullmatch(title) and _ALIASES.get(title) not in SPECIAL:
            target = title  # already a field's own name (an export's header): itself
        else:
            target = _ALIASES.get(canonical(title)) or slug(title)
        if target not in SPECIAL and name_fault(target):
            if title in given:
                raise MappingError(f"mapping file: {title!r}: {name_fault(target)}")
            ignored[title] = "no field of that name: map it in a mapping file (column: field_name)"
            continue
        if title not in given and target in chosen:
            ignored[title] = f"the mapping file fills {target} from {chosen[target]!r}"
            continue
        if target in fields.values():
            first = header[next(i for i, t in fields.items() if t == target)]
            ignored[title] = f"{first!r} already fills {target}"
            continue
        fields[index] = target
    for title in given:
        if title not in [h.strip() for h in header]:
            raise MappingError(f"mapping file: the file has no column {title!r}")
    if EMAIL not in fields.values() and PHONE not in fields.values():
        raise MappingError(
            "no column holds an email address or a phone number (邮箱 or 手机): name one "
            "in the header or in a mapping file"
        )
    return Mapping(fields, ignored)
