"""DynamoDB's own requests and answers, sent and read as the JSON they already are.

PynamoDB hands botocore a request already in DynamoDB's wire format, and botocore walks it
against the API's model before writing it as JSON; its answer is walked again on the way
back. For DynamoDB's item operations that walk changes nothing but binary values (base64),
and it was a sixth of the pipeline's time. So for those operations, on a plain answer, the
client writes and reads the JSON directly; anything else (binary values, other operations,
errors) goes through botocore as before. The JSON is written and read by orjson, in C: the
request is botocore's, written compactly in UTF-8 rather than spaced and escaped, and the
parsed answer is the one botocore would make (tests/integration/test_wire.py compares them).
PynamoDB writes every number as a string, so orjson's own ways with numbers (a float that
is not a number written as null, an integer beyond 64 bits read as a float) never meet
DynamoDB's values. Like PynamoDB's client, whose parameter validation is off, the fast path
checks no parameters: a bad one is DynamoDB's to refuse.

The local stream driver reads DynamoDB Streams' GetRecords the same way (STREAM_RECORDS);
there the answer differs from botocore's on purpose: a record's ApproximateCreationDateTime
stays the number Lambda's event carries.
"""

from __future__ import annotations

from typing import Any

import orjson
from botocore.utils import lowercase_dict

# Operations whose input and output hold no timestamps and whose members keep their names:
# only their binary values (B, BS) would be changed by botocore's walk.
ITEM_OPERATIONS = frozenset(
    {
        "BatchExecuteStatement",
        "BatchGetItem",
        "BatchWriteItem",
        "DeleteItem",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "TransactWriteItems",
        "UpdateItem",
    }
)
# A stream's records, read as Lambda hands them to a function: their ApproximateCreationDateTime
# stays the number of seconds it is on the wire (botocore's walk would make it a datetime).
STREAM_RECORDS = frozenset({"GetRecords"})
# Values botocore would not write either (dates, dataclasses) raise, so they take its path.
_AS_BOTOCORE_WOULD = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_BINARY = (b'"B"', b'"BS"')  # a binary value's type, or (rarely) a name: botocore reads those


class _Serializer:
    def __init__(self, botocore: Any, operations: frozenset[str]) -> None:
        self.botocore = botocore
        self.operations = operations

    def serialize_to_request(self, parameters: dict[str, Any], operation: Any) -> dict[str, Any]:
        if operation.name not in self.operations or operation.metadata.get("protocol") != "json":
            return self.botocore.serialize_to_request(parameters, operation)
        try:
            body = orjson.dumps(parameters, option=_AS_BOTOCORE_WOULD)
        except TypeError:  # bytes (botocore writes them as base64), or what JSON cannot hold
            return self.botocore.serialize_to_request(parameters, operation)
        meta = operation.metadata
        return {
            "url_path": "/",
            "query_string": "",
            "method": "POST",
            "headers": {
                "X-Amz-Target": f"{meta['targetPrefix']}.{operation.name}",
                "Content-Type": f"application/x-amz-json-{meta['jsonVersion']}",
            },
            "body": body,
        }


class _Parser:
    def __init__(self, botocore: Any, outputs: frozenset[str]) -> None:
        self.botocore = botocore
        self.outputs = outputs

    def parse(self, response: dict[str, Any], shape: Any) -> dict[str, Any]:
        body = response["body"]
        if (
            response["status_code"] != 200
            or shape is None
            or shape.name not in self.outputs
            or any(marker in body for marker in _BINARY)
            or response.get("context", {}).get("checksum")
        ):
            return self.botocore.parse(response, shape)
        try:
            parsed = orjson.loads(body) if body else {}
        except ValueError:  # a cut answer: botocore's parse lets its checksum retry see it
            return self.botocore.parse(response, shape)
        headers = response["headers"]
        metadata = {"HTTPStatusCode": 200, "HTTPHeaders": lowercase_dict(headers)}
        if "x-amzn-requestid" in headers:
            metadata = {"RequestId": headers["x-amzn-requestid"], **metadata}
        parsed["ResponseMetadata"] = metadata
        return parsed


class _Parsers:
    def __init__(self, botocore: Any, outputs: frozenset[str]) -> None:
        self.botocore = botocore
        self.outputs = outputs

    def create_parser(self, protocol: str) -> Any:
        parser = self.botocore.create_parser(protocol)
        return _Parser(parser, self.outputs) if protocol == "json" else parser


def quicken(client: Any, operations: frozenset[str] = ITEM_OPERATIONS) -> None:
    """Have a DynamoDB (or DynamoDB Streams) client write and read these operations' JSON
    directly."""
    if isinstance(client._serializer, _Serializer):
        return
    client._serializer = _Serializer(client._serializer, operations)
    outputs = frozenset(f"{name}Output" for name in operations)
    endpoint = client._endpoint
    endpoint._response_parser_factory = _Parsers(endpoint._response_parser_factory, outputs)
