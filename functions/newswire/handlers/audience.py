"""Audience handlers: count each CloudFront log file as it lands, and roll up each day.

``process_log``
    Trigger: S3 ``ObjectCreated`` on the log bucket (prefix ``cloudfront/``), invoked
    asynchronously (Lambda retries twice, then the dead-letter queue keeps the event). Reads
    the gzipped log as a stream, a line at a time, so memory does not grow with the file;
    readers are hashed under each window key they count for
    (:class:`~newswire.audience.hashing.WindowKeys`), never under a window already counted
    (by the time of the run, not the event's, and the rollup's closed marker), and one
    partial aggregate per day of requests is written (``partials/``). A malformed line is
    logged and skipped, as is a line dated outside the log's period (before the earliest open
    window, or over two days after the log landed). Lines that miss a window's final count (it
    was closed before their partials were written) are reported as late; a log object gone
    (expired) is one error naming it, and the invocation succeeds: a retry cannot help.
    Metrics (unit Count): :data:`PROCESSOR_METRICS`.

``rollup``
    Trigger: an EventBridge schedule once a day (02:30 UTC). Counts the seven days ending the
    day before the event's time (or now, for an event without one), and again each of the
    :data:`LATE_DAYS` windows before it whose partials changed since they were counted (log
    lines CloudFront delivered late); ``{"day": "YYYY-MM-DD"}`` in the event counts that
    window, changed or not, until :data:`PARTIALS_KEPT_DAYS` after its first day (counting
    needs no key; later, a day's partials may be gone, and it refuses). Each count
    writes ``snapshots/<day>.json`` (and ``snapshots/latest.json`` for the newest finished
    window, never an older one) and publishes metrics for the feeds with readers and for all
    feeds together (namespace ``Newswire/Audience``, dimension ``Feed``). Every window whose
    time is up is closed: its marker written before the partials are listed, its key deleted
    after the count.

Environment:
    AUDIENCE_BUCKET: the private aggregates bucket (keys, partials, snapshots).
    AUDIENCE_METRIC_FEEDS: optional, the most feeds with readers that get metrics of their own
        (default :data:`DEFAULT_METRIC_FEEDS`; ``infra/`` sets it from its setting).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit

from newswire.adapters.audience import (
    AudienceStore,
    fingerprint,
    open_log_object,
    put_feed_metrics,
)
from newswire.audience import WINDOW_DAYS
from newswire.audience.counting import DayAggregate, FeedCounts, Tally, WindowCounter
from newswire.audience.hashing import WindowKeys
from newswire.audience.logformat import Malformed, read_log
from newswire.errors import LogObjectMissingError
from newswire.handlers.observability import logger, metrics, tracer
from newswire.runtime import aws_client, io_pool

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

#: The processor's metrics (unit Count), each sent every run, zero or not, so a chart or an
#: alarm sees a quiet hour as 0 rather than no data.
PROCESSOR_METRICS = (
    "LogLinesRead", "LogLinesMalformed", "FeedRequestsCounted", "LateLogLines",
    "LogObjectsMissing",
)  # fmt: skip
#: Malformed lines logged one by one per file; the rest are only counted.
MALFORMED_LOGGED = 10
#: At most this many feeds (those with most subscribers) get CloudWatch metrics of their own:
#: every feed with readers on most sites, and a bound on the bill (three metrics a feed, each
#: billed by the month) on a site where many tag feeds have a reader or two.
DEFAULT_METRIC_FEEDS = 100
#: When the rollup runs, in UTC (``infra/`` schedules it): a window is first counted then, the
#: day after its last day.
ROLLUP_HOUR, ROLLUP_MINUTE = 2, 30
#: Days a window stays open after that first count, for the log lines CloudFront delivers late
#: (it documents up to 24 hours; the second day is for its bad days): each rollup of those
#: days counts it again if late lines changed its partials, and the last one closes it (its
#: key deleted). A line later still counts only in the windows still open.
LATE_DAYS = 2
#: Days a day's partials are kept (``infra/`` expires them then, rounding up to a midnight):
#: a window can be counted until its first day's partials may expire, three days after it
#: ends; a count after that would miss that day, over a count taken whole.
PARTIALS_KEPT_DAYS = WINDOW_DAYS + LATE_DAYS + 1
#: Partials read at once by the rollup: bounded, so memory holds a few dozen at a time.
READ_AHEAD = 64


def first_open_window(now: datetime) -> date:
    """The last day of the earliest window the rollup has not closed at ``now``."""
    closed_by = timedelta(days=1 + LATE_DAYS, hours=ROLLUP_HOUR, minutes=ROLLUP_MINUTE)
    return (now - closed_by).date() + timedelta(days=1)


def clock() -> datetime:
    """Now, in UTC: when a processor runs decides which windows are still open."""
    return datetime.now(UTC)


def _store() -> AudienceStore:
    return AudienceStore(aws_client("s3"), os.environ["AUDIENCE_BUCKET"])


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def process_log(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Count the requests of each log object in an S3 event; return what was read."""
    store = _store()
    now = clock()
    summary = dict.fromkeys(PROCESSOR_METRICS, 0)
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        landed = max(datetime.fromisoformat(record.get("eventTime") or now.isoformat()), now)
        try:
            counted = count_log_object(store, bucket, key, landed)
        except LogObjectMissingError as e:  # a retry cannot bring it back: said once, here
            logger.error("log object missing: nothing counted", extra={"log": e.uri})
            counted = {"LogObjectsMissing": 1}
        for name, value in counted.items():
            summary[name] += value
    for name, value in summary.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return summary


