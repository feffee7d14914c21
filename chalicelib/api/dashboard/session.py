"""Dashboard logins: an API key exchanged for a signed session cookie.

The cookie holds the key's digest (never the key), when the session ends, and a random id;
it is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it) and
Secure when the dashboard is served over HTTPS. Every page checks the key again, so a key
revoked or expired ends its sessions (within the minute a process keeps a key's answer).
Forms that change something carry a CSRF token derived from the session id.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.api.access import DASHBOARD
from chalicelib.messaging.tokens import BadToken, Signer
from chalicelib.roles import Caller
from chalicelib.store.api_keys import ApiKeyStore, digest

COOKIE = "lf_session"
LANG_COOKIE = "lf_lang"
LASTS = timedelta(hours=12)
PURPOSE = "dashboard-session"
CSRF = "dashboard-csrf"


@dataclass(frozen=True)
class Session:
    caller: Caller
    key_digest: str
    session_id: str
    ends_at: datetime

    def csrf(self, signer: Signer) -> str:
        return signer.sign(CSRF, self.session_id)

    def csrf_holds(self, signer: Signer, token: str) -> bool:
        try:
            fields = signer.verify(CSRF, token)
        except BadToken:
            return False
        return len(fields) == 1 and hmac.compare_digest(fields[0], self.session_id)


class LoginRefused(ValueError):
    pass


def may_log_in(caller: Caller) -> bool:
    """Any role that may open at least one dashboard page (a sales key: its own leads)."""
    return any(caller.may(needed) for needed in DASHBOARD.values())


def log_in(keys: ApiKeyStore, signer: Signer, key: str, now: datetime) -> str:
    """The cookie value for a session of this key; LoginRefused for a key that may not."""
    caller = keys.caller_of(key.strip())
    if caller is None:
        raise LoginRefused("unknown, revoked or expired API key")
    if not may_log_in(caller):
        raise LoginRefused(f"a {caller.role} key cannot open the dashboard")
    ends = (now + LASTS).isoformat()
    return signer.sign(PURPOSE, digest(key.strip()), ends, secrets.token_urlsafe(12))


def current(keys: ApiKeyStore, signer: Signer, cookie: str | None, now: datetime) -> Session | None:
    """The session a cookie value stands for, if it is genuine, current and its key still
    may log in."""
    if not cookie:
        return None
    try:
        fields = signer.verify(PURPOSE, cookie)
    except BadToken:
        return None
    if len(fields) != 3:
        return None
    key_digest, ends_text, session_id = fields
    try:
        ends = datetime.fromisoformat(ends_text)
    except ValueError:
        return None
    if ends <= now:
        return None
    caller = keys.caller_of_digest(key_digest)
    if caller is None or not may_log_in(caller):
        return None
    return Session(caller, key_digest, session_id, ends)


def cookie_header(value: str, secure: bool, path: str, max_age: int | None = None) -> str:
    age = int(LASTS.total_seconds()) if max_age is None else max_age
    flags = f"; Path={path}; HttpOnly; SameSite=Strict; Max-Age={age}"
    return f"{COOKIE}={value}{flags}{'; Secure' if secure else ''}"


def lang_cookie(lang: str, path: str) -> str:
    """The language switch, remembered for a year (not a secret)."""
    return f"{LANG_COOKIE}={lang}; Path={path}; SameSite=Lax; Max-Age=31536000"
