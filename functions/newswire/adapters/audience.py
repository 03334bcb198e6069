"""The audience pipeline's storage and metrics: a private S3 bucket and CloudWatch.

Bucket layout (all private; ``infra/`` expires each prefix by lifecycle rule):

- ``keys/<day>.key``: the hashing key of the seven-day window ending on that day, made by the
  first log processor that needs it (a conditional write, so concurrent processors agree on
  one) and deleted by the rollup once the window's count is final; ``keys/<day>.closed``, an
  empty marker the rollup writes first, so a late or retried processor never makes the key of
  a window already counted again;
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

from botocore.exceptions import ClientError

from newswire.audience.counting import DayAggregate, FeedCounts
from newswire.audience.hashing import KEY_BYTES, new_key
from newswire.errors import StorageError

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
                if _code(e) not in {"PreconditionFailed", "ConditionalRequestConflict"}:
                    raise StorageError(f"s3://{self._bucket}/{name}: {e}") from e
                continue  # another processor made it first: read theirs
            if self._read(_closed_name(end)) is not None:  # the rollup closed it meanwhile
                self._delete(name)
                return None
        raise StorageError(f"s3://{self._bucket}/{name}: the window key could not be agreed on")

    def drop_window_key(self, end: date) -> None:
        """Close the window ending on ``end`` and delete its key: its hashes become unlinkable.

        The closed marker is written before the key is deleted, so a processor that made the
        key in between sees the marker and deletes the key itself.
        """
        closed = _closed_name(end)
        try:
            self._s3.put_object(Bucket=self._bucket, Key=closed, Body=b"")
        except ClientError as e:
            raise StorageError(f"s3://{self._bucket}/{closed}: {e}") from e
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
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=name)
        except ClientError as e:
            if _code(e) in {"NoSuchKey", "404"}:
                return {}
            raise StorageError(f"s3://{self._bucket}/{name}: {e}") from e
        return dict(head.get("Metadata", {}))

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
            if _code(e) in {"NoSuchKey", "404"}:
                return None
            raise StorageError(f"s3://{self._bucket}/{name}: {e}") from e


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


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


#: The feed dimension of the all-feeds totals.
ALL_FEEDS = "(all feeds)"


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

    Metrics (unit Count, dimension ``Feed``, the feed's path or :data:`ALL_FEEDS`):
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
        {"MetricName": name, "Dimensions": [{"Name": "Feed", "Value": path[:1024]}],
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
