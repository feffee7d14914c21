"""GET /openapi.json: the API's description, from the document the contract tests hold it to.

The YAML beside this module is the one source: tests check it lists exactly the routes the app
serves and fuzz the running API against it; this route serves it as JSON, read once per
process.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import yaml
from chalice import Response

from chalicelib import roles
from chalicelib.api import access

DOCUMENT = Path(__file__).with_name("openapi.yaml")


@functools.cache
def _document() -> dict[str, Any]:
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


def _with_roles(document: dict[str, Any]) -> dict[str, Any]:
    """Each operation with the permission its route needs and the roles that grant it, read
    from the route table, so the document cannot disagree with what is enforced."""
    paths: dict[str, Any] = {}
    for path, operations in document["paths"].items():
        paths[path] = dict(operations)
        for method, operation in operations.items():
            needed = access.ROUTES.get((method.upper(), path))
            if not isinstance(operation, dict) or needed is None or needed in access.OPEN:
                continue
            allowed = [r for r in roles.ROLES if needed in roles.GRANTS[r]]
            paths[path][method] = {**operation, "x-permission": needed, "x-roles": allowed}
    return {**document, "paths": paths}


@functools.cache
def _body(public_url: str) -> str:
    """The document with this deployment's own URL as its server (the file names the local
    stack's)."""
    document = {**_with_roles(_document()), "servers": [{"url": public_url}]}
    return json.dumps(document, ensure_ascii=False, default=str)


def serve(public_url: str) -> Response:
    return Response(
        body=_body(public_url),
        status_code=200,
        headers={"Content-Type": "application/json", "Cache-Control": "public, max-age=300"},
    )
