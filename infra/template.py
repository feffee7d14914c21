"""CloudFormation for the tables, queues and event source mappings, rendered from the code.

The models are the single definition of tables: the local stack and the tests create tables
from the same classes, so what runs on AWS cannot drift from what the code was tested against.
The result is merged into the template `chalice package` generates (see infra/package.py).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from pynamodb.attributes import Attribute, TTLAttribute
from pynamodb.indexes import GlobalSecondaryIndex, Index
from pynamodb.models import Model

from chalicelib.api.http import NO_ROUTE
from chalicelib.config import Settings
from chalicelib.messaging.queues import ADVANCE, IMPORTS, QUEUES, SENDS, WEBHOOKS, WEBHOOKS_DEAD
from chalicelib.store.models import MODELS, EventModel
from chalicelib.store.tables import base_name
from infra import operations

Resource = dict[str, Any]

PIPELINE_FUNCTION = "Pipeline"
"""Chalice's logical id for `@app.lambda_function(name="pipeline")` in app.py."""

STREAM_MAPPING = "PipelineEventSource"
ADVANCE_FUNCTION = "Advance"
"""Chalice's logical id for `@app.lambda_function(name="advance")`: the tick's fan-out worker."""
ADVANCE_MAPPING = "AdvanceEventSource"
ADVANCE_TIMEOUT_SECONDS = 120
"""The worker's Lambda timeout (.chalice/config.json); a message stays hidden six times it."""
DEAD_LETTER_AFTER = 5
IMPORTER_FUNCTION = "Importer"
"""Chalice's logical id for `@app.lambda_function(name="importer")`: the API's import jobs."""
IMPORTS_MAPPING = "ImportsEventSource"
IMPORTER_TIMEOUT_SECONDS = 900
"""Lambda's longest run; a longer import resumes from its checkpoint when the message
comes back, so the queue hides a message only a little longer than one run."""
SENDER_FUNCTION = "Sender"
"""Chalice's logical id for `@app.lambda_function(name="sender")`: the send queue's consumer."""
SENDS_MAPPING = "SendsEventSource"
API_FUNCTION = "APIHandler"
REST_API = "RestAPI"
"""Chalice's logical id for the REST API the routes make."""
NO_ROUTE_RESPONSE = "NoRouteResponse"
BINARY_TYPES = "x-amazon-apigateway-binary-media-types"
WEBHOOKS_FUNCTION = "Webhooks"
"""Chalice's logical id for `@app.lambda_function(name="webhooks")`: the webhook courier."""
WEBHOOKS_MAPPING = "WebhooksEventSource"
# SES's default production quota is 14 emails a second: two senders at 7 each (the stage's
# LEADFLOW_MAX_SEND_RATE in .chalice/config.json) stay under it. Raise both with the quota.
SENDER_CONCURRENCY = 2
SES_EVENTS = ["bounce", "complaint", "delivery"]
FUNCTIONS = [
    API_FUNCTION,
    PIPELINE_FUNCTION,
    ADVANCE_FUNCTION,
    IMPORTER_FUNCTION,
    SENDER_FUNCTION,
    WEBHOOKS_FUNCTION,
    "Sweeper",
    "Tick",
]
"""Every function's logical id in Chalice's template (the schedules' are their names)."""

# Leads must reach the pipeline within seconds: wait at most a second to fill a batch.
BATCHING_WINDOW_SECONDS = 1
# The processor parks an event as failed after five attempts; should Lambda give up on a
# record still pending, the sweeper (app.py, every minute) picks it up, so nothing is lost.
MAX_RETRY_ATTEMPTS = 5


def table_prefix(stage: str) -> str:
    """The prefix the Lambdas resolve at runtime for `stage` (chalicelib/config.py's default)."""
    return Settings.from_env({"LEADFLOW_STAGE": stage}).table_prefix


def table_name(model: type[Model], stage: str) -> str:
    return table_prefix(stage) + base_name(model)


