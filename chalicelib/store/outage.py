"""Whether an error means the store could not be reached or is overloaded: retry later.

Such errors are not the caller's fault and not a bug; the API answers them with 503 and
Retry-After, and the background drivers wait them out quietly. The write may or may not have
happened (a connection can drop after the store applied it); every write is conditional or
keyed, so a retry, with the same Idempotency-Key from an API client, is safe.
"""

from __future__ import annotations

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as EndpointUnreachable

# DynamoDB, SQS and SES codes that say "not now" rather than "not this".
TRANSIENT_CODES = frozenset(
    {
        "InternalFailure",
        "InternalServerError",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ThrottlingException",
        "Throttling",
    }
)
RETRY_AFTER_SECONDS = 5


def is_outage(error: BaseException) -> bool:
    """True when `error`, or what caused it, is an unreachable or overloaded AWS service."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, EndpointUnreachable | HTTPClientError):
            return True
        if isinstance(current, ClientError):
            return current.response.get("Error", {}).get("Code") in TRANSIENT_CODES
        current = getattr(current, "cause", None) or current.__cause__  # what it wraps
    return False
