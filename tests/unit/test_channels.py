"""Each channel gets the exact request its documentation asks for, and its answers are read right.

Signatures are checked independently: the generic webhook with the `standardwebhooks`
library, DingTalk and Feishu by recomputing their documented HMACs here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.messaging import channels, webhook_signature
from chalicelib.messaging.channels import KINDS, ChannelKind, Notice

AT = datetime(2026, 11, 23, 9, 30, 15, 123000, tzinfo=UTC)
LINK = "https://app.leadflow.test/leads/lead_123"
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send?access_token=abc123"
DINGTALK_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
FEISHU_URL = "https://open.feishu.cn/open-apis/bot/v2/hook/8f1c-2d3e"
URLS = {
    "webhook": "https://crm.example.com/hooks/leadflow",
    "slack": "https://hooks.slack.com/services/T000/B000/XXXX",
    "wecom": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx",
    "dingtalk": DINGTALK_URL,
    "feishu": FEISHU_URL,
}
CHINESE_TITLE = "热门线索：张伟（华为）"

NOTICE = Notice(
    type="lead.assigned",
    title="Hot lead: Grace Hopper (Acme) – score 85",
    facts=(("Company", "Acme"), ("Score", "85")),
    reasons=("+30 job title matches VP (fit.vp_title)", "+20 visited pricing twice"),
    link=LINK,
    data={"lead_id": "lead_123", "score": 85},
)


def _body(request: channels.Request) -> dict[str, Any]:
    return json.loads(request.body.decode("utf-8"))


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_kinds_lists_every_channel():
    assert KINDS == ("webhook", "slack", "wecom", "dingtalk", "feishu")


def test_generic_webhook_verifies_with_standard_webhooks_and_fails_when_tampered():
    secret = webhook_signature.new_secret()
    now = datetime.now(UTC)
    request = channels.build("webhook", URLS["webhook"], secret, NOTICE, "msg_1", now)

    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["webhook-id"] == "msg_1"
    assert request.headers["webhook-timestamp"] == str(int(now.timestamp()))
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload == {
        "type": "lead.assigned",
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {"lead_id": "lead_123", "score": 85},
    }
    assert payload["timestamp"].endswith("Z")

    tampered = request.body.replace(b"85", b"99")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, request.headers)


def test_an_old_timestamp_fails_verification():
    secret = webhook_signature.new_secret()
    then = datetime.now(UTC) - timedelta(minutes=10)  # a captured delivery, replayed later
    request = channels.build("webhook", URLS["webhook"], secret, NOTICE, "msg_1", then)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(request.body, request.headers)


def _docs_verifier():
    """The standard-library verifier docs/webhooks.md gives receivers, run as written."""
    text = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    source = next(b for b in blocks if "def verify(" in b)
    scope: dict[str, Any] = {}
    exec(compile(source, "docs/webhooks.md", "exec"), scope)
    return scope["verify"]


def test_the_receiver_example_in_the_docs_verifies_and_refuses():
    verify = _docs_verifier()
    secret = webhook_signature.new_secret()
    now = datetime.now(UTC)
    request = channels.build("webhook", URLS["webhook"], secret, NOTICE, "msg_1", now)
    assert verify(secret, request.body, request.headers)
    assert not verify(secret, request.body.replace(b"85", b"99"), request.headers)
    assert not verify(webhook_signature.new_secret(), request.body, request.headers)
    old = channels.build(
        "webhook", URLS["webhook"], secret, NOTICE, "msg_1", now - timedelta(minutes=10)
    )
    assert not verify(secret, old.body, old.headers)


def test_generic_webhook_without_secret_still_identifies_the_message():
    request = channels.build(ChannelKind.WEBHOOK, URLS["webhook"], None, NOTICE, "msg_2", AT)

    assert request.headers == {
        "Content-Type": "application/json",
        "webhook-id": "msg_2",
        "webhook-timestamp": str(int(AT.timestamp())),
    }
    assert _body(request)["timestamp"] == "2026-11-23T09:30:15.123000Z"


def test_slack_message_has_header_facts_reasons_and_button():
    request = channels.build("slack", URLS["slack"], None, NOTICE, "msg_3", AT)
    message = _body(request)

    assert request.url == URLS["slack"]
    assert request.headers == {"Content-Type": "application/json; charset=utf-8"}
    assert message["text"] == NOTICE.title
    header, facts, reasons, actions = message["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": NOTICE.title}}
    assert facts["text"] == {"type": "mrkdwn", "text": "*Company:* Acme\n*Score:* 85"}
    assert reasons["text"]["text"].splitlines() == [
        "• +30 job title matches VP (fit.vp_title)",
        "• +20 visited pricing twice",
    ]
    assert actions["elements"] == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Open the lead"},
            "url": LINK,
        }
    ]


def test_slack_escapes_user_values_and_caps_the_header():
    notice = Notice(
        type="lead.assigned",
        title="A" * 200,
        facts=(("Note", "<script>alert(1)</script> & <!channel>"),),
    )
    message = _body(channels.build("slack", URLS["slack"], None, notice, "msg_4", AT))

    header, facts = message["blocks"]
    assert facts["text"]["text"] == (
        "*Note:* &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt;"
    )
    assert "<" not in facts["text"]["text"]
    assert len(header["text"]["text"]) == 150
    assert header["text"]["text"].endswith("…")


def test_wecom_markdown_message():
    request = channels.build("wecom", URLS["wecom"], None, NOTICE, "msg_5", AT)
    message = _body(request)

    assert request.url == URLS["wecom"]
    assert message["msgtype"] == "markdown"
    assert message["markdown"]["content"].splitlines() == [
        f"**{NOTICE.title}**",
        "> Company: Acme",
        "> Score: 85",
        "",
        "- +30 job title matches VP (fit.vp_title)",
        "- +20 visited pricing twice",
        f"[Open the lead]({LINK})",
    ]


def test_wecom_truncates_to_4096_bytes_without_splitting_characters():
    notice = Notice(
        type="lead.assigned",
        title=CHINESE_TITLE,
        facts=(("备注", "线" * 5000),),
        link=LINK,
    )
    request = channels.build("wecom", URLS["wecom"], None, notice, "msg_6", AT)
    content = _body(request)["markdown"]["content"]

    assert len(content.encode("utf-8")) <= 4096
    assert len(content.encode("utf-8")) > 4000
    assert content.startswith(f"**{CHINESE_TITLE}**\n> 备注: 线")
    assert content.endswith(f"线…\n[Open the lead]({LINK})")
    assert "\ufffd" not in content
    request.body.decode("utf-8", errors="strict")


def test_dingtalk_sign_matches_an_independent_computation():
    request = channels.build("dingtalk", DINGTALK_URL, DINGTALK_SECRET, NOTICE, "msg_7", AT)

    assert request.url.startswith(DINGTALK_URL + "&timestamp=")
    query = _query(request.url)
    assert query["access_token"] == "abc123"
    assert query["timestamp"] == "1795426215123"
    raw_sign = request.url.rsplit("&sign=", 1)[1]
    string_to_sign = f"{query['timestamp']}\n{DINGTALK_SECRET}".encode()
    mac = hmac.new(DINGTALK_SECRET.encode(), string_to_sign, hashlib.sha256).digest()
    assert unquote_plus(raw_sign) == base64.b64encode(mac).decode()

    message = _body(request)
    assert message["msgtype"] == "markdown"
    assert message["markdown"]["title"] == NOTICE.title
    text = message["markdown"]["text"]
    assert text.startswith(f"#### {NOTICE.title}\n\n- Company: Acme\n\n- Score: 85")
    assert text.endswith(f"[Open the lead]({LINK})")


def test_dingtalk_without_secret_or_query_leaves_or_starts_the_query():
    unsigned = channels.build("dingtalk", DINGTALK_URL, None, NOTICE, "msg_8", AT)
    assert unsigned.url == DINGTALK_URL

    bare = "https://oapi.dingtalk.com/robot/send"
    signed = channels.build("dingtalk", bare, DINGTALK_SECRET, NOTICE, "msg_8", AT)
    assert signed.url.startswith(bare + "?timestamp=1795426215123&sign=")


def test_feishu_card_and_sign_match_an_independent_computation():
    secret = "fs-secret-3kP9"
    request = channels.build("feishu", FEISHU_URL, secret, NOTICE, "msg_9", AT)
    message = _body(request)

    assert request.url == FEISHU_URL
    assert message["timestamp"] == "1795426215"
    key = f"{message['timestamp']}\n{secret}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert message["sign"] == expected

    assert message["msg_type"] == "interactive"
    card = message["card"]
    assert card["header"] == {
        "title": {"tag": "plain_text", "content": NOTICE.title},
        "template": "red",
    }
    div, action = card["elements"]
    assert div["tag"] == "div"
    assert div["text"]["tag"] == "lark_md"
    assert "Company: Acme" in div["text"]["content"]
    assert "- +20 visited pricing twice" in div["text"]["content"]
    assert action == {
        "tag": "action",
        "actions": [
            {
                "tag": "button",
                "text": {"tag": "plain_text", "content": "Open the lead"},
                "url": LINK,
                "type": "primary",
            }
        ],
    }


def test_feishu_without_secret_or_link():
    notice = Notice(type="lead.recycled", title="Back in the pool", facts=(("Owner", "Ann"),))
    message = _body(channels.build("feishu", FEISHU_URL, None, notice, "msg_10", AT))

    assert "sign" not in message
    assert "timestamp" not in message
    assert [e["tag"] for e in message["card"]["elements"]] == ["div"]


@pytest.mark.parametrize("kind", KINDS)
def test_chinese_text_survives_byte_exact(kind: str):
    notice = Notice(
        type="lead.assigned",
        title=CHINESE_TITLE,
        facts=(("公司", "华为技术有限公司"),),
        reasons=("+30 职位匹配：副总裁",),
        link=LINK,
        data={"title": CHINESE_TITLE, "公司": "华为"},
    )
    request = channels.build(kind, URLS[kind], None, notice, "msg_11", AT)

    text = request.body.decode("utf-8", errors="strict")
    assert "\\u" not in text
    assert CHINESE_TITLE.encode("utf-8") in request.body
    if kind != "webhook":
        assert "华为技术有限公司".encode() in request.body
        assert "+30 职位匹配：副总裁".encode() in request.body
    assert json.loads(text)


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("webhook", b""),
        ("slack", b"ok"),
        ("wecom", b'{"errcode":0,"errmsg":"ok"}'),
        ("dingtalk", b'{"errcode":0,"errmsg":"ok"}'),
        ("feishu", b'{"code":0,"data":{},"msg":"success"}'),
        ("feishu", b'{"Extra":null,"StatusCode":0,"StatusMessage":"success"}'),
    ],
)
def test_accepted_ok_answers(kind: str, body: bytes):
    assert channels.accepted(kind, 200, body) is None


def test_accepted_reports_refusals():
    wecom = channels.accepted("wecom", 200, b'{"errcode":93000,"errmsg":"invalid webhook url"}')
    assert wecom == "errcode 93000: invalid webhook url"
    dingtalk = channels.accepted(
        ChannelKind.DINGTALK, 200, b'{"errcode":310000,"errmsg":"sign not match"}'
    )
    assert dingtalk == "errcode 310000: sign not match"
    feishu = channels.accepted("feishu", 200, b'{"code":19021,"msg":"sign match fail"}')
    assert feishu is not None
    assert "19021" in feishu
    assert "sign match fail" in feishu
    assert channels.accepted("slack", 404, b"no_service") == "HTTP 404: no_service"


@pytest.mark.parametrize("kind", KINDS)
def test_accepted_reports_http_errors(kind: str):
    reason = channels.accepted(kind, 500, b"<html>\n  Internal Server Error\n</html>")
    assert reason is not None
    assert "500" in reason
    assert "\n" not in reason


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
def test_accepted_refuses_answers_that_do_not_say_ok(kind: str):
    not_json = channels.accepted(kind, 200, b"<html>gateway</html>")
    assert not_json is not None
    assert "200" in not_json
    assert channels.accepted(kind, 200, b'{"data":{}}') is not None


@pytest.mark.parametrize("call", ["build", "accepted"])
def test_unknown_kind_raises(call: str):
    with pytest.raises(ValueError, match="teams") as caught:
        if call == "build":
            channels.build("teams", "https://example.com", None, NOTICE, "msg_12", AT)
        else:
            channels.accepted("teams", 200, b"")
    assert all(kind in str(caught.value) for kind in KINDS)


@pytest.mark.parametrize(
    ("kind", "secret", "verdict"),
    [
        ("feishu", "feishu-secret", "signature ok"),
        ("dingtalk", "SECdingtalk", "signature ok"),
        ("webhook", "whsec_" + base64.b64encode(b"k" * 24).decode(), "signature ok"),
        ("slack", None, "unsigned"),
    ],
)
def test_the_local_receiver_checks_each_channels_own_signature(kind, secret, verdict):
    from chalicelib.local.webhook_receiver import SIGNATURE, Inbox

    now = datetime.now(UTC)  # Standard Webhooks refuses a timestamp 5 minutes off the clock
    request = channels.build(kind, f"http://127.0.0.1/hooks/{kind}", secret, NOTICE, "m1", now)
    url = urlsplit(request.url)
    path = f"{url.path}?{url.query}" if url.query else url.path
    headers = {k.lower(): v for k, v in request.headers.items()}
    inbox = Inbox({kind: secret} if secret else {})

    genuine = inbox.record(path, headers, request.body)
    other = "whsec_" + base64.b64encode(b"x" * 24).decode() if kind == "webhook" else "other"
    forged = Inbox({kind: other} if secret else {}).record(path, headers, request.body)

    assert SIGNATURE[genuine["verified"]] == verdict
    if secret:
        assert SIGNATURE[forged["verified"]] == "BAD signature"
