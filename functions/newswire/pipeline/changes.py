"""An article change as the pipeline sees it, whatever event carried it, and what it did."""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: Sequencers are hex strings of varying length; left-padding to a fixed width makes plain
#: string comparison agree with their hexadecimal value (greater means later).
SEQUENCER_WIDTH = 64


def normalise_sequencer(raw: str) -> str:
    """Make an S3 event ``sequencer`` comparable as a string (greater = later)."""
    return raw.strip().upper().rjust(SEQUENCER_WIDTH, "0")


def event_sequencer(stored: str) -> str:
    """The event order of a stored sequencer (:func:`forced_sequencer`'s suffix dropped)."""
    return stored[:SEQUENCER_WIDTH]


def forced_sequencer(stored: str) -> str:
    """The sequencer of a state applied with no event of its own (a reindex, a scheduled
    article coming due, an id let go or taken over).

    It keeps the event order of ``stored`` (a later event is still later, a redelivered one
    still recognised) but is a new value, so a compare-and-set that read the state before
    fails instead of applying a change worked out from a state that is gone.
    """
    base, _, count = stored.partition("/")
    return f"{event_sequencer(base)}/{int(count or 0) + 1}"


@dataclass(frozen=True, slots=True)
class ArticleChange:
    """An article key was written (``deleted`` false) or deleted, at ``sequencer``.

    Args:
        key: the decoded S3 key, e.g. ``articles/putin-appeal.md``.
        deleted: whether the event said an object was removed; for logs only, as the
            publisher reads the key's current object either way (in a versioned bucket a
            removal may leave a version current, or bring one back).
        sequencer: normalised with :func:`normalise_sequencer`.
    """

    key: str
    deleted: bool
    sequencer: str


class PublishAction(enum.StrEnum):
    """What a change did to its article; the value is what the handlers log and return."""

    PUBLISHED = "published"
    REMOVED = "removed"
    HIDDEN = "hidden"  # a draft, or scheduled for later
    WITHDRAWN = "withdrawn"  # out of every feed, a tombstone in Atom's
    EXPIRED = "expired"  # its ``expires`` time has come
    REJECTED = "rejected"  # ``error`` says why; a redelivered rejection is told again
    STALE = "stale"  # older than what is indexed
    REDELIVERED = "redelivered"  # already applied; report and feeds re-checked
