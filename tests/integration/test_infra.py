"""The deployable template: tables rendered from the models, the stream wired, cfn-lint clean.

The app is packaged from a copy with an empty requirements.txt: the template is identical to
`make package`'s, only the code zip lacks the dependencies, so no package download is needed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pynamodb.models import Model

from chalicelib.config import Settings
from chalicelib.messaging.queues import ADVANCE, QUEUES, SENDS, WEBHOOKS_DEAD
from chalicelib.store.models import (
    MODELS,
    BroadcastSendModel,
    CounterModel,
    EventModel,
    IdempotencyModel,
    ImportJobModel,
    LedgerModel,
    StatModel,
)
from chalicelib.store.tables import base_name
from infra import package, template

ROOT = Path(__file__).resolve().parents[2]
STAGE = "dev"

# cfn-lint rule id -> why that finding is harmless here. Anything not listed fails the test.
HARMLESS_LINT_RULES: dict[str, str] = {}


@pytest.fixture(scope="module")
def sam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m infra.package` run on a copy of the app, as `make package` runs it."""
    project = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / "app.py", project)
    skip = shutil.ignore_patterns("__pycache__", "deployments", "deployed")
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib", ignore=skip)
    shutil.copytree(ROOT / ".chalice", project / ".chalice", ignore=skip)
    (project / "requirements.txt").write_text("")
    out = project / "build" / "package"
    command = [sys.executable, "-m", "infra.package", str(out), "--stage", STAGE]
    result = subprocess.run(
        [*command, "--project-dir", str(project)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out / "sam.json"


@pytest.fixture(scope="module")
def resources(sam: Path) -> dict[str, Any]:
    return json.loads(sam.read_text())["Resources"]


def _table_id(resources: dict[str, Any], model: type[Model]) -> str:
    """The logical id of the one table resource named for `model` in this stage."""
    matches = [
        logical_id
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::DynamoDB::Table"
        and r["Properties"]["TableName"] == f"leadflow-{STAGE}-{base_name(model)}"
    ]
    assert len(matches) == 1, f"{base_name(model)}: {len(matches)} table resources"
    return matches[0]


def _table(resources: dict[str, Any], model: type[Model]) -> dict[str, Any]:
    return resources[_table_id(resources, model)]["Properties"]


def _keys(key_schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(key["AttributeName"], key["KeyType"]) for key in key_schema]


def _definitions(definitions: list[dict[str, str]]) -> list[tuple[str, str]]:
    return sorted((d["AttributeName"], d["AttributeType"]) for d in definitions)


@pytest.mark.parametrize("model", MODELS, ids=base_name)
def test_each_model_has_a_table_with_the_keys_the_local_stack_creates(
    resources: dict[str, Any], model: type[Model]
) -> None:
    table = _table(resources, model)
    schema = (
        model._get_schema()
    )  # what create_table sends to the emulator for the local stack and tests
    assert set(_keys(table["KeySchema"])) == set(_keys(schema["key_schema"]))
    assert _definitions(table["AttributeDefinitions"]) == _definitions(
        schema["attribute_definitions"]
    )
    indexes = table.get("GlobalSecondaryIndexes", [])
    rendered = {i["IndexName"]: (set(_keys(i["KeySchema"])), i["Projection"]) for i in indexes}
    expected = {
        i["index_name"]: (set(_keys(i["key_schema"])), i["projection"])
        for i in schema["global_secondary_indexes"]
    }
    assert rendered == expected
    # PynamoDB's schema lists keys in any order; CloudFormation wants the hash key first.
    for key_schema in [table["KeySchema"], *(i["KeySchema"] for i in indexes)]:
        assert key_schema[0]["KeyType"] == "HASH"


def test_the_sweepers_pending_index_is_sparse_and_keyed_by_shard_then_event(
    resources: dict[str, Any],
) -> None:
    (index,) = _table(resources, EventModel)["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "pending"
    assert _keys(index["KeySchema"]) == [("pending_shard", "HASH"), ("event_id", "RANGE")]
    assert index["Projection"] == {"ProjectionType": "ALL"}


def test_import_jobs_are_listed_by_status_then_id_without_their_rejected_rows(
    resources: dict[str, Any],
) -> None:
    (index,) = _table(resources, ImportJobModel)["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by_status"
    assert _keys(index["KeySchema"]) == [("status", "HASH"), ("id", "RANGE")]
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert "rejected" not in index["Projection"]["NonKeyAttributes"]
    assert {"name", "by", "summary", "created_at"} <= set(index["Projection"]["NonKeyAttributes"])


@pytest.mark.parametrize("model", MODELS, ids=base_name)
def test_every_table_is_on_demand_encrypted_recoverable_and_retained(
    resources: dict[str, Any], model: type[Model]
) -> None:
    resource = resources[_table_id(resources, model)]
    table = resource["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


def test_only_idempotency_the_ledger_counters_plans_imports_and_tally_markers_expire(
    resources: dict[str, Any],
) -> None:
    expiring = {m: _table(resources, m).get("TimeToLiveSpecification") for m in MODELS}
    ttl = {"AttributeName": "expires_at", "Enabled": True}
    assert expiring.pop(IdempotencyModel) == ttl
    assert expiring.pop(LedgerModel) == ttl
    assert expiring.pop(CounterModel) == ttl  # only counters given an expires_at go
    assert expiring.pop(BroadcastSendModel) == ttl  # a sent broadcast's plan, after 400 days
    assert expiring.pop(ImportJobModel) == ttl  # an API import's record, after 30 days
    assert expiring.pop(StatModel) == ttl  # only the markers of counted events go
    assert all(value is None for value in expiring.values())


def test_events_stream_feeds_the_pipeline_function_with_inserts_only(
    resources: dict[str, Any],
) -> None:
    events = _table(resources, EventModel)
    assert events["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert [m for m in MODELS if "StreamSpecification" in _table(resources, m)] == [EventModel]
    (mapping,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and "StreamArn" in json.dumps(r["Properties"]["EventSourceArn"])
    ]
    props = mapping["Properties"]
    assert props["EventSourceArn"] == {
        "Fn::GetAtt": [_table_id(resources, EventModel), "StreamArn"]
    }
    function = resources[props["FunctionName"]["Ref"]]
    assert function["Type"] == "AWS::Serverless::Function"
    assert function["Properties"]["Handler"] == "app.pipeline"
    (pattern,) = props["FilterCriteria"]["Filters"]
    assert json.loads(pattern["Pattern"]) == {"eventName": ["INSERT"]}
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert 1 <= props["MaximumRetryAttempts"] <= 10
    assert props["MaximumBatchingWindowInSeconds"] <= 1


def test_each_queue_is_named_as_the_code_resolves_it_and_dead_letters_after_retries(
    resources: dict[str, Any],
) -> None:
    prefix = Settings.from_env({"LEADFLOW_STAGE": STAGE}).table_prefix
    queues = {
        r["Properties"]["QueueName"]: r
        for r in resources.values()
        if r["Type"] == "AWS::SQS::Queue"
    }
    parked = queues[prefix + WEBHOOKS_DEAD]["Properties"]  # failed for a day: waits for replay
    assert "RedrivePolicy" not in parked and parked["MessageRetentionPeriod"] == 14 * 24 * 3600
    for name in set(QUEUES) - {WEBHOOKS_DEAD}:
        props = queues[prefix + name]["Properties"]
        dead = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert resources[dead]["Properties"]["QueueName"] == f"{prefix}{name}-dlq"
        assert props["RedrivePolicy"]["maxReceiveCount"] >= 3
        assert props["SqsManagedSseEnabled"] is True


def test_the_tick_runs_every_minute_and_its_fan_out_feeds_the_advance_worker(
    resources: dict[str, Any],
) -> None:
    functions = {
        r["Properties"]["Handler"]: r
        for r in resources.values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    (schedule,) = functions["app.tick"]["Properties"]["Events"].values()
    assert schedule["Properties"]["Schedule"] == "rate(1 minute)"
    mappings = _queue_mappings(resources)
    props = mappings[ADVANCE]["Properties"]
    queue = resources[props["EventSourceArn"]["Fn::GetAtt"][0]]
    assert resources[props["FunctionName"]["Ref"]]["Properties"]["Handler"] == "app.advance"
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    timeout = resources[props["FunctionName"]["Ref"]]["Properties"]["Timeout"]
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout


def _queue_mappings(resources: dict[str, Any]) -> dict[str, Any]:
    """Event source mappings from queues, by the queue's base name."""
    found = {}
    for r in resources.values():
        if r["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        source = resources[r["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]]
        if source["Type"] == "AWS::SQS::Queue":
            found[source["Properties"]["QueueName"].removeprefix("leadflow-dev-")] = r
    return found


def test_the_send_queue_feeds_a_sender_that_holds_the_ses_rate(resources: dict[str, Any]) -> None:
    props = _queue_mappings(resources)[SENDS]["Properties"]
    sender = resources[props["FunctionName"]["Ref"]]["Properties"]
    assert sender["Handler"] == "app.send_emails"
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    concurrency = props["ScalingConfig"]["MaximumConcurrency"]
    rate = float(sender["Environment"]["Variables"]["LEADFLOW_MAX_SEND_RATE"])
    assert concurrency * rate <= 14  # SES's default production quota per second
    variables = sender["Environment"]["Variables"]
    assert variables["LEADFLOW_SES_FEEDBACK_TOPICS"] == {"Ref": "SesFeedbackTopic"}


def test_every_function_reads_its_secrets_from_secrets_manager_and_holds_none(
    resources: dict[str, Any],
) -> None:
    functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    assert functions
    for name, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        parts = variables["LEADFLOW_SECRETS_ARN"]["Fn::Join"][1]
        refs = [p for p in parts if isinstance(p, dict)]
        assert refs == [{"Ref": "SigningSecret"}] * 2 + [{"Ref": "Secrets"}], name
        assert parts[0] == "LEADFLOW_PEPPER=", name
        assert not [v for v in variables if "SECRET" in v and v != "LEADFLOW_SECRETS_ARN"], name
    # The secret links in sent emails were signed with, and erasures keyed by, stays: same
    # name as before, never deleted with the stack or replaced.
    signing = resources["SigningSecret"]
    assert signing["Properties"]["Name"] == f"leadflow-{STAGE}-link-signing"
    assert signing["DeletionPolicy"] == signing["UpdateReplacePolicy"] == "Retain"
    assert resources["Secrets"]["Properties"]["SecretString"] == "{}"


def test_ses_bounces_and_complaints_reach_the_notification_route(
    resources: dict[str, Any],
) -> None:
    destination = resources["SesFeedbackDestination"]["Properties"]["EventDestination"]
    assert {"bounce", "complaint"} <= set(destination["MatchingEventTypes"])
    assert destination["SnsDestination"]["TopicARN"] == {"Ref": "SesFeedbackTopic"}
    subscription = resources["SesFeedbackSubscription"]["Properties"]
    assert subscription["Protocol"] == "https"
    assert subscription["Endpoint"]["Fn::Sub"].endswith("/api/ses/notifications")
    policy = json.loads((ROOT / ".chalice" / "policy.json").read_text())
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert "ses:SendEmail" in actions


def test_the_functions_may_use_the_queues() -> None:
    policy = json.loads((ROOT / ".chalice" / "policy.json").read_text())
    sqs = [s for s in policy["Statement"] if any(a.startswith("sqs:") for a in s["Action"])]
    actions = {a for s in sqs for a in s["Action"]}
    assert {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"} <= actions
    assert all(s["Resource"] == "arn:aws:sqs:*:*:leadflow-*" for s in sqs)


def test_every_function_opens_the_tables_the_template_creates(resources: dict[str, Any]) -> None:
    functions = [r for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    assert {f["Properties"]["Handler"] for f in functions} >= {"app.app", "app.pipeline"}
    for function in functions:
        variables = function["Properties"]["Environment"]["Variables"]
        settings = Settings.from_env({k: v for k, v in variables.items() if isinstance(v, str)})
        for model in MODELS:
            assert settings.table_prefix + base_name(model) == _table(resources, model)["TableName"]


def _function(**variables: str) -> dict[str, Any]:
    """A packaged function resource with this stage's environment plus `variables`."""
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {"Environment": {"Variables": {"LEADFLOW_STAGE": STAGE, **variables}}},
    }


def test_package_refuses_functions_configured_for_other_tables() -> None:
    sam = {"Resources": {"Stray": _function(LEADFLOW_TABLE_PREFIX="elsewhere-")}}
    with pytest.raises(package.PackageError, match="elsewhere-"):
        package.check_functions_find_tables(sam, STAGE)


def test_package_warns_of_functions_that_would_link_forms_to_localhost() -> None:
    sam = {
        "Resources": {
            "Configured": _function(LEADFLOW_PUBLIC_URL="https://leads.example.com"),
            "Forgotten": _function(),
        }
    }
    assert package.functions_without_public_url(sam) == ["Forgotten"]


def test_prod_gets_its_own_tables() -> None:
    names = {
        r["Properties"]["TableName"]
        for r in template.render("prod")["Resources"].values()
        if r.get("Type") == "AWS::DynamoDB::Table"
    }
    assert names == {f"leadflow-prod-{base_name(m)}" for m in MODELS}


def test_packaged_template_passes_cfn_lint(sam: Path) -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--format", "json", "--", str(sam)], capture_output=True, text=True
    )
    findings = json.loads(result.stdout or "[]")
    unexpected = [
        f"{f['Rule']['Id']} {f['Message']} at {f['Location']['Path']}"
        for f in findings
        if f["Rule"]["Id"] not in HARMLESS_LINT_RULES
    ]
    assert unexpected == []
    # Exit codes are bit flags: 2 error, 4 warning, 8 informational; anything else is a crash.
    assert result.returncode in (0, 4, 8, 12), result.stderr


CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CHECKOV_CONFIG = ROOT / "infra" / "checkov.yaml"


def test_packaged_template_passes_checkov(sam: Path) -> None:
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: `make test` installs it in .venv-checkov/")
    result = subprocess.run(
        [str(CHECKOV), "-f", str(sam), "--config-file", str(CHECKOV_CONFIG), "-o", "json"],
        capture_output=True,
        text=True,
    )
    report = json.loads(result.stdout)
    failed = [
        f"{f['check_id']} {f['check_name']}: {f['resource']}"
        for f in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert report["summary"]["passed"] > 100 and result.returncode == 0, result.stderr


def test_every_check_checkov_skips_says_why_above_it() -> None:
    lines = CHECKOV_CONFIG.read_text().splitlines()
    skips = [n for n, line in enumerate(lines) if line.strip().startswith("- CKV")]
    assert len(skips) >= 10
    for n in skips:
        above = n - 1
        while lines[above].strip().startswith("- CKV"):  # a group shares its reason
            above -= 1
        assert lines[above].strip().startswith("#"), f"{lines[n].strip()} has no reason"


def test_the_api_returns_binary_answers_whatever_the_client_accepts(
    resources: dict[str, Any],
) -> None:
    """The open pixel is bytes even for a mail program whose Accept lists no image type."""
    body = resources[template.REST_API]["Properties"]["DefinitionBody"]
    assert body[template.BINARY_TYPES] == ["*/*"]
    assert body["paths"]["/t/o/{token}"]["get"]  # still Chalice's API, with its routes


def test_the_functions_cannot_change_or_delete_the_audit_log() -> None:
    from fnmatch import fnmatch

    from chalicelib.store.models import AuditModel

    policy = json.loads((ROOT / ".chalice" / "policy.json").read_text())
    audit_arn = (
        f"arn:aws:dynamodb:us-east-1:123456789012:table/{template.table_name(AuditModel, STAGE)}"
    )
    denied = {
        action
        for s in policy["Statement"]
        if s["Effect"] == "Deny" and fnmatch(audit_arn, s["Resource"])
        for action in s["Action"]
    }
    assert {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} <= denied
    others = (
        f"arn:aws:dynamodb:us-east-1:123456789012:table/{template.table_name(StatModel, STAGE)}"
    )
    assert not any(
        s["Effect"] == "Deny" and fnmatch(others, s["Resource"]) for s in policy["Statement"]
    )


def test_the_functions_may_mark_events_with_partiql_but_nothing_else() -> None:
    """Marks are written as PartiQL UPDATEs (pipeline/marks.py): allowed on the events table
    alone, and denied on the audit log like every other change."""
    from fnmatch import fnmatch

    from chalicelib.store.models import AuditModel, ContactModel, EventModel

    policy = json.loads((ROOT / ".chalice" / "policy.json").read_text())

    def allowed(model: type, action: str) -> bool:
        arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{template.table_name(model, STAGE)}"
        matching = [
            s
            for s in policy["Statement"]
            if action in s["Action"]
            and any(
                fnmatch(arn, r)
                for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
            )
        ]
        return any(s["Effect"] == "Allow" for s in matching) and not any(
            s["Effect"] == "Deny" for s in matching
        )

    assert allowed(EventModel, "dynamodb:PartiQLUpdate")
    assert not allowed(ContactModel, "dynamodb:PartiQLUpdate")
    assert not allowed(AuditModel, "dynamodb:PartiQLUpdate")


DATA_SERVICES = ("dynamodb", "sqs", "ses", "secretsmanager")
# Actions AWS authorizes only on "*" (no resource-level permissions): listing a table's stream
# names, which the stream's event source mapping needs and which reads no item.
ONLY_ON_EVERYTHING = {"dynamodb:ListStreams"}


def test_the_functions_role_grants_no_wildcard_action_or_resource_on_data() -> None:
    policy = json.loads((ROOT / ".chalice" / "policy.json").read_text())
    allowed = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    actions = [a for s in allowed for a in s["Action"]]

    assert [a for a in actions if "*" in a] == []
    for statement in allowed:
        data = [a for a in statement["Action"] if a.split(":")[0] in DATA_SERVICES]
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        if not data or set(data) <= ONLY_ON_EVERYTHING:
            continue
        for resource in resources:
            name = resource.split(":", 5)[-1]
            assert resource != "*" and name not in ("*", "table/*", "*/*"), (data, resource)
            assert "leadflow-" in name or name == "identity/*", (data, resource)


def test_the_api_is_throttled_and_the_public_routes_have_their_own_limit(
    resources: dict[str, Any],
) -> None:
    settings = resources["RestAPI"]["Properties"]["MethodSettings"]
    by_route = {(s["ResourcePath"], s["HttpMethod"]): s for s in settings}

    default = by_route[("/*", "*")]
    forms = by_route[("/~1forms~1{form_id}~1submissions", "POST")]
    assert 0 < default["ThrottlingRateLimit"] < forms["ThrottlingRateLimit"]
    assert forms["ThrottlingBurstLimit"] >= forms["ThrottlingRateLimit"]
    assert ("/~1events", "POST") in by_route


def test_every_dead_letter_queue_and_every_function_has_an_alarm(
    resources: dict[str, Any],
) -> None:
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    watched = {
        str(d["Value"].get("Fn::GetAtt", [d["Value"].get("Ref")])[0])
        for a in alarms
        for d in a["Dimensions"]
        if isinstance(d["Value"], dict)
    }
    queues = {
        q
        for q, r in resources.items()
        if r["Type"] == "AWS::SQS::Queue" and q.endswith("DeadLetters")
    }
    functions = {f for f, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}

    assert queues | {"WebhooksDeadQueue"} <= watched
    assert functions <= watched
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms)
    assert any(a["MetricName"] == "5XXError" for a in alarms)
