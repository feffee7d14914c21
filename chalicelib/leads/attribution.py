"""Where a lead came from: UTM parameters, click ids, referrer and landing page -> a Touch.

The first touch is kept on the contact forever; every touch is kept on its event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlsplit

from chalicelib import payload

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
CLICK_IDS = {
    "gclid": "paid_search",
    "msclkid": "paid_search",
    "fbclid": "paid_social",
    "ttclid": "paid_social",
    "li_fat_id": "paid_social",
}
TOUCH_FIELDS = (*UTM_FIELDS, *CLICK_IDS, "referrer", "landing_page", "page_url")
_SEARCH = (
    "google.",
    "bing.",
    "baidu.",
    "yahoo.",
    "duckduckgo.",
    "yandex.",
    "sogou.",
    "so.com",
    "ecosia.",
    "naver.",
)
_SOCIAL = (
    "facebook.",
    "instagram.",
    "linkedin.",
    "lnkd.in",
    "t.co",
    "twitter.",
    "x.com",
    "weibo.",
    "zhihu.",
    "douyin.",
    "xiaohongshu.",
    "youtube.",
    "reddit.",
    "wechat.",
    "weixin.qq.com",
    "tiktok.",
)
_PAID_MEDIUMS = {"cpc", "ppc", "paid", "paidsearch", "paid_search", "sem", "cpm", "display"}


def _clean(value: Any, limit: int = 500) -> str | None:
    """Text worth keeping: what a URL's query decodes to may be a NUL or a control."""
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] if text and payload.text_fault(text) is None else None


def _split(url: str) -> SplitResult | None:
    """The URL's parts, or None for one that does not parse (`http://[oops`): attribution
    is what can be read from a visit, never a reason to lose the lead."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def _host(url: str | None) -> str | None:
    if not url:
        return None
    parts = _split(url if "//" in url else f"//{url}")
    host = parts.hostname if parts else None
    return host.lower() if host else None


def _channel(
    medium: str | None,
    source: str | None,
    click: str | None,
    referrer_host: str | None,
    own_host: str | None,
) -> str:
    if click:
        return CLICK_IDS[click]
    if medium:
        m = medium.lower()
        if m in _PAID_MEDIUMS:
            return (
                "paid_search"
                if m in {"cpc", "ppc", "paidsearch", "paid_search", "sem"}
                else "display"
            )
        if m in {"email", "e-mail", "newsletter", "edm"}:
            return "email"
        if m in {"social", "social-media", "paid_social", "paidsocial"}:
            return "paid_social" if "paid" in m else "social"
        if m in {"referral", "affiliate", "partner"}:
            return "referral"
        if m == "organic":
            return "organic_search"
        return "other"
    if referrer_host and referrer_host != own_host:
        if any(s in referrer_host for s in _SEARCH):
            return "organic_search"
        if any(s in referrer_host for s in _SOCIAL):
            return "social"
        return "referral"
    return "other" if source else "direct"


def touch(
    fields: Mapping[str, Any],
    referer_header: str | None,
    at: datetime,
    default_campaign: str | None = None,
    form_id: str | None = None,
) -> dict[str, Any]:
    """Build the attribution of one interaction from submitted fields and the Referer header."""
    landing = _clean(fields.get("landing_page") or fields.get("page_url") or referer_header, 2000)
    parts = _split(landing) if landing else None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()} if parts else {}

    def pick(name: str) -> str | None:
        return _clean(fields.get(name)) or _clean(query.get(name))

    utm = {name: pick(name) for name in UTM_FIELDS}
    click = next((name for name in CLICK_IDS if pick(name)), None)
    referrer = _clean(fields.get("referrer"), 2000)
    referrer_host = _host(referrer)
    source = utm["utm_source"] or (referrer_host.removeprefix("www.") if referrer_host else None)
    result: dict[str, Any] = {
        "at": at.isoformat(),
        "channel": _channel(
            utm["utm_medium"], utm["utm_source"], click, referrer_host, _host(landing)
        ),
        "source": source or "(direct)",
        "medium": utm["utm_medium"] or ("referral" if referrer_host else "(none)"),
        "campaign": utm["utm_campaign"] or default_campaign,
        "term": utm["utm_term"],
        "content": utm["utm_content"],
        "referrer": referrer,
        "landing_page": landing,
        "click_id": f"{click}:{pick(click)}" if click else None,
        "form_id": form_id,
    }
    return {k: v for k, v in result.items() if v is not None}
