"""What an operator watches, without personal data: JSON logs with request ids (emails and
phone numbers masked), and CloudWatch metrics in the embedded metric format (EMF: a log
line CloudWatch turns into metrics, no API call, no extra latency).

Both come from aws-lambda-powertools. Metrics are counted wherever the code runs and
written at the end of each invocation (`flush`, from app.py's middleware); the local stack
turns them off (POWERTOOLS_METRICS_DISABLED), so nothing is held or printed there.
"""

from __future__ import annotations

import logging
import re
from typing import IO, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

SERVICE = "leadflow"
NAMESPACE = "Leadflow"
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

_EMAIL = re.compile(r"[^\s@<>\"'(),;:]+@[^\s@<>\"'(),;:]+\.[A-Za-z]{2,}")
# International numbers (+86 138 0013 8000), mainland mobiles (13800138000) and North
# American ones ((415) 555-0134): not dates, times, ids or counts.
_PHONE = re.compile(
    r"\+\d[\d\s().-]{6,}\d|(?<![0-9A-Za-z_])1[3-9]\d{9}(?![0-9A-Za-z_])|\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b"
)
MASK = "[masked]"


def mask(text: str) -> str:
    """Emails and phone numbers out of a log line (ids, counts and times stay)."""
    return _PHONE.sub(MASK, _EMAIL.sub(MASK, text))


class Masked(logging.Filter):
    """Masks the message, with its arguments filled in, and its exception's text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg = mask(message)
        record.args = ()
        return True


def configure(stream: IO[str] | None = None) -> Logger:
    """Every `chalicelib` logger writes JSON through one masking handler (on AWS)."""
    logger = Logger(service=SERVICE, stream=stream)
    for handler in logger.handlers:
        handler.addFilter(Masked())
    # Chalice's `app.log` is the same `leadflow` logger with a handler of its own: one
    # line each, from the JSON handler.
    logging.getLogger(SERVICE).handlers = list(logger.handlers)
    copy_config_to_registered_loggers(source_logger=logger, include={"chalicelib"})
    _state["logger"] = logger
    return logger


_state: dict[str, Any] = {}


def begin(request_id: str | None, **keys: str) -> None:
    """Tag the logs of one invocation with its request id (API Gateway's, else Lambda's)."""
    logger = _state.get("logger")
    if logger is not None:
        logger.remove_keys(["request_id", "route"])
        logger.append_keys(request_id=request_id, **keys)


def count(name: str, value: float = 1) -> None:
    if not is_metrics_disabled():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def flush() -> None:
    """Write what this invocation counted as one EMF line (nothing when it counted none)."""
    if metrics.metric_set:
        metrics.flush_metrics()
