"""Subscribers per feed: requests folded into per-day aggregates, and the counts of a window.

Rules (see :mod:`~newswire.audience.agents` for who is who):

- only successful fetches count (GET or HEAD answered 2xx or 304) of a feed (``rss.xml``,
  ``atom.xml``, ``feed.json`` in any folder), each feed by its URI path;
- subscribers = for each hosted service, the count it reported last in the window (summed over
  the feed ids it reports separately for one URL) + distinct individual readers in the window;
- browsers and bots are distinct (User-Agent, address) pairs, never subscribers;
- requests = every counted fetch in the window.

A :class:`Tally` keeps, per (feed, day), a request count, each service's latest report per
feed id and sets of hashed readers (:mod:`~newswire.audience.hashing`), as ints: its memory
grows with distinct feeds, days and readers, never with the number of lines.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from newswire.audience.agents import ClientKind, classify
from newswire.audience.hashing import DIGEST_BYTES, Hasher
from newswire.audience.logformat import Request
from newswire.domain.feeds import is_feed_path

_COUNTED_METHODS = frozenset({"GET", "HEAD"})
#: The sets of distinct visitors kept, by kind of client.
VISITOR_KINDS = (ClientKind.READER, ClientKind.BROWSER, ClientKind.BOT)


def is_counted(request: Request) -> bool:
    """Whether ``request`` is a successful fetch of a feed."""
    return (
        request.method in _COUNTED_METHODS
        and (200 <= request.status < 300 or request.status == 304)
        and is_feed_path(request.path)
    )


@dataclass(slots=True)
class DayAggregate:
    """What one day's requests of one feed leave behind: counts and hashes only.

    Attributes:
        requests: counted fetches.
        hosted: per (service, feed id), its latest report: (time, subscribers).
        visitors: per kind of client, per tag, the hashes of distinct visitors.
    """

    requests: int = 0
    hosted: dict[tuple[str, str], tuple[datetime, int]] = field(default_factory=dict)
    visitors: dict[ClientKind, dict[date, set[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )

    def report(self, service: str, feed_id: str, when: datetime, subscribers: int) -> None:
        """Keep a service's report unless a later one is already kept."""
        kept = self.hosted.get((service, feed_id))
        if kept is None or kept[0] <= when:
            self.hosted[(service, feed_id)] = (when, subscribers)

    def merge(self, other: DayAggregate) -> None:
        """Add ``other`` (the same feed and day, from another log file) to this one."""
        self.requests += other.requests
        for (service, feed_id), (when, subscribers) in other.hosted.items():
            self.report(service, feed_id, when, subscribers)
        for kind, tags in other.visitors.items():
            for tag, digests in tags.items():
                self.visitors[kind][tag] |= digests

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form: hashes as base64 of their concatenation, sorted."""
        return {
            "requests": self.requests,
            "hosted": [
                [service, feed_id, when.isoformat(), subscribers]
                for (service, feed_id), (when, subscribers) in sorted(self.hosted.items())
            ],
            "visitors": {
                str(kind): {
                    tag.isoformat(): base64.b64encode(_packed(digests)).decode()
                    for tag, digests in sorted(tags.items())
                }
                for kind, tags in self.visitors.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], tags: Collection[date] | None = None) -> DayAggregate:
        """The aggregate :meth:`to_json` wrote, with the visitor sets of ``tags`` only (all
        when None): a rollup counts one window, and decoding the six others costs memory."""
        aggregate = cls(requests=int(data["requests"]))
        for service, feed_id, when, subscribers in data["hosted"]:
            aggregate.hosted[(service, feed_id)] = (datetime.fromisoformat(when), subscribers)
        for kind, by_tag in data["visitors"].items():
            for tag, packed in by_tag.items():
                day = date.fromisoformat(tag)
                if tags is None or day in tags:
                    aggregate.visitors[ClientKind(kind)][day] = _unpacked(packed)
        return aggregate


def _packed(digests: set[int]) -> bytes:
    return b"".join(d.to_bytes(DIGEST_BYTES, "big") for d in sorted(digests))


def _unpacked(packed: str) -> set[int]:
    raw = base64.b64decode(packed)
    return {
        int.from_bytes(raw[i : i + DIGEST_BYTES], "big") for i in range(0, len(raw), DIGEST_BYTES)
    }


#: Visitors whose digests a tally keeps at hand: a reader polls a feed a few times in a row,
#: and each is hashed under up to seven keys; bounded, so memory follows the aggregates only.
RECENT_VISITORS = 1024


class Tally:
    """Per-(feed, day) aggregates of the requests added to it.

    Args:
        hasher: hashes a visitor for each set it belongs in (:mod:`~newswire.audience.hashing`).
        first_day: requests of earlier days are not kept.
        until: requests after this time are not kept.
    """

    def __init__(
        self, hasher: Hasher, *, first_day: date | None = None, until: datetime | None = None
    ) -> None:
        self.aggregates: dict[tuple[str, date], DayAggregate] = {}
        self._hasher = hasher
        self._first_day = first_day
        self._until = until
        self._recent: dict[tuple[date, str], dict[date, int]] = {}

    def merge(self, other: Tally) -> None:
        """Add the aggregates of ``other``, a tally hashed with the same key."""
        for where, aggregate in other.aggregates.items():
            kept = self.aggregates.get(where)
            if kept is None:
                self.aggregates[where] = aggregate
            else:
                kept.merge(aggregate)

    def add(self, request: Request) -> bool:
        """Count ``request``; return whether it was a counted fetch in the span kept."""
        if not is_counted(request) or (self._until is not None and request.time > self._until):
            return False
        day = request.time.date()
        if self._first_day is not None and day < self._first_day:
            return False
        aggregate = self.aggregates.get((request.path, day))
        if aggregate is None:
            aggregate = self.aggregates[(request.path, day)] = DayAggregate()
        aggregate.requests += 1
        client = classify(request.user_agent)
        if client.kind is ClientKind.HOSTED:
            aggregate.report(client.name, client.feed_id, request.time, client.subscribers)
            return True
        who = client.name if client.kind is ClientKind.READER else request.user_agent
        identity = f"{client.kind}\0{who}\0{request.address}"
        digests = self._recent.get((day, identity))
        if digests is None:
            if len(self._recent) >= RECENT_VISITORS:
                self._recent.clear()
            digests = self._recent[(day, identity)] = self._hasher(day, identity)
        for tag, digest in digests.items():
            aggregate.visitors[client.kind][tag].add(digest)
        return True


@dataclass(frozen=True, slots=True)
class FeedCounts:
    """One feed's counts over a window, as ``newswire stats`` and the rollup report them."""

    subscribers: int
    hosted: dict[str, int]
    individual: int
    browsers: int
    bots: int
    requests: int

    def to_json(self) -> dict[str, Any]:
        """The counts as ``newswire stats --json`` prints them."""
        return {
            "subscribers": self.subscribers,
            "hosted": dict(sorted(self.hosted.items())),
            "individual": self.individual,
            "browsers": self.browsers,
            "bots": self.bots,
            "requests": self.requests,
        }


