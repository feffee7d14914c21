"""The deployment's secrets, read once per process into the environment the settings read.

JSON objects of variable names to values: `{"LEADFLOW_CAPTCHA_SECRET": "...",
"LEADFLOW_CRM_WEBHOOK_SECRET": "..."}`, or one secret's whole text for one name. On AWS they
are Secrets Manager secrets (`LEADFLOW_SECRETS_ARN`), fetched at cold start, so no secret sits
in a function's configuration where anyone who may read that sees it; locally it is a
git-ignored file (`LEADFLOW_SECRETS_FILE`, `.leadflow/secrets.json` under `make run`). A
variable already set wins, so a developer may override one for a run. Values are never
logged.
"""

from __future__ import annotations

import json
import re
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import boto3

NAME = re.compile(r"^LEADFLOW_[A-Z0-9_]{1,100}$")


class SecretsError(RuntimeError):
    """The secrets could not be read, or are not an object of LEADFLOW_* names to text."""


# Set once, never replaced by a later secret: a new pepper would forget every erasure.
FIXED = frozenset({"LEADFLOW_PEPPER"})


def default_ids(stage: str) -> str:
    """The stage's secrets by name, as infra/template.py makes them: the CLI on an operator's
    machine reads the same ones the functions do."""
    plain = f"leadflow-{stage}-link-signing"
    return f"LEADFLOW_PEPPER={plain},LEADFLOW_SIGNING_SECRET={plain},leadflow-{stage}-secrets"


def load(env: MutableMapping[str, str]) -> list[str]:
    """Set each secret not already in `env`; the names set (never the values).

    `LEADFLOW_SECRETS_ARN` lists secrets, in order: `NAME=arn` is a secret whose whole text
    is NAME's value, a bare arn is a JSON object of names to values; a later one wins, but
    for FIXED names."""
    values: dict[str, str] = {}
    if ids := env.get("LEADFLOW_SECRETS_ARN"):
        for n, entry in enumerate(e.strip() for e in ids.split(",") if e.strip()):
            name, _, arn = entry.rpartition("=")
            where = f"secret {n + 1} of LEADFLOW_SECRETS_ARN"
            if name:
                found = {name: _fetch(arn, env).strip()}
                parse(json.dumps(found), where)  # the name must be a LEADFLOW_* one
            else:
                found = parse(_fetch(arn, env), where)
            values |= {k: v for k, v in found.items() if k not in FIXED or k not in values}
    elif path := env.get("LEADFLOW_SECRETS_FILE"):
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        values = parse(text, path)
    missing = [name for name in values if name not in env]
    for name in missing:
        env[name] = values[name]
    return missing


def parse(text: str, where: str) -> dict[str, str]:
    try:
        values: Any = json.loads(text)
    except ValueError as exc:
        raise SecretsError(f"{where}: not JSON (line {getattr(exc, 'lineno', '?')})") from None
    if not isinstance(values, dict):
        raise SecretsError(f"{where}: must be a JSON object of LEADFLOW_* names to values")
    for name, value in values.items():
        if not NAME.match(str(name)):
            raise SecretsError(f"{where}: {name!r} is not a LEADFLOW_* variable name")
        if not isinstance(value, str):
            raise SecretsError(f"{where}: the value of {name} must be text")
    return values


def _fetch(arn: str, env: MutableMapping[str, str]) -> str:
    client = boto3.client(
        "secretsmanager",
        region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
    )
    try:
        return client.get_secret_value(SecretId=arn)["SecretString"]
    except Exception as exc:
        # The message names the secret, never its value; the cause says why (no credentials).
        raise SecretsError(f"cannot read the secrets ({type(exc).__name__})") from exc
