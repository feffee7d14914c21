"""A DynamoDB request straight to ministack's handler, for the scripts that compare its answers
with and without the emulator's patches (run with ministack's Python; see test_emulator_*)."""

import asyncio
import json

from ministack.services import dynamodb

HEADERS = {
    "content-type": "application/x-amz-json-1.0",
    "authorization": "AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1/dynamodb/aws4_request",
}


def call(op, body):
    """(status, parsed answer) of DynamoDB operation `op`."""
    headers = {**HEADERS, "x-amz-target": f"DynamoDB_20120810.{op}"}
    status, _, out = asyncio.run(
        dynamodb.handle_request("POST", "/", headers, json.dumps(body).encode(), {})
    )
    return status, json.loads(out) if out else {}
