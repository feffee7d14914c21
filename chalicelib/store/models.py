"""The tables: one PynamoDB model each, indexes beside them.

This is the single definition of tables and indexes: the local stack and the tests create
tables from it (store/tables.py) and `infra/` renders it into CloudFormation.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
    KeysOnlyProjection,
)
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
    tags = UnicodeSetAttribute(null=True)
    segments = UnicodeSetAttribute(null=True)
    stage = UnicodeAttribute(null=True)
    score = NumberAttribute(null=True)
    version = NumberAttribute(default=1)
    # Scoring: rule -> points (they add up to `score`), and each capped rule's current period.
    score_reasons = MapAttribute(default=dict)
    score_caps = MapAttribute(default=dict)
    # When engagement last scored and the decay timer is due (services/scorekeeper.py).
    score_decay = MapAttribute(null=True)
    # Sales: who owns the lead now, since when, and what they did with it.
    lead = MapAttribute(null=True)
    # RFM, recomputed daily for buyers: scores 1-5, tier and its label (services/rfm.py).
    rfm = MapAttribute(null=True)
    # Segments: when each windowed segment's re-check timer is set for (services/segmenter.py),
    # so an evaluation that would only move a timer later writes nothing.
    segment_rechecks = MapAttribute(null=True)
    # A contact merged into another keeps only this: where it went (its id still resolves).
    merged_into = UnicodeAttribute(null=True)


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
    fingerprint = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class ApiKeyModel(Model):
    """An admin API key, stored as its SHA-256 only."""

    class Meta(_Table):
        table_name = "api-keys"

    key_hash = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    owner = UnicodeAttribute(null=True)  # a sales key's owner id (routing.yaml): its leads only
    team = UnicodeAttribute(null=True)  # a sales manager's team id (routing.yaml): its leads
    prefix = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute(null=True)  # refused from then on (kept, to be listed)
    revoked_at = UTCDateTimeAttribute(null=True)


class ContentModel(Model):
    """A published version of one piece of marketing content (a form, later journeys...)."""

    class Meta(_Table):
        table_name = "content"

    key = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)
    body = MapAttribute()
    digest = UnicodeAttribute()
    published_at = UTCDateTimeAttribute()


class AssetPartModel(Model):
    """One part of a published file's bytes (marketing/assets/), keyed by their SHA-256: a
    DynamoDB item holds at most 400 KB, and immutable parts make republishing a no-op."""

    class Meta(_Table):
        table_name = "asset-parts"

    digest = UnicodeAttribute(hash_key=True)
    part = NumberAttribute(range_key=True)
    data = BinaryAttribute(legacy_encoding=False)


class DueIndex(GlobalSecondaryIndex):
    """Sparse: only enrollments with a due time carry `due_shard`, so a tick reads exactly
    what is due, never the contacts or enrollments that are merely waiting."""

    class Meta:
        index_name = "due"
        projection = AllProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    due_at = UTCDateTimeAttribute(range_key=True)


class EnrollmentModel(Model):
    """One contact in one version of one journey; `revision` guards every state change."""

    class Meta(_Table):
        table_name = "enrollments"

    contact_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    journey_id = UnicodeAttribute()
    journey_version = NumberAttribute()
    state = UnicodeAttribute()
    phase = UnicodeAttribute()
    revision = NumberAttribute()
    entered_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    timezone = UnicodeAttribute()
    due_at = UTCDateTimeAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)
    waiting = MapAttribute(null=True)
    visits = MapAttribute(default=dict)
    trigger = MapAttribute(default=dict)
    ended_at = UTCDateTimeAttribute(null=True)
    end_reason = UnicodeAttribute(null=True)
    converted_at = UTCDateTimeAttribute(null=True)
    holds_slot = BooleanAttribute(default=False)
    due = DueIndex()


class LedgerByContactIndex(GlobalSecondaryIndex):
    """Each contact's ledger entries, keys only: an erasure (or retention) finds the
    deliveries about one person with a query, never a read of the whole ledger."""

    class Meta:
        index_name = "by_contact"
        projection = KeysOnlyProjection()

    contact_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)


class LedgerModel(Model):
    """Side effects of journeys, keyed by enrollment, step and occurrence: written in the
    same transaction as the state change that causes them, so none can happen twice."""

    class Meta(_Table):
        table_name = "ledger"

    key = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    journey_id = UnicodeAttribute()
    step = UnicodeAttribute()
    payload = MapAttribute(default=dict)
    status = UnicodeAttribute(default="recorded")
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)
    claimed_until = UTCDateTimeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    result = MapAttribute(null=True)
    attempt_log = ListAttribute(null=True)
    by_contact = LedgerByContactIndex()


class SuppressionModel(Model):
    """An address no email may go to: a hard bounce, a complaint, or a manual block."""

    class Meta(_Table):
        table_name = "suppressions"

    address = UnicodeAttribute(hash_key=True)
    reason = UnicodeAttribute()
    detail = UnicodeAttribute(null=True)
    contact_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class SendHistoryModel(Model):
    """When a contact was last sent marketing email, across journeys (the frequency cap)."""

    class Meta(_Table):
        table_name = "send-history"

    contact_id = UnicodeAttribute(hash_key=True)
    sends = ListAttribute(of=UnicodeAttribute, default=list)
    revision = NumberAttribute(default=0)


class TimerDueIndex(GlobalSecondaryIndex):
    """Sparse like the enrollments' due index: the tick reads only timers that are due."""

    class Meta:
        index_name = "due"
        projection = AllProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    due_at = UTCDateTimeAttribute(range_key=True)


