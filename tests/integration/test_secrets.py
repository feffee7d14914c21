"""Secrets come from Secrets Manager (on the embedded AWS) or a local file, never from the
function's configuration; a variable already set wins; a rotated signing secret still
verifies the links already sent."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.messaging.tokens import BadToken, Signer
from chalicelib.store import secrets


def test_the_stage_secrets_fill_the_environment_a_rotation_wins_and_set_ones_win(aws):
    client = boto3.client("secretsmanager", endpoint_url=aws.endpoint, region_name="us-east-1")
    plain = client.create_secret(Name="leadflow-test-link-signing", SecretString="s" * 32)
    bundle = client.create_secret(
        Name="leadflow-test-secrets",
        SecretString=json.dumps(
            {
                "LEADFLOW_SIGNING_SECRET": "n" * 32,  # rotated: the new one signs
                "LEADFLOW_SIGNING_SECRET_PREVIOUS": "s" * 32,
                "LEADFLOW_PEPPER": "never-this",  # the pepper is never replaced
                "LEADFLOW_CAPTCHA_SECRET": "from-aws",
            }
        ),
    )
    env = {
        "AWS_ENDPOINT_URL": aws.endpoint,
        "LEADFLOW_SECRETS_ARN": f"LEADFLOW_PEPPER={plain['ARN']},"
        f"LEADFLOW_SIGNING_SECRET={plain['ARN']},{bundle['ARN']}",
        "LEADFLOW_CAPTCHA_SECRET": "set-by-hand",
    }

    assert sorted(secrets.load(env)) == [
        "LEADFLOW_PEPPER",
        "LEADFLOW_SIGNING_SECRET",
        "LEADFLOW_SIGNING_SECRET_PREVIOUS",
    ]
    assert env["LEADFLOW_PEPPER"] == "s" * 32
    assert env["LEADFLOW_SIGNING_SECRET"] == "n" * 32
    assert env["LEADFLOW_CAPTCHA_SECRET"] == "set-by-hand"
    # The CLI on an operator's machine finds the same secrets by the stage's names.
    by_name = {
        "AWS_ENDPOINT_URL": aws.endpoint,
        "LEADFLOW_SECRETS_ARN": secrets.default_ids("test"),
    }
    secrets.load(by_name)
    assert (by_name["LEADFLOW_PEPPER"], by_name["LEADFLOW_CAPTCHA_SECRET"]) == (
        "s" * 32,
        "from-aws",
    )


def test_a_secret_that_cannot_be_read_is_named_without_its_value(aws):
    env = {"AWS_ENDPOINT_URL": aws.endpoint, "LEADFLOW_SECRETS_ARN": "leadflow-test-missing"}
    with pytest.raises(secrets.SecretsError, match="cannot read the secrets"):
        secrets.load(env)


def test_the_local_file_fills_the_environment_and_a_missing_one_is_nothing(tmp_path):
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"LEADFLOW_CRM_WEBHOOK_SECRET": "whsec_local"}))
    env = {"LEADFLOW_SECRETS_FILE": str(path)}

    assert secrets.load(env) == ["LEADFLOW_CRM_WEBHOOK_SECRET"]
    assert env["LEADFLOW_CRM_WEBHOOK_SECRET"] == "whsec_local"
    assert secrets.load({"LEADFLOW_SECRETS_FILE": str(tmp_path / "none.json")}) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ("[]", "must be a JSON object"),
        ('{"AWS_ACCESS_KEY_ID": "x"}', "'AWS_ACCESS_KEY_ID' is not a LEADFLOW_"),
        ('{"LEADFLOW_PEPPER": 7}', "the value of LEADFLOW_PEPPER must be text"),
    ],
)
def test_a_bad_secrets_file_is_refused_by_name_and_never_quoted(tmp_path, text, message):
    path = tmp_path / "secrets.json"
    path.write_text(text)
    with pytest.raises(secrets.SecretsError, match=message) as refused:
        secrets.load({"LEADFLOW_SECRETS_FILE": str(path)})
    assert str(path) in str(refused.value)


def test_after_a_rotation_old_links_verify_and_new_ones_are_signed_with_the_new_secret():
    old, new = "old-secret-0123456789abcdef", "new-secret-0123456789abcdef"
    sent = Signer(old).sign("click", "c1", "m1", "0")
    rotated = Signer(new, previous=old)

    assert rotated.verify("click", sent) == ["c1", "m1", "0"]
    fresh = rotated.sign("click", "c1", "m2", "0")
    assert Signer(new).verify("click", fresh) == ["c1", "m2", "0"]
    with pytest.raises(BadToken):
        Signer(old).verify("click", fresh)
    with pytest.raises(BadToken):  # once the grace period ends, the old links stop
        Signer(new).verify("click", sent)
