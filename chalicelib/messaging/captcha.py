"""Server-side CAPTCHA verification: Cloudflare Turnstile and Google reCAPTCHA.

Both providers take the same POST (`secret`, `response`, `remoteip`, form-encoded) and answer
`{"success": bool, "error-codes": [...]}`, so one client serves both. The verifier's URL is a
setting, so a test (or a company proxy) can stand in for the provider.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from urllib.parse import urlencode

import urllib3

from chalicelib.errors import Unavailable

VERIFY_URLS = {
    "turnstile": "https://challenges.cloudflare.com/turnstile/v0/siteverify",
    "recaptcha": "https://www.google.com/recaptcha/api/siteverify",
}
log = logging.getLogger(__name__)
TIMEOUT = urllib3.Timeout(connect=3.0, read=5.0)
UNREACHABLE = Unavailable(
    "The form's challenge cannot be checked right now, so nothing was recorded. Retry."
)


@dataclass(frozen=True)
class Check:
    passed: bool
    codes: tuple[str, ...] = ()


class CaptchaVerifier:
    def __init__(self, secret: str, url: str | None = None) -> None:
        self._secret = secret
        self._url = url
        self._http = urllib3.PoolManager(retries=False, timeout=TIMEOUT)

    def check(self, provider: str, token: str, remote_ip: str | None) -> Check:
        """The provider's verdict on `token`; Unavailable when it cannot be had (no secret,
        the provider down or answering nonsense): refusing then is safer than storing a bot."""
        if not token:
            return Check(False, ("missing-input-response",))
        if not self._secret:
            log.warning("a form asks for a CAPTCHA but LEADFLOW_CAPTCHA_SECRET is not set")
            raise UNREACHABLE
        fields = {"secret": self._secret, "response": token}
        if remote_ip:
            fields["remoteip"] = remote_ip
        try:
            answer = self._http.request(
                "POST",
                self._url or VERIFY_URLS[provider],
                body=urlencode(fields),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                redirect=False,
            )
            verdict = json.loads(answer.data[:65536]) if answer.status == 200 else None
        except (urllib3.exceptions.HTTPError, ValueError) as exc:
            raise UNREACHABLE from exc
        if not isinstance(verdict, dict) or not isinstance(verdict.get("success"), bool):
            raise UNREACHABLE
        codes = tuple(str(c) for c in verdict.get("error-codes") or [] if isinstance(c, str))
        if not verdict["success"]:  # why, for an operator: a spent token, a wrong secret
            log.info("%s refused a token: %s", provider, ", ".join(codes) or "no reason given")
        return Check(verdict["success"], codes)
