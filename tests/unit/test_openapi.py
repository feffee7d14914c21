"""The OpenAPI document describes exactly the routes the app serves."""

from __future__ import annotations

import json

import yaml

from app import app
from chalicelib.api import access
from chalicelib.api.openapi import DOCUMENT as OPENAPI
from chalicelib.bootstrap import services


def test_every_route_is_documented_and_nothing_else():
    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    documented = {
        (path, method.upper())
        for path, item in spec["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = {
        (path, method)
        for path, methods in app.routes.items()
        for method in methods
        if method != "OPTIONS"
    }

    assert documented == served


def test_documented_error_answers_use_the_error_schema():
    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    problem = spec["components"]["responses"]["Problem"]

    assert problem["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert {"error", "message"} <= set(spec["components"]["schemas"]["Error"]["required"])


def test_the_document_is_valid_openapi():
    from openapi_spec_validator import OpenAPIV30SpecValidator

    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))

    assert [e.message for e in OpenAPIV30SpecValidator(spec).iter_errors()] == []


def test_no_key_is_written_twice_in_the_document():
    seen: list[tuple[int, str]] = []

    class Strict(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
            seen.extend((node.start_mark.line + 1, k) for k in keys if keys.count(k) > 1)
            return super().construct_mapping(node, deep)

    yaml.load(OPENAPI.read_text(encoding="utf-8"), Strict)

    assert seen == []


def test_the_api_serves_the_document_as_json():
    from chalice.test import Client

    with Client(app) as client:
        answer = client.http.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    served = json.loads(answer.body)
    written = json.loads(json.dumps(yaml.safe_load(OPENAPI.read_text()), default=str))
    assert served["servers"] == [{"url": services().settings.public_url}]
    roles = {}
    for path, operations in served["paths"].items():
        for method, operation in operations.items():
            if "x-roles" in operation:
                roles[(method.upper(), path)] = operation.pop("x-roles")
                assert operation.pop("x-permission") == access.ROUTES[(method.upper(), path)]
    assert {**served, "servers": written["servers"]} == written
    assert roles[("GET", "/audit")] == ["admin"]
    assert roles[("GET", "/contacts")] == ["admin", "marketer", "sales_manager", "sales"]
    assert len(roles) == len([r for r in access.ROUTES.values() if r not in access.OPEN])
