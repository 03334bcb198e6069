"""The audience pipeline's storage and metrics: a private S3 bucket and CloudWatch.

Bucket layout (all private; ``infra/`` expires each prefix by lifecycle rule):

- ``keys/<day>.key``: the hashing key of the seven-day window ending on that day, made by the
  first log processor that needs it (a conditional write, so concurrent processors agree on
  one) and deleted by the rollup once the window's count is final; ``keys/<day>.closed``, an
  empty marker the rollup writes before it takes that final count, so a late or retried
  processor never makes the key of a window already counted again, and one still writing
  when it appeared knows its lines may miss that count;
- ``partials/<day>/<hash of the log key>.json.gz``: one log file's aggregates of that day per
  feed (:class:`~newswire.audience.counting.DayAggregate`); named after the log object, so a
  redelivered event rewrites the same partial instead of counting a file twice;
- ``snapshots/<day>.json`` and ``snapshots/latest.json``: the rollup's counts, with the
  fingerprint of the partials they were counted from in their metadata (a late log changes it,
  and the window is counted again).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from newswire.adapters.aws_errors import ABSENT_CODES, LOST_RACE_CODES, error_code
from newswire.audience.counting import DayAggregate, FeedCounts
from newswire.audience.hashing import KEY_BYTES, new_key
from newswire.errors import LogObjectMissingError, StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

KEYS_PREFIX = "keys/"
PARTIALS_PREFIX = "partials/"
SNAPSHOTS_PREFIX = "snapshots/"
#: CloudWatch namespace of the per-feed counts; dimension ``Feed`` (the feed's URI path).
METRICS_NAMESPACE = "Newswire/Audience"
#: A snapshot's metadata: the fingerprint of the partials counted, and the window's last day.
_FINGERPRINT, _LAST = "partials", "window-last"
#: CloudWatch takes at most this many values per ``PutMetricData``.
_METRICS_PER_CALL = 1000


class AudienceStore:
    """Window keys, per-log partial aggregates and snapshots in one private bucket.

    Args:
        s3: an S3 client.
        bucket: the aggregates bucket.
    """

    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def window_key(self, end: date) -> bytes | None:
        """The key of the window ending on ``end``, made now if no processor made it yet.

        Returns:
            The key, or None when the window is closed: the rollup counted it and dropped its
            key, and a key made again would link that week's hashes to addresses anew.

        Raises:
            StorageError: S3 failed.
        """
        name = _key_name(end)
        for _attempt in range(3):
            key = self._read(name)
            if key is not None and len(key) == KEY_BYTES:
                return key
            if self._read(_closed_name(end)) is not None:
                return None
            try:
                self._s3.put_object(Bucket=self._bucket, Key=name, Body=new_key(), IfNoneMatch="*")
            except ClientError as e:
                if error_code(e) not in LOST_RACE_CODES:
                    raise StorageError(f"s3://{self._bucket}/{name}: {e}") from e
                continue  # another processor made it first: read theirs
            if self._read(_closed_name(end)) is not None:  # the rollup closed it meanwhile
                self._delete(name)
                return None
        raise StorageError(f"s3://{self._bucket}/{name}: the window key could not be agreed on")

    def close_window(self, end: date) -> None:
        """Mark the window ending on ``end`` closed, before its final count lists its partials:
        a partial written before the marker is in that count, and a processor that finds the
        marker after writing its own knows its lines may not be (:meth:`is_closed`)."""
        closed = _closed_name(end)
        try:
            self._s3.put_object(Bucket=self._bucket, Key=closed, Body=b"")
        except ClientError as e:
            raise StorageError(f"s3://{self._bucket}/{closed}: {e}") from e

    def is_closed(self, end: date) -> bool:
        """Whether the rollup closed the window ending on ``end`` (:meth:`close_window`)."""
        return self._head(_closed_name(end)) is not None

    def drop_window_key(self, end: date) -> None:
        """Delete the key of a window :meth:`close_window` closed: its hashes become unlinkable.

        The closed marker is written before, so a processor that made the key in between sees
        the marker and deletes the key itself.
        """
        self._delete(_key_name(end))

    def _delete(self, name: str) -> None:
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=name)
        except ClientError as e:
            raise StorageError(f"s3://{self._bucket}/{name}: {e}") from e

    def put_partial(self, day: date, source: str, feeds: Mapping[str, DayAggregate]) -> None:
        """Write one log file's aggregates of ``day``, replacing an earlier run's."""
        name = partial_key(day, source)
        document = {"source": source, "feeds": {p: a.to_json() for p, a in feeds.items()}}
        body = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), mtime=0)
        try:
            self._s3.put_object(
                Bucket=self._bucket, Key=name, Body=body, ContentType="application/json",
                ContentEncoding="gzip",
            )  # fmt: skip
        except ClientError as e:
            raise StorageError(f"s3://{self._bucket}/{name}: {e}") from e

    def partial_versions(self, days: Iterable[date]) -> dict[date, dict[str, str]]:
        """Each partial of ``days``, by day: its key and ETag (what a window's count read)."""
        found: dict[date, dict[str, str]] = {}
        for day in days:
            prefix = f"{PARTIALS_PREFIX}{day.isoformat()}/"
            versions = found[day] = {}
            try:
                pages = self._s3.get_paginator("list_objects_v2").paginate(
                    Bucket=self._bucket, Prefix=prefix
                )
                for page in pages:
                    for item in page.get("Contents", []):
                        versions[item["Key"]] = item["ETag"]
            except ClientError as e:
                raise StorageError(f"s3://{self._bucket}/{prefix}: {e}") from e
        return found

    def read_partial(self, name: str) -> dict[str, Any] | None:
        """One partial's aggregates by feed path, as JSON (decoded by
        :meth:`DayAggregate.from_json`), or None if it expired since it was listed."""
        body = self._read(name)
        if body is None:
            return None
        feeds: dict[str, Any] = json.loads(gzip.decompress(body))["feeds"]
        return feeds

    def counted_version(self, last: date) -> str | None:
        """The fingerprint of the partials the window ending ``last`` was last counted from
        (:func:`fingerprint`), or None if it never was."""
        return self._metadata(f"{SNAPSHOTS_PREFIX}{last.isoformat()}.json").get(_FINGERPRINT)

    def latest_window(self) -> date | None:
        """The last day of the window ``snapshots/latest.json`` holds, if there is one."""
        last = self._metadata(f"{SNAPSHOTS_PREFIX}latest.json").get(_LAST)
        return date.fromisoformat(last) if last else None

    def _metadata(self, name: str) -> dict[str, str]:
        head = self._head(name)
        return dict(head.get("Metadata", {})) if head is not None else {}

    def _head(self, name: str) -> Mapping[str, Any] | None:
        try:
            return self._s3.head_object(Bucket=self._bucket, Key=name)
        except ClientError as e:
            if error_code(e) in ABSENT_CODES:
                return None
            raise StorageError(f"s3://{self._bucket}/{name}: {e}") from e

    def open_windows(self) -> list[date]:
        """The last days of the windows whose key exists, oldest first (an object of another
        name under ``keys/`` is no window's, and left alone)."""
        ends = []
        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=KEYS_PREFIX
            )
            names = [item["Key"] for page in pages for item in page.get("Contents", [])]
        except ClientError as e:
            raise StorageError(f"s3://{self._bucket}/{KEYS_PREFIX}: {e}") from e
        for name in names:
            if not name.endswith(".key"):
                continue  # a closed marker
            try:
                ends.append(date.fromisoformat(name.removeprefix(KEYS_PREFIX)[: -len(".key")]))
            except ValueError:
                continue
        return sorted(ends)

    def put_snapshot(
        self,
        first: date,
        last: date,
        counts: Mapping[str, FeedCounts],
        *,
        version: str,
        latest: bool,
    ) -> str:
        """Write the window's counts as ``snapshots/<last>.json`` (and ``latest.json``).

        Args:
            first: the window's first day.
            last: its last day.
            counts: each feed's counts.
            version: the fingerprint of the partials counted, kept with the snapshot so a
                later rollup can tell whether late log lines changed them.
            latest: also write ``latest.json``.

        Returns:
            The dated snapshot's key.
        """
        document = {
            "window": {"first": first.isoformat(), "last": last.isoformat()},
            "feeds": {path: feed.to_json() for path, feed in counts.items()},
        }
        body = json.dumps(document, indent=2).encode()
        names = [f"{SNAPSHOTS_PREFIX}{last.isoformat()}.json"]
        if latest:
            names.append(f"{SNAPSHOTS_PREFIX}latest.json")
        for name in names:
            try:
                self._s3.put_object(
                    Bucket=self._bucket, Key=name, Body=body, ContentType="application/json",
                    Metadata={_FINGERPRINT: version, _LAST: last.isoformat()},
                )  # fmt: skip
            except ClientError as e:
                raise StorageError(f"s3://{self._bucket}/{name}: {e}") from e
        return names[0]

    def _read(self, name: str) -> bytes | None:
        try:
            return self._s3.get_object(Bucket=self._bucket, Key=name)["Body"].read()
        except ClientError as e:
            if error_code(e) in ABSENT_CODES:
                return None
            raise StorageError(f"s3://{self._bucket}/{name}: {e}") from e


