"""CloudFormation for running Leadflow: API Gateway's throttling and the alarms.

- Throttling: API Gateway refuses (429) what passes the stage's limits before a Lambda runs
  or a request is billed past the gateway: one limit for the public form and event routes,
  sized for the 1,000 posts a second of docs/scaling.md, and a lower one for everything
  else. The in-app limiter (chalicelib/store/limits.py) then limits each client address,
  form and visitor.
- Alarms, all to one SNS topic (subscribe an email or a chat robot to it): a message in any
  dead-letter queue or parked webhook queue, errors in any function, 5xx answers from the
  API and a stream record the pipeline could not read.
"""

from __future__ import annotations

from typing import Any

Resource = dict[str, Any]

ALARM_TOPIC = "AlarmTopic"
# API Gateway's stage limits: requests a second, steady and in a burst.
PUBLIC_RATE, PUBLIC_BURST = 1000, 2000
ADMIN_RATE, ADMIN_BURST = 100, 200
PUBLIC_ROUTES = (("/forms/{form_id}/submissions", "POST"), ("/events", "POST"))
API_5XX_PER_5_MINUTES = 5
API_STAGE = "api"  # Chalice's stage name for the REST API


def method_settings() -> list[Resource]:
    """The stage's throttling: the public routes get their own, higher limits."""
    default = {
        "ResourcePath": "/*",
        "HttpMethod": "*",
        "ThrottlingRateLimit": ADMIN_RATE,
        "ThrottlingBurstLimit": ADMIN_BURST,
    }
    public = [
        {
            "ResourcePath": "/" + path.replace("/", "~1"),  # API Gateway escapes "/" as ~1
            "HttpMethod": method,
            "ThrottlingRateLimit": PUBLIC_RATE,
            "ThrottlingBurstLimit": PUBLIC_BURST,
        }
        for path, method in PUBLIC_ROUTES
    ]
    return [default, *public]


def _alarm(description: str, metric: Resource, threshold: float, period: int = 60) -> Resource:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            **metric,
            "Statistic": "Sum" if metric["Namespace"] != "AWS/SQS" else "Maximum",
            "Period": period,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": ALARM_TOPIC}],
            "OKActions": [{"Ref": ALARM_TOPIC}],
        },
    }


def queue_alarm(queue_id: str) -> Resource:
    """Anything waiting in a dead-letter (or parked webhook) queue needs a person."""
    metric = {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}],
    }
    return _alarm(f"A message is waiting in {queue_id}: see docs/deployment.md", metric, 1)


def function_alarm(function_id: str) -> Resource:
    metric = {
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function_id}}],
    }
    return _alarm(f"{function_id} failed", metric, 1, period=300)


def api_alarm(api_name: str, stage_name: str) -> Resource:
    """API Gateway names a REST API's metrics by its name (Chalice's app name) and stage."""
    metric = {
        "Namespace": "AWS/ApiGateway",
        "MetricName": "5XXError",
        "Dimensions": [
            {"Name": "ApiName", "Value": api_name},
            {"Name": "Stage", "Value": stage_name},
        ],
    }
    return _alarm(
        f"The API answered {API_5XX_PER_5_MINUTES} or more 5xx in five minutes",
        metric,
        API_5XX_PER_5_MINUTES,
        period=300,
    )


def resources(queue_ids: list[str], function_ids: list[str], api_name: str) -> dict[str, Resource]:
    """The alarm topic and every alarm, by logical id."""
    out: dict[str, Resource] = {
        ALARM_TOPIC: {
            "Type": "AWS::SNS::Topic",
            "Properties": {"DisplayName": "Leadflow alarms"},
        }
    }
    for queue_id in queue_ids:
        out[queue_id + "Alarm"] = queue_alarm(queue_id)
    for function_id in function_ids:
        out[function_id + "ErrorsAlarm"] = function_alarm(function_id)
    out["ApiServerErrorsAlarm"] = api_alarm(api_name, API_STAGE)
    return out