def count_log_object(
    store: AudienceStore, bucket: str, key: str, landed: datetime
) -> dict[str, int]:
    """Stream one log object, write its partial aggregates per day, and return its counts.

    Args:
        store: the aggregates bucket.
        bucket: the log bucket.
        key: the log object's key.
        landed: when it is counted: the later of the event's time and now, so a retried or
            late event does not reopen a window counted since it was sent.
    """
    lines = open_log_object(aws_client("s3"), bucket, key)
    first_open = first_open_window(landed)
    keys = WindowKeys(store.window_key, first_open)
    tally = Tally(keys)
    period = _period(first_open, landed)
    read = malformed = counted = 0
    for item in read_log(lines, key, period=period):
        read += 1
        if isinstance(item, Malformed):
            malformed += 1
            if malformed <= MALFORMED_LOGGED:
                logger.warning("malformed log line skipped", extra={"line": str(item)})
        elif tally.add(item):
            counted += 1
    by_day: dict[date, dict[str, DayAggregate]] = defaultdict(dict)
    for (path, day), aggregate in tally.aggregates.items():
        by_day[day][path] = aggregate
    for day, feeds in by_day.items():
        store.put_partial(day, f"{bucket}/{key}", feeds)
    # checked after the partials are written: a window closed later takes them in its count
    closed = {*keys.closed, *(end for end in keys.opened if store.is_closed(end))}
    late = late_requests(tally, first_open, closed)
    logger.info(
        "log counted",
        extra={"key": key, "lines": read, "malformed": malformed, "counted": counted},
    )
    if late.lines:
        logger.warning(
            "log lines processed after a window they belong in was closed: not in its count",
            extra={"key": key, "late": late.lines, "windows": [str(e) for e in late.windows]},
        )
    return {
        "LogLinesRead": read, "LogLinesMalformed": malformed, "FeedRequestsCounted": counted,
        "LateLogLines": late.lines,
    }  # fmt: skip


class LateLines(NamedTuple):
    """Counted lines that miss the final count of a window their day is in, and those windows."""

    lines: int
    windows: list[date]


