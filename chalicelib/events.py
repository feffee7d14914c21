"""The spine: every fact about a contact is an Event, appended to its timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Every event type Leadflow writes or takes from a website, by name: one constant each, used
# everywhere instead of the string (a test checks), described in CATALOGUE and docs/events.md.
FORM_SUBMITTED = "form_submitted"
PAGE_VIEWED = "page_viewed"
FILE_DOWNLOADED = "file_downloaded"
IDENTIFIED = "identified"
CONTACT_UPDATED = "contact_updated"
CONTACT_IMPORTED = "contact_imported"
CONTACTS_MERGED = "contacts_merged"
SUBSCRIBED = "subscribed"
TOPIC_UNSUBSCRIBED = "topic_unsubscribed"
UNSUBSCRIBED = "unsubscribed"
CONSENT_GIVEN = "consent_given"
CONSENT_WITHDRAWN = "consent_withdrawn"
SCORE_CHANGED = "score_changed"
SCORE_DECAY_DUE = "score_decay_due"
STAGE_CHANGED = "stage_changed"
SEGMENT_ENTERED = "segment_entered"
SEGMENT_LEFT = "segment_left"
SEGMENT_RECHECK_DUE = "segment_recheck_due"
SEGMENT_BACKFILL = "segment_backfill"
JOURNEY_ENTERED = "journey_entered"
JOURNEY_CONVERTED = "journey_converted"
JOURNEY_EXITED = "journey_exited"
JOURNEY_COMPLETED = "journey_completed"
JOURNEY_ENROLLMENT_REQUESTED = "journey_enrollment_requested"
SEND_DEFERRED = "send_deferred"
BRANCH_TAKEN = "branch_taken"
SPLIT_ASSIGNED = "split_assigned"
WAIT_MATCHED = "wait_matched"
WAIT_TIMED_OUT = "wait_timed_out"
HANDOFF_REQUESTED = "handoff_requested"
EMAIL_QUEUED = "email_queued"
EMAIL_SENT = "email_sent"
EMAIL_SKIPPED = "email_skipped"
EMAIL_FAILED = "email_failed"
EMAIL_DELIVERED = "email_delivered"
EMAIL_BOUNCED = "email_bounced"
EMAIL_COMPLAINED = "email_complained"
EMAIL_OPENED = "email_opened"
EMAIL_CLICKED = "email_clicked"
WEBHOOK_QUEUED = "webhook_queued"
WEBHOOK_DELIVERED = "webhook_delivered"
WEBHOOK_FAILED = "webhook_failed"
WEBHOOK_SKIPPED = "webhook_skipped"
LEAD_ASSIGNED = "lead_assigned"
LEAD_ACCEPTED = "lead_accepted"
LEAD_RECYCLED = "lead_recycled"
LEAD_RELEASED = "lead_released"
LEAD_REASSIGNED = "lead_reassigned"
LEAD_UNASSIGNED = "lead_unassigned"
LEAD_SLA_EXPIRED = "lead_sla_expired"
LEAD_FOLLOW_UP_DUE = "lead_follow_up_due"
LEAD_DISQUALIFIED = "lead_disqualified"
FOLLOW_UP_LOGGED = "follow_up_logged"
FOLLOW_UP_REMINDED = "follow_up_reminded"
CONTACT_STALE = "contact_stale"
RETENTION_DUE = "retention_due"
VERIFICATION_REQUESTED = "verification_requested"
OPPORTUNITY_CREATED = "opportunity_created"
DEAL_WON = "deal_won"
DEAL_LOST = "deal_lost"
PURCHASE = "purchase"
RFM_CHANGED = "rfm_changed"
RULE_DUE = "rule_due"
RULE_FIRED = "rule_fired"

CATALOGUE: dict[str, tuple[str, str]] = {
    FORM_SUBMITTED: (
        "capture",
        "a form post: `form_id`, `fields`, `consent`, `visitor_id`, `user_agent`, `ip`",
    ),
    PAGE_VIEWED: ("website (POST /events)", "a page view: `url`, `visitor_id`"),
    FILE_DOWNLOADED: ("website (the thank-you page)", "a download: `file`, `form_id`"),
    IDENTIFIED: ("stitching", "an anonymous visitor became a known contact: `visitor_id`"),
    CONTACT_UPDATED: (
        "journeys, sales, rules",
        "profile fields changed: `changes`, `before`, `by`",
    ),
    CONTACT_IMPORTED: (
        "import",
        "a contact came from an imported file, or a row changed it: `import`, `file`, `row`, "
        "`action`, `changed`",
    ),
    CONTACTS_MERGED: (
        "merge (API, CLI)",
        "another contact was merged into this one: `merged`, `by`, `taken`, `moved`",
    ),
    SUBSCRIBED: ("preference centre", "a topic turned back on: `topic`"),
    TOPIC_UNSUBSCRIBED: ("preference centre", "one topic turned off: `topic`"),
    UNSUBSCRIBED: ("one-click, preference centre", "no marketing email at all: journeys end on it"),
    CONSENT_GIVEN: (
        "consents API, CLI",
        "consent to a purpose given by another channel (phone, paper): `purpose`, `source`, "
        "`version`",
    ),
    CONSENT_WITHDRAWN: (
        "consents API, CLI",
        "consent to a purpose taken back: `purpose`, `source`",
    ),
    SCORE_CHANGED: ("scoring", "points for a rule: `rule`, `points`, `score`"),
    SCORE_DECAY_DUE: ("scoring timer", "a score's decay is due"),
    STAGE_CHANGED: ("scoring, journeys, sales", "lifecycle stage: `from`, `to`, `why`"),
    SEGMENT_ENTERED: ("segments", "joined a segment: `segment`, `reason` (or `by`, for a list)"),
    SEGMENT_LEFT: ("segments", "left a segment: `segment`, `reason` (or `by`, for a list)"),
    SEGMENT_RECHECK_DUE: (
        "segments timer",
        "a segment's time window may have changed the verdict: `segment`",
    ),
    SEGMENT_BACKFILL: (
        "segments (publish)",
        "the cause of memberships a new segment version backfills: `segment`, `version`;"
        " never stored",
    ),
    JOURNEY_ENTERED: ("journeys", "`version`, `trigger`"),
    JOURNEY_CONVERTED: ("journeys", "the goal happened: `goal`, `event_id`"),
    JOURNEY_EXITED: ("journeys", "left before the end: `reason`"),
    JOURNEY_COMPLETED: ("journeys", "reached the end"),
    JOURNEY_ENROLLMENT_REQUESTED: ("journeys (enroll step)", "`target_journey`"),
    SEND_DEFERRED: ("journeys", "a send waits for quiet hours or a send day: `until`"),
    BRANCH_TAKEN: ("journeys", "`case`, `goto`"),
    SPLIT_ASSIGNED: ("journeys", "`path`, `bucket`"),
    WAIT_MATCHED: ("journeys", "a wait_for saw its event: `event`, `event_id`"),
    WAIT_TIMED_OUT: ("journeys", "`waited_for`"),
    HANDOFF_REQUESTED: ("journeys (handoff step)", "`reason`, `priority`, `team`"),
    EMAIL_QUEUED: ("journeys, notices", "a send is on the send queue: `ledger`, `template`"),
    EMAIL_SENT: ("sender", "SES took it: `template`, `subject`, `links`, `message_id`"),
    EMAIL_SKIPPED: ("sender", "not sent, with `reason` (unsubscribed, suppressed, no consent...)"),
    EMAIL_FAILED: ("sender", "SES refused it: `reason`, `detail`"),
    EMAIL_DELIVERED: ("SES feedback", "delivered to the mailbox"),
    EMAIL_BOUNCED: ("SES feedback", "`bounce_type` (hard bounces suppress)"),
    EMAIL_COMPLAINED: ("SES feedback", "marked as spam (suppresses)"),
    EMAIL_OPENED: ("tracking pixel", "`email`, `unique`"),
    EMAIL_CLICKED: ("click links", "`email`, `url`, `unique`"),
    WEBHOOK_QUEUED: ("journeys, notices", "a post is on the webhook queue: `ledger`"),
    WEBHOOK_DELIVERED: ("courier", "the far end took it: `status`"),
    WEBHOOK_FAILED: ("courier", "retries ran out (dead-lettered, replayable): `error`"),
    WEBHOOK_SKIPPED: ("courier", "its channel is not configured"),
    LEAD_ASSIGNED: ("routing", "`owner`, `team`, `rule`, `sla_due_at`, `accept_by`"),
    LEAD_ACCEPTED: ("sales", "`owner`, `minutes_to_accept`"),
    LEAD_RECYCLED: ("routing", "not accepted in time; to the next owner: `to` (none: the pool)"),
    LEAD_RELEASED: (
        "sales (release)",
        "given back with a `reason` (`by` who); routed again: `to` (none: the pool)",
    ),
    LEAD_REASSIGNED: (
        "sales (assign)",
        "moved by hand (`by` who) from `owner` to `to`, with a `reason`",
    ),
    LEAD_UNASSIGNED: ("routing", "back to the shared pool: `team`, `why`"),
    LEAD_SLA_EXPIRED: ("routing timer", "the SLA clock ran out"),
    LEAD_FOLLOW_UP_DUE: ("routing timer", "no follow-up for too long"),
    LEAD_DISQUALIFIED: ("sales", "`owner`, `reason`"),
    FOLLOW_UP_LOGGED: ("sales", "`owner`, `kind`, `note`"),
    FOLLOW_UP_REMINDED: ("routing", "the owner and manager were reminded"),
    CONTACT_STALE: ("stewardship timer", "`verify_after` passed since the timer was set"),
    RETENTION_DUE: (
        "retention timer",
        "the retention period passed since the timer was set: a contact quiet for it is erased",
    ),
    VERIFICATION_REQUESTED: (
        "stewardship",
        "no activity for `days`: `assignee` (the owner, or the pool's manager) should check "
        "the record; emailed `to`",
    ),
    OPPORTUNITY_CREATED: ("sales", "`name`, `amount`, `currency`"),
    DEAL_WON: ("sales", "`amount`, `currency`, `campaign`"),
    DEAL_LOST: ("sales", "`reason`"),
    PURCHASE: ("website (POST /events)", "a purchase, for RFM: `amount`, `currency`"),
    RFM_CHANGED: (
        "rfm (daily)",
        "the contact's RFM tier changed: `tier`, `label`, `from`, `r`, `f`, `m`",
    ),
    RULE_DUE: ("rules timer", 'a rule\'s "for N days" wait is over'),
    RULE_FIRED: ("rules", "an if/then rule acted: `rule`"),
}
"""Event type -> (who writes it, what it means and carries)."""

# The consent topic that stands for every marketing email (see consent.py).
ALL_TOPICS = "*"

# What the person did (as opposed to what Leadflow did to them), for "no activity in N days":
# these, and any event a website tracks that is not in the catalogue.
ACTIVITY = frozenset(
    {
        FORM_SUBMITTED,
        PAGE_VIEWED,
        FILE_DOWNLOADED,
        IDENTIFIED,
        EMAIL_OPENED,
        EMAIL_CLICKED,
        SUBSCRIBED,
        DEAL_WON,
        PURCHASE,
    }
)


# After these, a contact's fields, tags, stage, score or consents may differ: segments that
# read the contact are evaluated again.
CONTACT_CHANGES = frozenset(
    {
        FORM_SUBMITTED,
        IDENTIFIED,
        CONTACT_UPDATED,
        CONTACT_IMPORTED,
        CONTACTS_MERGED,
        SUBSCRIBED,
        TOPIC_UNSUBSCRIBED,
        UNSUBSCRIBED,
        CONSENT_GIVEN,
        CONSENT_WITHDRAWN,
        SCORE_CHANGED,
        STAGE_CHANGED,
        RULE_FIRED,
        LEAD_ASSIGNED,
        OPPORTUNITY_CREATED,
        DEAL_WON,
        DEAL_LOST,
        LEAD_DISQUALIFIED,
        RFM_CHANGED,
    }
)


# Records of Leadflow's own work that change nothing about the person: a journey may not
# trigger on, wait for, exit on or convert on one (journeys/checks.py says so), so the journey
# runner passes them by without reading anything.
BOOKKEEPING = frozenset(
    {
        EMAIL_QUEUED,
        WAIT_MATCHED,
        BRANCH_TAKEN,
        SPLIT_ASSIGNED,
        WEBHOOK_QUEUED,
        WEBHOOK_DELIVERED,
        WEBHOOK_FAILED,
        WEBHOOK_SKIPPED,
    }
)


def is_activity(event_type: str) -> bool:
    return event_type in ACTIVITY or event_type not in CATALOGUE


@dataclass(frozen=True)
class Event:
    contact_id: str
    event_id: str
    type: str
    occurred_at: datetime
    source: str
    properties: dict[str, Any] = field(default_factory=dict)
    touch: dict[str, Any] | None = None
    caused_by: str | None = None