def open_log_object(s3: S3Client, bucket: str, key: str) -> Iterable[bytes]:
    """A CloudFront log object's lines, as bytes, read as a stream (gunzipped if ``.gz``).

    Raises:
        LogObjectMissingError: it is gone (expired by the log bucket's lifecycle rule, or
            deleted): S3 says so only to a role that may list the bucket, or it says
            AccessDenied.
        StorageError: S3 failed otherwise.
    """
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as e:
        if error_code(e) in ABSENT_CODES:
            raise LogObjectMissingError(f"s3://{bucket}/{key}") from e
        raise StorageError(f"s3://{bucket}/{key}: {e}") from e
    if key.endswith(".gz"):
        return gzip.GzipFile(fileobj=body)
    return body.iter_lines(keepends=True)


def _key_name(end: date) -> str:
    return f"{KEYS_PREFIX}{end.isoformat()}.key"


def _closed_name(end: date) -> str:
    return f"{KEYS_PREFIX}{end.isoformat()}.closed"


def fingerprint(versions: Mapping[str, str]) -> str:
    """One digest of a set of partials' keys and ETags: it changes when a log lands late (a
    new partial) or a partial is rewritten with other counts, not when an event redelivered
    rewrites the same bytes."""
    listing = "\n".join(f"{name} {etag}" for name, etag in sorted(versions.items()))
    return hashlib.sha256(listing.encode()).hexdigest()