class TimerModel(Model):
    """A contact's deadline (an SLA, a follow-up reminder, score decay, an inactivity rule).

    When it is due the tick turns it into an event on the contact's timeline, once.
    """

    class Meta(_Table):
        table_name = "timers"

    contact_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    event = UnicodeAttribute()
    due_at = UTCDateTimeAttribute()
    due_shard = UnicodeAttribute()
    properties = MapAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    due = TimerDueIndex()


class CounterModel(Model):
    """Atomic counters, such as the active enrollments of a journey with a cap."""

    class Meta(_Table):
        table_name = "counters"

    key = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)
    # Counters of one email's opens and clicks go when nobody looks any more; others stay.
    expires_at = TTLAttribute(null=True)
    # A job's checkpoint (the last item it finished), and when it last ran or finished.
    cursor = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute(null=True)


class SegmentMemberModel(Model):
    """Who is in a segment or list, for listing its members page by page; the contact's own
    `segments` set is what conditions read, and both are written in one transaction."""

    class Meta(_Table):
        table_name = "segment-members"

    segment = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute(range_key=True)
    entered_at = UTCDateTimeAttribute()


class BroadcastDueIndex(GlobalSecondaryIndex):
    """Sparse: only broadcasts with something left to do (plan, release a wave) are in it."""

    class Meta:
        index_name = "due"
        projection = AllProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    due_at = UTCDateTimeAttribute(range_key=True)


class BroadcastModel(Model):
    """A scheduled broadcast's run: its state, its place in the audience, its waves."""

    class Meta(_Table):
        table_name = "broadcasts"

    id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute()
    status = UnicodeAttribute()
    send_at = UnicodeAttribute()  # as scheduled (local time for a local-time broadcast)
    starts_at = UTCDateTimeAttribute()
    cursor = UnicodeAttribute(null=True)  # the last audience member planned
    planned = NumberAttribute(default=0)
    # Wave instant (ISO) -> how many emails go then; and the waves handed to the queue.
    waves = MapAttribute(default=dict)
    released = ListAttribute(of=UnicodeAttribute, default=list)
    release_cursor = UnicodeAttribute(null=True)
    winner = UnicodeAttribute(null=True)
    winner_reason = UnicodeAttribute(null=True)
    tested_at = UTCDateTimeAttribute(null=True)  # when the last test wave went to the queue
    scheduled_by = UnicodeAttribute(null=True)
    scheduled_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    revision = NumberAttribute(default=0)
    due_shard = UnicodeAttribute(null=True)
    due_at = UTCDateTimeAttribute(null=True)
    due = BroadcastDueIndex()


class BroadcastSendModel(Model):
    """One planned email of a broadcast, filed under its wave (the broadcast and the instant
    it goes), so releasing a wave is one Query; the ledger entry beside it makes it once."""

    class Meta(_Table):
        table_name = "broadcast-sends"

    wave = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute(range_key=True)
    variant = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