class WindowCounter:
    """Unites the aggregates of a window's days into each feed's counts.

    Args:
        tags: the visitor sets to unite: the window's days for a run's key, or the window's
            last day for the pipeline's window keys.
    """

    def __init__(self, tags: Iterable[date]) -> None:
        self._tags = frozenset(tags)
        self._requests: dict[str, int] = defaultdict(int)
        self._hosted: dict[str, dict[tuple[str, str], tuple[datetime, int]]] = defaultdict(dict)
        self._visitors: dict[str, dict[ClientKind, set[int]]] = defaultdict(
            lambda: defaultdict(set)
        )

    def add(self, path: str, aggregate: DayAggregate) -> None:
        """Count one day's aggregate of the feed at ``path``."""
        self._requests[path] += aggregate.requests
        hosted = self._hosted[path]
        for key, (when, subscribers) in aggregate.hosted.items():
            if key not in hosted or hosted[key][0] <= when:
                hosted[key] = (when, subscribers)
        visitors = self._visitors[path]
        for kind, tags in aggregate.visitors.items():
            for tag, digests in tags.items():
                if tag in self._tags:
                    visitors[kind] |= digests

    def counts(self) -> dict[str, FeedCounts]:
        """Each feed's counts, by path, sorted."""
        result = {}
        for path in sorted(self._requests):
            hosted: dict[str, int] = defaultdict(int)
            for (service, _feed_id), (_when, subscribers) in self._hosted[path].items():
                hosted[service] += subscribers
            visitors = self._visitors[path]
            individual = len(visitors[ClientKind.READER])
            result[path] = FeedCounts(
                subscribers=sum(hosted.values()) + individual,
                hosted=dict(hosted),
                individual=individual,
                browsers=len(visitors[ClientKind.BROWSER]),
                bots=len(visitors[ClientKind.BOT]),
                requests=self._requests[path],
            )
        return result
