"""`make run`'s stand-in for the CRM and the chat robots: receives the hand-off webhooks.

POST /hooks/NAME records the request, checking its signature the way that service would
(Standard Webhooks for the CRM, Feishu's `sign` in the body, DingTalk's in the URL; Slack and
WeCom robots sign nothing, their URL is the secret), and answers as the real services do
(`{"errcode":0,"code":0}`); GET / lists what came in, newest first, and GET /received.json
gives the same as JSON (bench/speed_to_lead.py reads it). In memory only.
"""

from __future__ import annotations

import hmac
import html
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.messaging.channels import dingtalk_sign, feishu_sign

KEEP = 500


SIGNATURE = {True: "signature ok", False: "BAD signature", None: "unsigned"}


class Inbox:
    def __init__(self, secrets: dict[str, str]) -> None:
        """`secrets`: channel name (the last part of /hooks/NAME) -> the secret it signs with."""
        self.secrets = secrets
        self.items: deque[dict[str, Any]] = deque(maxlen=KEEP)
        self.lock = threading.Lock()

    def record(self, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        url = urlsplit(path)
        channel = url.path.rsplit("/", 1)[-1]
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = body.decode(errors="replace")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        verified = _verified(self.secrets.get(channel), headers, body, payload, query)
        item = {
            "received_at": time.time(),
            "channel": channel,
            "verified": verified,
            "payload": payload,
        }
        with self.lock:
            self.items.appendleft(item)
        return item


def _verified(
    secret: str | None, headers: dict[str, str], body: bytes, payload: Any, query: dict[str, str]
) -> bool | None:
    """True or False for a signed request (by the scheme it carries), None for an unsigned one."""
    if "webhook-signature" in headers:
        if not secret:
            return False
        try:
            Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            return False
        return True
    if isinstance(payload, dict) and "sign" in payload:  # Feishu: in the body, seconds
        stamp = str(payload.get("timestamp", ""))
        if not stamp.isdigit():
            return False
        expected = feishu_sign(secret, int(stamp)) if secret else ""
        return bool(secret) and hmac.compare_digest(expected, str(payload["sign"]))
    if "sign" in query:  # DingTalk: in the URL, milliseconds
        stamp = query.get("timestamp", "")
        if not stamp.isdigit():
            return False
        expected = dingtalk_sign(secret, int(stamp)) if secret else ""
        return bool(secret) and hmac.compare_digest(expected, query["sign"])
    return None


def _page(items: list[dict[str, Any]]) -> str:
    rows = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>".format(
            time.strftime("%H:%M:%S", time.localtime(i["received_at"])),
            html.escape(i["channel"]),
            SIGNATURE[i["verified"]],
            html.escape(json.dumps(i["payload"], ensure_ascii=False, indent=2)[:4000]),
        )
        for i in items
    )
    return (
        "<!doctype html><meta charset=utf-8><title>Webhooks received</title>"
        "<style>body{font:14px system-ui;margin:24px}table{table-layout:fixed;width:100%}"
        "td{vertical-align:top;padding:6px;border-top:1px solid #ddd}"
        "td:nth-child(-n+3){width:9em}pre{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}"
        "</style>"
        f"<h1>Webhooks received ({len(items)})</h1><table>{rows}</table>"
    )


def start(port: int, secrets: dict[str, str]) -> tuple[ThreadingHTTPServer, Inbox]:
    inbox = Inbox(secrets)

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True  # the body leaves with the headers (local/gateway.py)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1024 * 1024))
            headers = {k.lower(): v for k, v in self.headers.items()}
            inbox.record(self.path, headers, body)
            self._answer(200, "application/json", b'{"errcode":0,"errmsg":"ok","code":0}')

        def do_GET(self) -> None:
            with inbox.lock:
                items = list(inbox.items)
            if self.path.startswith("/received.json"):
                self._answer(200, "application/json", json.dumps(items).encode())
            else:
                self._answer(200, "text/html; charset=utf-8", _page(items).encode())

        def _answer(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True).start()
    return server, inbox