def late_requests(tally: Tally, first_open: date, closed: Iterable[date]) -> LateLines:
    """The counted requests of ``tally`` that may miss the final count of a window their day
    is in: a window closed by the clock (before ``first_open``) or by the rollup's marker
    (``closed``) by the time this log's partials were written. They count in the windows
    still open; a final count is not taken again, so they are reported instead (a marker that
    appeared while the partials were written may have let them in: reported all the same, so
    the metric never hides a line that is missing)."""
    shut = set(closed)
    lines, windows = 0, set()
    for (_path, day), aggregate in tally.aggregates.items():
        ends = {day + timedelta(days=n) for n in range(WINDOW_DAYS)}
        missed = {end for end in ends if end < first_open or end in shut}
        if missed:
            lines += aggregate.requests
            windows |= missed
    return LateLines(lines, sorted(windows))


def _period(first_open: date, landed: datetime) -> tuple[datetime, datetime]:
    """The times a log's requests can have: from the first day of the earliest window still
    open to two days after the log landed (CloudFront writes a log within hours; the margin
    is for clocks)."""
    first_day = first_open - timedelta(days=WINDOW_DAYS - 1)
    return datetime.combine(first_day, time(), tzinfo=UTC), landed + timedelta(days=2)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def rollup(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Count the windows that are new or changed, and close those whose time is up.

    A scheduled event counts the window ending the day before its time, and the
    :data:`LATE_DAYS` windows before it again if late log lines changed their partials; an
    event with ``{"day": "YYYY-MM-DD"}`` counts that window, changed or not (counting needs
    no key: any window whose partials are all kept, until three days after it ends). Then
    every window whose time is up by the clock is closed: its marker written before the
    partials are listed (a log processed after that is reported late, not lost), its key
    deleted after the count. ``latest.json`` only ever moves forward, to a finished window.
    Returns what was counted and closed.
    """
    # a scheduled event has its time; one invoked by hand without it counts yesterday
    sent_at = datetime.fromisoformat(event["time"]) if event.get("time") else clock()
    now = max(clock(), sent_at)  # windows close by the later of the two, as in the processor
    if event.get("day"):
        last, ends = date.fromisoformat(event["day"]), [date.fromisoformat(event["day"])]
    else:
        last = sent_at.date() - timedelta(days=1)
        ends = [last - timedelta(days=LATE_DAYS - n) for n in range(LATE_DAYS + 1)]
    store = _store()
    first_open = first_open_window(now)
    closing = sorted({e for e in [*ends, *store.open_windows()] if e < first_open})
    for end in closing:  # before the listing: what it misses, the processor reports late
        store.close_window(end)
    days = {end - timedelta(days=n) for end in ends for n in range(WINDOW_DAYS)}
    versions = store.partial_versions(sorted(days))
    kept = _whole(ends, clock(), by_hand=bool(event.get("day")))
    newest = _LatestWindow(store.latest_window(), finished=clock().date() - timedelta(days=1))
    stale = [
        end
        for end in kept
        if event.get("day") or newest.lags(end, kept) or _changed(store, end, versions)
    ]
    counts = _count_windows(store, stale, versions)
    cap = int(os.environ.get("AUDIENCE_METRIC_FEEDS") or DEFAULT_METRIC_FEEDS)
    sent = 0
    for end in stale:
        # metrics first: the snapshot's fingerprint tells a retry this window is done
        sent += _publish(end, counts[end], cap)
        store.put_snapshot(
            end - timedelta(days=WINDOW_DAYS - 1), end, counts[end],
            version=fingerprint(_window_versions(end, versions)), latest=newest.moves_to(end),
        )  # fmt: skip
    for end in closing:
        store.drop_window_key(end)
    logger.info(
        "audience rolled up",
        extra={"counted": [str(e) for e in stale], "closed": [str(e) for e in closing]},
    )
    return {
        "counted": [str(end) for end in stale],
        "closed": [str(end) for end in closing],
        "feeds": len(counts.get(last, {})),
        "metrics": sent,
    }


class _LatestWindow:
    """Which window ``latest.json`` holds: the newest finished one (its last day over by the
    clock), so a window counted by hand before it ends, or an older one counted again, gets
    its dated snapshot only.

    Args:
        held: the window ``latest.json`` holds, if any.
        finished: the last day of the newest finished window.
    """

    def __init__(self, held: date | None, finished: date) -> None:
        # a window held that is not finished (written by an earlier release) is replaced
        self._held = held if held is not None and held <= finished else None
        self._finished = finished

    def lags(self, end: date, ends: list[date]) -> bool:
        """Whether ``end`` is the newest finished window of ``ends`` and ``latest.json`` does
        not hold it yet: counted again though unchanged (it may have been counted by hand
        before it ended), so ``latest.json`` moves to it."""
        finished = [e for e in ends if e <= self._finished]
        newest = max(finished, default=None)
        return end == newest and (self._held is None or self._held < end)

    def moves_to(self, end: date) -> bool:
        """Whether the window ending ``end``, just counted, goes to ``latest.json``; if so it
        is held from now on (windows are counted oldest first)."""
        if end > self._finished or (self._held is not None and end < self._held):
            return False
        self._held = end
        return True


def _whole(ends: list[date], now: datetime, *, by_hand: bool) -> list[date]:
    """The windows of ``ends`` whose partials are all still kept at ``now``.

    Raises:
        ValueError: a window asked for by hand is past that: its count would miss a day.
    """
    whole = []
    for end in ends:
        first = end - timedelta(days=WINDOW_DAYS - 1)
        if now.date() < first + timedelta(days=PARTIALS_KEPT_DAYS):
            whole.append(end)
            continue
        reason = (
            f"the window ending {end} is not counted: the partials of its first day, {first},"
            f" may have expired ({PARTIALS_KEPT_DAYS} days after it); its snapshot, if any,"
            " is kept"
        )
        if by_hand:
            raise ValueError(reason)
        logger.warning(reason)  # an old scheduled event, replayed
    return whole


def _window_versions(end: date, versions: dict[date, dict[str, str]]) -> dict[str, str]:
    """The partials of the window ending ``end``, by key, with their ETags."""
    days = (end - timedelta(days=n) for n in range(WINDOW_DAYS))
    return {name: etag for day in days for name, etag in versions.get(day, {}).items()}


def _changed(store: AudienceStore, end: date, versions: dict[date, dict[str, str]]) -> bool:
    """Whether the window was never counted, or its partials changed since (a late log)."""
    return store.counted_version(end) != fingerprint(_window_versions(end, versions))


def _count_windows(
    store: AudienceStore, ends: list[date], versions: dict[date, dict[str, str]]
) -> dict[date, dict[str, FeedCounts]]:
    """Each window's counts, each day's partials read once for every window it is in."""
    counters = {end: WindowCounter([end]) for end in ends}  # a partial holds each window's hashes
    windows_of: dict[date, list[date]] = defaultdict(list)
    for end in ends:
        for n in range(WINDOW_DAYS):
            windows_of[end - timedelta(days=n)].append(end)
    names = [(day, name) for day in sorted(windows_of) for name in sorted(versions.get(day, {}))]
    pool = io_pool()
    for start in range(0, len(names), READ_AHEAD):
        chunk = names[start : start + READ_AHEAD]
        for (day, _name), feeds in zip(
            chunk, pool.map(store.read_partial, [name for _day, name in chunk]), strict=True
        ):
            for path, data in (feeds or {}).items():  # None: expired since it was listed
                aggregate = DayAggregate.from_json(data, set(windows_of[day]))
                for end in windows_of[day]:
                    counters[end].add(path, aggregate)
    return {end: counter.counts() for end, counter in counters.items()}


def _publish(end: date, counts: dict[str, FeedCounts], cap: int) -> int:
    """Send a window's metrics; return how many values."""
    sent = put_feed_metrics(aws_client("cloudwatch"), end, counts, cap=cap)
    if sent.left_out:
        logger.warning(
            "feeds with readers left without metrics of their own (AUDIENCE_METRIC_FEEDS)",
            extra={"cap": cap, "left_out": sent.left_out, "window": str(end)},
        )
    return sent.values
