"""GET /health: each component's state, so an operator sees at a glance what is down.

The store and the queues are checked on every call (one cheap read each); the local stack
registers its own components (the embedded AWS, the drivers) with `register`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.api import http
from chalicelib.bootstrap import Services
from chalicelib.messaging.queues import SENDS
from chalicelib.store.models import ApiKeyModel

Check = Callable[[], dict[str, Any]]  # details when up; raises when down
_registered: dict[str, Check] = {}


def register(name: str, check: Check) -> None:
    _registered[name] = check


def _store() -> dict[str, Any]:
    ApiKeyModel.count("health")  # a key query on a key that never exists: one cheap read
    return {}


def report(svc: Services) -> Response:
    checks: dict[str, Check] = {
        "store": _store,
        "queues": lambda: {"emails_waiting": svc.queues.depth(SENDS)},
        **_registered,
    }
    components: dict[str, dict[str, Any]] = {}
    for name, check in checks.items():
        try:
            components[name] = {"status": "ok", **check()}
        except Exception as exc:
            components[name] = {"status": "down", "error": str(exc) or type(exc).__name__}
    up = all(c["status"] == "ok" for c in components.values())
    body = {"status": "ok" if up else "degraded", "components": components}
    return http.json_response(200 if up else 503, body, {} if up else {"Retry-After": "5"})