def partial_key(day: date, source: str) -> str:
    """Where one log object's aggregates of ``day`` go: the same for the same object."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:32]
    return f"{PARTIALS_PREFIX}{day.isoformat()}/{digest}.json.gz"


#: The feed dimension of the all-feeds totals.
ALL_FEEDS = "(all feeds)"
#: CloudWatch's longest dimension value, in characters (all ASCII).
DIMENSION_VALUE_MAX = 1024
#: Characters a dimension value keeps as they are: printable ASCII but ``%``, its escape.
_DIMENSION_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")
#: Hex digits of the path's SHA-256 that end a value cut to :data:`DIMENSION_VALUE_MAX`.
_CUT_DIGEST = 16


def dimension_value(path: str) -> str:
    """The ``Feed`` dimension value of the feed at ``path``: CloudWatch takes 1 to 1,024
    characters of printable ASCII, and a log's path is decoded (any Unicode).

    Each character that is not printable ASCII, and ``%`` itself, is percent-encoded as UTF-8
    bytes (``/tags/café/rss.xml`` is ``/tags/caf%C3%A9/rss.xml``), so
    :func:`urllib.parse.unquote` gives the path back. A value longer than 1,024 characters is
    cut, never inside an escape, and ends with ``%~`` and the first 16 hex digits of the
    path's SHA-256 (``%~`` is no escape, so no whole value ends so): two long paths never share
    a metric, and the snapshot has the whole path.
    """
    value = quote(path, safe=_DIMENSION_SAFE, errors="surrogatepass")  # a path is never empty
    if len(value) <= DIMENSION_VALUE_MAX:
        return value
    digest = hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()[:_CUT_DIGEST]
    kept = value[: DIMENSION_VALUE_MAX - len(digest) - 2]
    escape = kept.rfind("%", len(kept) - 2)  # an escape cut short is dropped whole
    if escape >= 0:
        kept = kept[:escape]
    return f"{kept}%~{digest}"


@dataclass(frozen=True, slots=True)
class MetricsSent:
    """What :func:`put_feed_metrics` published.

    Attributes:
        values: metric values sent.
        feeds: feeds with metrics of their own.
        left_out: feeds with readers past the cap: in the snapshot only.
    """

    values: int
    feeds: int
    left_out: int


def put_feed_metrics(
    cloudwatch: Any, last: date, counts: Mapping[str, FeedCounts], *, cap: int
) -> MetricsSent:
    """Publish the window's counts as CloudWatch metrics: each feed with readers, and the total.

    Metrics (unit Count, dimension ``Feed``, the feed's path as :func:`dimension_value`
    writes it, or :data:`ALL_FEEDS`):
    ``Subscribers``, ``IndividualReaders``, ``Requests``, timestamped at the end of ``last``
    (UTC). A feed gets metrics of its own when it has subscribers, up to ``cap`` feeds (those
    with most first): each custom metric is billed by the month, a site has a feed per tag,
    author and format, and a feed no one follows has nothing to chart; the snapshot has them
    all.

    Returns:
        What was sent, and how many feeds with readers the cap left out.
    """
    stamp = datetime.combine(last, time(23, 59, 59), tzinfo=UTC)
    followed = sorted(
        ((path, feed) for path, feed in counts.items() if feed.subscribers > 0),
        key=lambda item: (-item[1].subscribers, item[0]),
    )
    ranked = followed[: max(cap, 0)]
    totals = {
        "Subscribers": sum(feed.subscribers for feed in counts.values()),
        "IndividualReaders": sum(feed.individual for feed in counts.values()),
        "Requests": sum(feed.requests for feed in counts.values()),
    }
    series = [(ALL_FEEDS, totals)] + [
        (path, {"Subscribers": feed.subscribers, "IndividualReaders": feed.individual,
                "Requests": feed.requests})
        for path, feed in ranked
    ]  # fmt: skip
    data: list[Any] = [
        {"MetricName": name, "Dimensions": [{"Name": "Feed", "Value": dimension_value(path)}],
         "Timestamp": stamp, "Value": float(value), "Unit": "Count"}
        for path, values in series
        for name, value in values.items()
    ]  # fmt: skip
    for start in range(0, len(data), _METRICS_PER_CALL):
        try:
            cloudwatch.put_metric_data(
                Namespace=METRICS_NAMESPACE, MetricData=data[start : start + _METRICS_PER_CALL]
            )
        except ClientError as e:
            raise StorageError(f"CloudWatch {METRICS_NAMESPACE}: {e}") from e
    return MetricsSent(values=len(data), feeds=len(ranked), left_out=len(followed) - len(ranked))