class ImportJobsByStatusIndex(GlobalSecondaryIndex):
    """Each status's jobs by id, which is time-ordered: the job list reads newest first with a
    Query per status, never a Scan. Keyed by an attribute every job has, so jobs recorded
    before the index existed are filled in. Without the rejected rows (up to 200 KB each)."""

    class Meta:
        index_name = "by_status"
        projection = IncludeProjection(
            [
                "name",
                "size",
                "options",
                "dry_run",
                "by",
                "rows_read",
                "summary",
                "error",
                "created_at",
                "updated_at",
            ]
        )

    status = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class ImportJobModel(Model):
    """An import uploaded through the API: its options, where it is, and what it did. The
    file's bytes are kept like a published file's (asset-parts, by their SHA-256)."""

    class Meta(_Table):
        table_name = "import-jobs"

    id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    name = UnicodeAttribute()
    digest = UnicodeAttribute()
    size = NumberAttribute()
    options = MapAttribute(default=dict)
    dry_run = BooleanAttribute(default=False)
    by = UnicodeAttribute()
    rows_read = NumberAttribute(default=0)
    summary = MapAttribute(null=True)
    rejected = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)
    by_status = ImportJobsByStatusIndex()


class StatModel(Model):
    """Report counters: one item per scope (a campaign, a journey step, an owner...) and day,
    split over a few shards so that concurrent writers rarely meet on one item. Each metric is
    an attribute of its own, named by reports/tally.py (`sent`, `stage:mql`, `revenue@USD`),
    added to atomically; `total#{shard}` items hold levels that go up and down (waiting now)."""

    class Meta(_Table):
        table_name = "stats"

    scope = UnicodeAttribute(hash_key=True)
    bucket = UnicodeAttribute(range_key=True)  # "2026-11-03#2", or "total#2"
    # The marker of an event already counted (scope "tally#{event id}") goes after a while.
    expires_at = TTLAttribute(null=True)


class AuditModel(Model):
    """The audit log: who did what, when, from where, with what outcome. Append-only: the
    store writes an entry once and has no update or delete, and the deployed role is denied
    both on this table (.chalice/policy.json). One partition per month, newest read first."""

    class Meta(_Table):
        table_name = "audit"

    month = UnicodeAttribute(hash_key=True)  # "2026-12"
    entry = UnicodeAttribute(range_key=True)  # "2026-12-02T07:05:00.000001+00:00#a1b2c3d4"
    actor = MapAttribute()  # {"kind": "key"|"cli"|"dashboard", "id", "name", "role"}
    action = UnicodeAttribute()  # "POST /keys", "cli import"
    target = UnicodeAttribute(null=True)  # the path with its ids, or the file
    source = UnicodeAttribute(null=True)  # the client's address, or the machine's user
    status = NumberAttribute()  # the HTTP status, or the command's exit code
    details = MapAttribute(default=dict)  # before, after, query: what changed or was asked


class PrivacyRequestModel(Model):
    """A person's request under PIPL or GDPR (export, erasure), with its 30-day deadline.
    The person is named by a keyed hash of their email or phone, never in plain text."""

    class Meta(_Table):
        table_name = "privacy-requests"

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # "export" | "erasure"
    status = UnicodeAttribute()  # "open" | "done"
    subject = UnicodeAttribute()  # keyed hash of the contact's key
    contact_id = UnicodeAttribute(null=True)
    received_at = UTCDateTimeAttribute()
    due_at = UTCDateTimeAttribute()
    done_at = UTCDateTimeAttribute(null=True)
    by = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    result = MapAttribute(null=True)  # what was exported or deleted, counted by table


MODELS: tuple[type[Model], ...] = (
    ContactModel,
    ContactKeyModel,
    EventModel,
    IdempotencyModel,
    ApiKeyModel,
    ContentModel,
    AssetPartModel,
    EnrollmentModel,
    LedgerModel,
    SendHistoryModel,
    CounterModel,
    SuppressionModel,
    TimerModel,
    SegmentMemberModel,
    BroadcastModel,
    BroadcastSendModel,
    ImportJobModel,
    StatModel,
    AuditModel,
    PrivacyRequestModel,
)
