"""A path no route serves answers 404 JSON on API Gateway as on the local stack (the template;
the local stack's answers: tests/e2e/test_index.py)."""

from __future__ import annotations

import json

from chalicelib.api.http import NO_ROUTE
from infra import template


def test_api_gateway_answers_a_path_no_route_serves_with_the_same_404():
    resources = template.render("dev")["Resources"]

    found = [r for r in resources.values() if r.get("Type") == "AWS::ApiGateway::GatewayResponse"]

    assert found == [
        {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {
                "RestApiId": {"Ref": "RestAPI"},
                "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
                "StatusCode": "404",
                "ResponseTemplates": {"application/json": json.dumps(NO_ROUTE.body())},
            },
        }
    ]
