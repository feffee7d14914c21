"""DynamoDB's consumed capacity, not asked for.

PynamoDB asks every request for the capacity it consumed (`ReturnConsumedCapacity: TOTAL`)
only to write the figure to a debug log; Leadflow reads it nowhere (on AWS, CloudWatch has
it). Dropping the ask makes every answer a little smaller, and spares the embedded AWS the
measuring it does for it: every item of a transaction, old and new, and every index's share.
A caller that does want the figure can still ask for INDEXES.
"""

from __future__ import annotations

from typing import Any


def forgo(client: Any) -> None:
    """Send this DynamoDB client's requests without PynamoDB's TOTAL ask."""
    client.meta.events.register("before-parameter-build.dynamodb", _unasked, unique_id=__name__)


def _unasked(params: dict[str, Any], **_: Any) -> None:
    if params.get("ReturnConsumedCapacity") == "TOTAL":
        del params["ReturnConsumedCapacity"]
