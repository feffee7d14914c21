"""Errors as types. The API layer maps each to HTTP once (see api/http.py)."""

from __future__ import annotations

from dataclasses import dataclass, field


class LeadflowError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict:
        return {"error": self.code, "message": self.message}

    def headers(self) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class FormValidationError(LeadflowError):
    """One or more submitted fields are missing or invalid; every bad field is named."""

    status = 422
    code = "validation_failed"

    def __init__(self, fields: list[FieldError]) -> None:
        super().__init__("; ".join(f"{f.field}: {f.message}" for f in fields))
        self.fields = fields

    def body(self) -> dict:
        return {
            "error": self.code,
            "message": "Some fields are missing or invalid.",
            "fields": [{"field": f.field, "message": f.message} for f in self.fields],
        }


class IdempotencyKeyReused(LeadflowError):
    """A retry's key came with a different payload: two requests, one key. Replaying the
    first answer would silently drop the second (IETF Idempotency-Key draft: 422)."""

    status = 422
    code = "idempotency_key_reused"

    def __init__(self, message: str, field: str = "Idempotency-Key") -> None:
        super().__init__(message)
        self.field = field

    def body(self) -> dict:
        return {**super().body(), "fields": [{"field": self.field, "message": self.message}]}


class MalformedBody(LeadflowError):
    status = 400
    code = "malformed_body"


class PayloadTooLarge(LeadflowError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(LeadflowError):
    status = 415
    code = "unsupported_media_type"


class NotFound(LeadflowError):
    status = 404
    code = "not_found"


class Conflict(LeadflowError):
    """The request does not fit the state it would change (a broadcast already sent)."""

    status = 409
    code = "conflict"


class Unauthorized(LeadflowError):
    status = 401
    code = "unauthorized"


class Forbidden(LeadflowError):
    status = 403
    code = "forbidden"


class RetryLater(LeadflowError):
    """A refusal the client may retry after `retry_after` seconds (the Retry-After header)."""

    retry_after = 1

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Busy(RetryLater):
    """Contention outlasted our retries; the client may retry (safely, with its key)."""

    status = 503
    code = "busy"


class TooManyRequests(RetryLater):
    """A caller went past a public endpoint's limit; it may try again after `retry_after`."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def body(self) -> dict:
        return {**super().body(), "retry_after": self.retry_after}


class Unavailable(Busy):
    """The store could not be reached, so the request may not have been recorded: retry."""

    code = "unavailable"
    retry_after = 5


@dataclass
class ContentProblem:
    """A problem in a marketing/ file, located for a human: file, line and field."""

    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


@dataclass
class ContentError(Exception):
    problems: list[ContentProblem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
