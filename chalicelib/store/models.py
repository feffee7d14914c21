"""The tables: one PynamoDB model each, indexes beside them.

This is the single definition of tables and indexes: the local stack and the tests create
tables from it (store/tables.py) and `infra/` renders it into CloudFormation.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class _Table:
    """Defaults shared by every table's Meta; store/tables.py binds names and endpoint."""

    region = "us-east-1"
    billing_mode = "PAY_PER_REQUEST"
    max_retry_attempts = 3


class ContactModel(Model):
    """A person: identity, profile properties, consent and attribution."""

    class Meta(_Table):
        table_name = "contacts"

    id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    properties = MapAttribute(default=dict)
    first_touch = MapAttribute(null=True)
    last_touch = MapAttribute(null=True)
    consents = MapAttribute(default=dict)
    visitor_ids = UnicodeSetAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    created_by_event = UnicodeAttribute()
    submissions = NumberAttribute(default=0)
    version = NumberAttribute(default=1)


class ContactKeyModel(Model):
    """A normalised identity (email:..., phone:..., visitor:...) -> the contact it belongs to.

    Conditional writes on this table are what keep one person from becoming two contacts.
    """

    class Meta(_Table):
        table_name = "contact-keys"

    key = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class PendingIndex(GlobalSecondaryIndex):
    """Sparse: only events not yet processed carry `pending_shard`, so the sweeper reads
    exactly the stragglers, sharded to spread a burst over partitions."""

    class Meta:
        index_name = "pending"
        projection = AllProjection()

    pending_shard = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)


class EventModel(Model):
    """A contact's timeline; the table's stream is the outbox that feeds the pipeline."""

    class Meta(_Table):
        table_name = "events"
        stream_view_type = "NEW_IMAGE"

    contact_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    type = UnicodeAttribute()
    occurred_at = UTCDateTimeAttribute()
    source = UnicodeAttribute()
    properties = MapAttribute(default=dict)
    touch = MapAttribute(null=True)
    caused_by = UnicodeAttribute(null=True)
    pending_shard = UnicodeAttribute(null=True)
    processed_at = UTCDateTimeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    failed = BooleanAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    pending = PendingIndex()


class IdempotencyModel(Model):
    """The first answer to a request made with an Idempotency-Key, replayed to retries."""

    class Meta(_Table):
        table_name = "idempotency"

    key = UnicodeAttribute(hash_key=True)
    response = MapAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class ApiKeyModel(Model):
    """An admin API key, stored as its SHA-256 only."""

    class Meta(_Table):
        table_name = "api-keys"

    key_hash = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    prefix = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ContentModel(Model):
    """A published version of one piece of marketing content (a form, later journeys...)."""

    class Meta(_Table):
        table_name = "content"

    key = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)
    body = MapAttribute()
    digest = UnicodeAttribute()
    published_at = UTCDateTimeAttribute()


MODELS: tuple[type[Model], ...] = (
    ContactModel,
    ContactKeyModel,
    EventModel,
    IdempotencyModel,
    ApiKeyModel,
    ContentModel,
)
