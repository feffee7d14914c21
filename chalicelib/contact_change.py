"""One way to change a contact: what a decision does to it, as values.

Scoring, rules, sales actions, the hand-off and journey steps each decide a ContactChange from
the contact they read. The store commits it in one transaction conditioned on the version they
read (store/changes.py), together with whatever else the same decision writes (an enrollment,
ledger entries, timers), so a decision made on a stale read is refused and made again on a
fresh one. The stage moves only through `move_stage`, which asks lifecycle.move.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from chalicelib import lifecycle
from chalicelib.events import Event
from chalicelib.lifecycle import Mover, Stage

JOURNEY_SCORE_REASON = "journeys"  # points from journey update steps, a reason of their own


@dataclass
class ContactChange:
    contact_id: str
    version: int  # the contact's version when it was read
    add_tags: set[str] = field(default_factory=set)
    remove_tags: set[str] = field(default_factory=set)
    # Top-level attributes (lead, score, score_caps); None removes one. Not the stage.
    attributes: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)  # profile fields; None removes
    score_reasons: dict[str, int] = field(default_factory=dict)  # a reason's new total
    stage: Stage | None = None
    events: list[Event] = field(default_factory=list)
    tags_read: frozenset[str] | None = None  # the tags when read, if the decision knew them
    stage_read: str | None = None  # the stage when read

    @classmethod
    def of(cls, contact: Mapping[str, Any], **attributes: Any) -> Self:
        """A change to `contact` as it was read (its id, version, tags and stage)."""
        return cls(
            contact_id=str(contact["id"]),
            version=int(contact["version"]),
            attributes=dict(attributes),
            tags_read=frozenset(contact.get("tags") or ()),
            stage_read=contact.get("stage"),
        )

    def tag(self, name: str) -> None:
        self.add_tags.add(name)
        self.remove_tags.discard(name)

    def untag(self, name: str) -> None:
        self.remove_tags.add(name)
        self.add_tags.discard(name)

    @property
    def current_stage(self) -> str | None:
        """The stage as this change leaves it so far: moved, or as read."""
        return self.stage.value if self.stage is not None else self.stage_read

    def move_stage(self, target: Stage, by: Mover) -> Stage | None:
        """Ask lifecycle.move from the current stage; returns the stage the contact moves to,
        or None if it stays."""
        moved = lifecycle.move(self.current_stage, target, by)
        if moved is not None:
            self.stage = moved
        return moved

    def whole_tags(self) -> set[str] | None:
        """The tag set to write whole when a change both adds and removes (one update may not
        do both to a set); None when adding or removing alone says it."""
        if not (self.add_tags and self.remove_tags):
            return None
        if self.tags_read is None:
            raise ValueError("a change that adds and removes tags needs the tags it read")
        return (set(self.tags_read) | self.add_tags) - self.remove_tags

    @property
    def touches_contact(self) -> bool:
        """Whether the contact item itself changes (not only its timeline)."""
        return bool(
            self.attributes
            or self.properties
            or self.add_tags
            or self.remove_tags
            or self.score_reasons
            or self.stage is not None
        )

    @property
    def empty(self) -> bool:
        return not (self.touches_contact or self.events)
