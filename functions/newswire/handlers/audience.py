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
    window, or over two days after the log landed).
    Metrics (unit Count): ``LogLinesRead``, ``LogLinesMalformed``, ``FeedRequestsCounted``.

``rollup``
    Trigger: an EventBridge schedule once a day (02:30 UTC). Counts the seven days ending the
    day before the event's time (or now, for an event without one; or ``{"day": "YYYY-MM-DD"}``
    in the event to count another whose partials have not expired; counting needs no key),
    writes ``snapshots/<day>.json`` and ``snapshots/latest.json``, publishes metrics for the
    feeds with most subscribers and for all feeds together (namespace ``Newswire/Audience``,
    dimension ``Feed``) and closes the window: a marker, then its key deleted.

Environment:
    AUDIENCE_BUCKET: the private aggregates bucket (keys, partials, snapshots).
    AUDIENCE_METRIC_FEEDS: optional, the most feeds with readers that get metrics of their own
        (default :data:`DEFAULT_METRIC_FEEDS`; ``infra/`` sets it from its setting).
"""

from __future__ import annotations

import gzip
import os
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit

from newswire.adapters.audience import AudienceStore, put_feed_metrics
from newswire.audience import WINDOW_DAYS
from newswire.audience.counting import DayAggregate, Tally, WindowCounter
from newswire.audience.hashing import WindowKeys
from newswire.audience.logformat import Malformed, read_log
from newswire.handlers.observability import logger, metrics, tracer
from newswire.runtime import aws_client

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

#: Malformed lines logged one by one per file; the rest are only counted.
MALFORMED_LOGGED = 10
#: At most this many feeds (those with most subscribers) get CloudWatch metrics of their own:
#: every feed with readers on most sites, and a bound on the bill (three metrics a feed, each
#: billed by the month) on a site where many tag feeds have a reader or two.
DEFAULT_METRIC_FEEDS = 100
#: When the rollup runs, in UTC (``infra/`` schedules it): a window is counted then, the day
#: after its last day, and its key deleted.
ROLLUP_HOUR, ROLLUP_MINUTE = 2, 30


def first_open_window(now: datetime) -> date:
    """The last day of the earliest window whose count the rollup has not taken at ``now``."""
    counted_by = timedelta(days=1, hours=ROLLUP_HOUR, minutes=ROLLUP_MINUTE)
    return (now - counted_by).date() + timedelta(days=1)


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
    summary: dict[str, int] = defaultdict(int)
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        landed = max(datetime.fromisoformat(record.get("eventTime") or now.isoformat()), now)
        for name, value in count_log_object(store, bucket, key, landed).items():
            summary[name] += value
    for name in ("LogLinesRead", "LogLinesMalformed", "FeedRequestsCounted"):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=summary[name])
    return dict(summary)


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
    body = aws_client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    lines: Iterable[bytes] = (
        gzip.GzipFile(fileobj=body) if key.endswith(".gz") else body.iter_lines(keepends=True)
    )
    first_open = first_open_window(landed)
    tally = Tally(WindowKeys(store.window_key, first_open))
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
    logger.info(
        "log counted",
        extra={"key": key, "lines": read, "malformed": malformed, "counted": counted},
    )
    return {"LogLinesRead": read, "LogLinesMalformed": malformed, "FeedRequestsCounted": counted}


def _period(first_open: date, landed: datetime) -> tuple[datetime, datetime]:
    """The times a log's requests can have: from the first day of the earliest window still
    open to two days after the log landed (CloudFront writes a log within hours; the margin
    is for clocks)."""
    first_day = first_open - timedelta(days=WINDOW_DAYS - 1)
    return datetime.combine(first_day, time(), tzinfo=UTC), landed + timedelta(days=2)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def rollup(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Count the window ending yesterday (or the event's ``day``); return its snapshot key."""
    if event.get("day"):
        last = date.fromisoformat(event["day"])
    else:  # a scheduled event has its time; one invoked by hand without it counts yesterday
        when = datetime.fromisoformat(event["time"]) if event.get("time") else clock()
        last = when.date() - timedelta(days=1)
    first = last - timedelta(days=WINDOW_DAYS - 1)
    store = _store()
    counter = WindowCounter([last])  # every day's partial holds this window's hashes
    for offset in range(WINDOW_DAYS):
        for path, aggregate in store.partials(first + timedelta(days=offset), tags={last}):
            counter.add(path, aggregate)
    counts = counter.counts()
    snapshot = store.put_snapshot(first, last, counts)
    cap = int(os.environ.get("AUDIENCE_METRIC_FEEDS") or DEFAULT_METRIC_FEEDS)
    sent = put_feed_metrics(aws_client("cloudwatch"), last, counts, cap=cap)
    if sent.left_out:
        logger.warning(
            "feeds with readers left without metrics of their own (AUDIENCE_METRIC_FEEDS)",
            extra={"cap": cap, "left_out": sent.left_out, "snapshot": snapshot},
        )
    store.drop_window_key(last)
    logger.info("audience rolled up", extra={"last": str(last), "feeds": len(counts)})
    return {"snapshot": snapshot, "feeds": len(counts), "metrics": sent.values}
