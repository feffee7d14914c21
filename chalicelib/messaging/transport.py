"""The edge to SES v2: one raw send, with throttling told apart from a refused message.

botocore's own retries are off for this client: the sender retries throttling itself, on its
injected clock, so a test can see the backoff and the rate limit without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib import loopback, user_agent
from chalicelib.config import Settings

THROTTLING = frozenset(
    {"TooManyRequestsException", "Throttling", "ThrottlingException", "LimitExceededException"}
)
REFUSED = frozenset(
    {
        "MessageRejected",
        "BadRequestException",
        "MailFromDomainNotVerifiedException",
        "NotFoundException",
        "AccountSuspendedException",
        "SendingPausedException",
    }
)


class Throttled(RuntimeError):
    """SES asked us to slow down; the same message may be tried again later."""


class Refused(RuntimeError):
    """SES will not send this message as it is; trying again will not help."""


@dataclass(frozen=True)
class Outgoing:
    sender: str
    recipient: str
    raw: bytes
    tags: dict[str, str] = field(default_factory=dict)


class Transport(Protocol):
    def send(self, mail: Outgoing) -> str:
        """Hand the message over; returns the provider's message id."""
        ...


class SesTransport:
    def __init__(self, settings: Settings) -> None:
        self.configuration_set = settings.configuration_set
        client = boto3.client(
            "sesv2",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )
        self.client = user_agent.remember(loopback.adapt(client))

    def send(self, mail: Outgoing) -> str:
        request = {
            "FromEmailAddress": mail.sender,
            "Destination": {"ToAddresses": [mail.recipient]},
            "Content": {"Raw": {"Data": mail.raw}},
            "EmailTags": [{"Name": k, "Value": v} for k, v in mail.tags.items()],
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            return self.client.send_email(**request)["MessageId"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            message = exc.response.get("Error", {}).get("Message", "")
            if code in THROTTLING:
                raise Throttled(f"{code}: {message}") from exc
            if code in REFUSED:
                raise Refused(f"{code}: {message}") from exc
            raise

    def verify_domain(self, domain: str) -> None:
        """Local only: the emulator, like SES, refuses senders whose identity is not verified."""
        self.client.create_email_identity(EmailIdentity=domain)

    def ensure_configuration_set(self) -> None:
        """Local only: the configuration set AWS gets from infra/."""
        if not self.configuration_set:
            return
        names = self.client.list_configuration_sets().get("ConfigurationSets", [])
        if self.configuration_set not in names:
            self.client.create_configuration_set(ConfigurationSetName=self.configuration_set)