def logical_id(model: type[Model]) -> str:
    """`contact-keys` -> `ContactKeysTable`: stable, so CloudFormation never replaces a table."""
    words = base_name(model).replace("_", "-").split("-")
    return "".join(word.capitalize() for word in words) + "Table"


def render(stage: str) -> dict[str, Any]:
    """The merge template for `stage`: one table per model, the stream mapping, outputs."""
    resources = {logical_id(model): table(model, stage) for model in MODELS}
    resources[STREAM_MAPPING] = stream_mapping(EventModel)
    outputs = {
        f"{logical_id(model)}Name": {"Value": {"Ref": logical_id(model)}} for model in MODELS
    }
    outputs["EventsStreamArn"] = {"Value": {"Fn::GetAtt": [logical_id(EventModel), "StreamArn"]}}
    for name in QUEUES:
        queue_id = queue_logical_id(name)
        outputs[f"{queue_id}Url"] = {"Value": {"Ref": queue_id}}
        if name == WEBHOOKS_DEAD:  # where the courier parks deliveries that failed for a day
            resources[queue_id] = parking_queue(name, stage)
            continue
        resources[queue_id] = queue(name, stage)
        resources[queue_id + "DeadLetters"] = dead_letter_queue(name, stage)
    resources[ADVANCE_MAPPING] = queue_mapping(ADVANCE, ADVANCE_FUNCTION)
    resources[SENDS_MAPPING] = sends_mapping()
    resources[WEBHOOKS_MAPPING] = queue_mapping(WEBHOOKS, WEBHOOKS_FUNCTION)
    resources[IMPORTS_MAPPING] = queue_mapping(IMPORTS, IMPORTER_FUNCTION)
    resources.update(email_resources(stage))
    for logical, resource in secret_resources(stage).items():
        _merge(resources.setdefault(logical, {}), resource)
    # API Gateway turns a base64 answer into bytes only when the request's first Accept type
    # is a binary media type, and mail programs fetch the open pixel with anything from
    # image/webp to no Accept at all. With every type binary the GIF is always bytes; answers
    # that are not base64 (JSON, HTML) pass through as they are, and request bodies reach
    # Chalice base64 encoded, which it decodes.
    resources[REST_API] = {
        "Properties": {
            "DefinitionBody": {BINARY_TYPES: ["*/*"]},
            "MethodSettings": operations.method_settings(),
        }
    }
    parked = [queue_logical_id(WEBHOOKS_DEAD)]
    dead = [queue_logical_id(n) + "DeadLetters" for n in QUEUES if n != WEBHOOKS_DEAD]
    resources.update(operations.resources(parked + dead, FUNCTIONS, "leadflow"))
    resources[NO_ROUTE_RESPONSE] = no_route_response()
    outputs["SesConfigurationSetName"] = {"Value": {"Ref": "SesConfigurationSet"}}
    outputs["SesFeedbackTopicArn"] = {"Value": {"Ref": "SesFeedbackTopic"}}
    return {"Resources": resources, "Outputs": outputs}


def secret_resources(stage: str) -> dict[str, Resource]:
    """The deployment's secrets, read by every function at cold start (store/secrets.py), so
    none sits in a function's configuration. `SigningSecret` (generated, never changed) keys
    the hashes that stand for a person and signs links until a rotation; `Secrets` holds what
    the operator adds (CAPTCHA and robot secrets, a rotated signing secret), and wins."""
    prefix = table_prefix(stage)
    plain = {"Ref": "SigningSecret"}
    ids = {
        "Fn::Join": [
            "",
            [
                "LEADFLOW_PEPPER=",
                plain,
                ",LEADFLOW_SIGNING_SECRET=",
                plain,
                ",",
                {"Ref": "Secrets"},
            ],
        ]
    }
    resources: dict[str, Resource] = {
        "SigningSecret": {
            "Type": "AWS::SecretsManager::Secret",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Name": f"{prefix}link-signing",
                "Description": "Signs Leadflow's email links and keys its hashes of people",
                "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True},
            },
        },
        "Secrets": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": f"{prefix}secrets",
                "Description": "Leadflow's secrets you add: CAPTCHA, robots (docs/deployment.md)",
                "SecretString": "{}",
            },
        },
    }
    for function in FUNCTIONS:
        resources[function] = {
            "Properties": {"Environment": {"Variables": {"LEADFLOW_SECRETS_ARN": ids}}}
        }
    return resources


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def no_route_response() -> Resource:
    """A path no route serves: 404 with our error body, not API Gateway's bare 403 "Missing
    Authentication Token" (the local stack's gateway answers the same, local/gateway.py)."""
    return {
        "Type": "AWS::ApiGateway::GatewayResponse",
        "Properties": {
            "RestApiId": {"Ref": REST_API},
            "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
            "StatusCode": "404",
            "ResponseTemplates": {"application/json": json.dumps(NO_ROUTE.body())},
        },
    }


