"""Attribution: channel, source and campaign from UTMs, click ids and referrers (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.leads.attribution import touch

AT = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "referer", "channel", "source"),
    [
        ({"utm_source": "google", "utm_medium": "cpc"}, None, "paid_search", "google"),
        ({"gclid": "abc"}, None, "paid_search", "(direct)"),
        ({"referrer": "https://www.baidu.com/s?wd=leadflow"}, None, "organic_search", "baidu.com"),
        ({"referrer": "https://www.zhihu.com/question/1"}, None, "social", "zhihu.com"),
        ({"referrer": "https://partner.example.org/blog"}, None, "referral", "partner.example.org"),
        ({}, None, "direct", "(direct)"),
        ({}, "https://www.example.com/lp?utm_source=wechat&utm_medium=social", "social", "wechat"),
    ],
)
def test_channel_and_source(fields, referer, channel, source):
    result = touch(fields, referer, AT)

    assert (result["channel"], result["source"]) == (channel, source)


def test_the_form_campaign_applies_when_the_link_has_none():
    assert touch({}, None, AT, default_campaign="playbook-2026")["campaign"] == "playbook-2026"
    assert touch({"utm_campaign": "q4"}, None, AT, "playbook-2026")["campaign"] == "q4"


def test_utms_are_read_from_the_landing_page_when_not_posted():
    result = touch({"landing_page": "https://x.example/?utm_source=news&utm_term=crm"}, None, AT)

    assert (result["source"], result["term"]) == ("news", "crm")