def sends_mapping() -> Resource:
    """Ten emails per invocation, at most SENDER_CONCURRENCY senders at once (the send rate)."""
    mapping = queue_mapping(SENDS, SENDER_FUNCTION)
    mapping["Properties"]["BatchSize"] = 10
    mapping["Properties"]["ScalingConfig"] = {"MaximumConcurrency": SENDER_CONCURRENCY}
    return mapping


def email_resources(stage: str) -> dict[str, Resource]:
    """SES's configuration set and its bounce/complaint topic subscribed to our route."""
    prefix = table_prefix(stage)
    environment = {
        "Properties": {
            "Environment": {
                "Variables": {
                    "LEADFLOW_SES_FEEDBACK_TOPICS": {"Ref": "SesFeedbackTopic"},
                    "LEADFLOW_SES_CONFIGURATION_SET": {"Ref": "SesConfigurationSet"},
                }
            }
        }
    }
    return {
        "SesConfigurationSet": {
            "Type": "AWS::SES::ConfigurationSet",
            "Properties": {"Name": f"leadflow-{stage}"},
        },
        "SesFeedbackTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": f"{prefix}ses-feedback"},
        },
        "SesFeedbackDestination": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "Properties": {
                "ConfigurationSetName": {"Ref": "SesConfigurationSet"},
                "EventDestination": {
                    "Name": "bounces-and-complaints",
                    "Enabled": True,
                    "MatchingEventTypes": SES_EVENTS,
                    "SnsDestination": {"TopicARN": {"Ref": "SesFeedbackTopic"}},
                },
            },
        },
        "SesFeedbackSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "SesFeedbackTopic"},
                "Protocol": "https",
                "Endpoint": {
                    "Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
                    "/api/ses/notifications"
                },
            },
        },
        API_FUNCTION: environment,
        SENDER_FUNCTION: environment,
        PIPELINE_FUNCTION: environment,  # signs the owner's accept links in hand-offs
    }


def queue_logical_id(name: str) -> str:
    """`journey-advance` -> `JourneyAdvanceQueue`."""
    return "".join(word.capitalize() for word in name.split("-")) + "Queue"


def queue(name: str, stage: str) -> Resource:
    """A queue named as the Lambdas resolve it; a message failing five times is dead-lettered."""
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": table_prefix(stage) + name,
            "SqsManagedSseEnabled": True,
            "VisibilityTimeout": (
                IMPORTER_TIMEOUT_SECONDS + 60 if name == IMPORTS else ADVANCE_TIMEOUT_SECONDS * 6
            ),
            "RedrivePolicy": {
                "deadLetterTargetArn": {
                    "Fn::GetAtt": [queue_logical_id(name) + "DeadLetters", "Arn"]
                },
                "maxReceiveCount": DEAD_LETTER_AFTER,
            },
            "Tags": [{"Key": "leadflow:stage", "Value": stage}],
        },
    }


def parking_queue(name: str, stage: str) -> Resource:
    """A queue nothing consumes: its messages wait (14 days) for an admin's replay."""
    resource = dead_letter_queue(name, stage)
    resource["Properties"]["QueueName"] = table_prefix(stage) + name
    return resource


def dead_letter_queue(name: str, stage: str) -> Resource:
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": f"{table_prefix(stage)}{name}-dlq",
            "SqsManagedSseEnabled": True,
            "MessageRetentionPeriod": 14 * 24 * 3600,
            "Tags": [{"Key": "leadflow:stage", "Value": stage}],
        },
    }


def queue_mapping(name: str, function: str) -> Resource:
    """One message (up to 100 enrollments) per invocation keeps a worker well inside its time."""
    return {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {
            "EventSourceArn": {"Fn::GetAtt": [queue_logical_id(name), "Arn"]},
            "FunctionName": {"Ref": function},
            "BatchSize": 1,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    }


def table(model: type[Model], stage: str) -> Resource:
    """An on-demand, encrypted, point-in-time-recoverable table that outlives its stack."""
    attributes = model.get_attributes().values()
    properties: Resource = {
        "TableName": table_name(model, stage),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": _attribute_definitions(model),
        "KeySchema": _key_schema(attributes),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "Tags": [{"Key": "leadflow:stage", "Value": stage}],
    }
    indexes = list(model._indexes.values())
    if indexes:
        properties["GlobalSecondaryIndexes"] = [_global_index(index) for index in indexes]
    stream_view_type = getattr(model.Meta, "stream_view_type", None)
    if stream_view_type:
        properties["StreamSpecification"] = {"StreamViewType": stream_view_type}
    ttl = [attr.attr_name for attr in attributes if isinstance(attr, TTLAttribute)]
    if ttl:
        (attribute_name,) = ttl
        properties["TimeToLiveSpecification"] = {"AttributeName": attribute_name, "Enabled": True}
    return {
        "Type": "AWS::DynamoDB::Table",
        # Leads are the product: deleting the stack or replacing a table must not drop them.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def stream_mapping(model: type[Model]) -> Resource:
    """Feeds new events, and only new events, from the table's stream to the pipeline."""
    return {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {
            "EventSourceArn": {"Fn::GetAtt": [logical_id(model), "StreamArn"]},
            "FunctionName": {"Ref": PIPELINE_FUNCTION},
            # The pipeline marks events processed by updating them; those MODIFY records are
            # filtered out before they cost an invocation.
            "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}]},
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": 100,
            "MaximumBatchingWindowInSeconds": BATCHING_WINDOW_SECONDS,
            # The handler returns the first failed record; Lambda retries from it, in order.
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": MAX_RETRY_ATTEMPTS,
        },
    }


def _global_index(index: Index) -> Resource:
    if not isinstance(index, GlobalSecondaryIndex):
        raise TypeError(f"{type(index).__name__}: only global secondary indexes are rendered")
    projection = index.Meta.projection
    rendered: Resource = {"ProjectionType": projection.projection_type}
    if projection.non_key_attributes:
        rendered["NonKeyAttributes"] = list(projection.non_key_attributes)
    return {
        "IndexName": index.Meta.index_name,
        "KeySchema": _key_schema(index.Meta.attributes.values()),
        "Projection": rendered,
    }


def _key_schema(attributes: Collection[Attribute]) -> list[Resource]:
    return [
        {"AttributeName": attr.attr_name, "KeyType": "HASH" if attr.is_hash_key else "RANGE"}
        for attr in _keys(attributes)
    ]


def _attribute_definitions(model: type[Model]) -> list[Resource]:
    """Every attribute used as a key of the table or of an index, once each."""
    keys = _keys(model.get_attributes().values())
    for index in model._indexes.values():
        keys += _keys(index.Meta.attributes.values())
    types = {attr.attr_name: attr.attr_type for attr in keys}
    return [{"AttributeName": name, "AttributeType": types[name]} for name in sorted(types)]


def _keys(attributes: Collection[Attribute]) -> list[Attribute]:
    """The key attributes, hash key first as DynamoDB requires."""
    keys = [attr for attr in attributes if attr.is_hash_key or attr.is_range_key]
    return sorted(keys, key=lambda attr: not attr.is_hash_key)
