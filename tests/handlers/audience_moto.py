"""The audience Lambdas' world on moto: the two buckets, log objects delivered, rollups run."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from newswire import runtime
from newswire.handlers import audience
from tests.handlers.conftest import FakeLambdaContext
from tests.support import cloudfront as cf
from tests.support.cloudfront import HEADER, line

EVENTS = Path(__file__).parent.parent / "events"
LOGS = "newswire-cloudfront-logs"
AGGREGATES = "newswire-audience"
READER_ADDRESS = "192.0.2.77"
#: When the processors run: just after the test event's log landed.
NOW = datetime(2026, 12, 6, 11, 5, tzinfo=UTC)


def audience_buckets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The log and aggregates buckets in moto, the functions' environment, the clock at
    :data:`NOW`: the ``s3`` fixture of the audience tests (``conftest.py``)."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "AUDIENCE_BUCKET": AGGREGATES,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(audience, "clock", lambda: NOW)
    runtime.clear_clients()
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=LOGS)
        client.create_bucket(Bucket=AGGREGATES)
        yield client
    runtime.clear_clients()


def deliver(s3: Any, key: str, text: str) -> dict[str, Any]:
    """Put a gzipped log object, as CloudFront does, and process its S3 event."""
    s3.put_object(Bucket=LOGS, Key=key, Body=gzip.compress(text.encode()))
    event = json.loads((EVENTS / "s3-put-cloudfront-log.json").read_text())
    event = copy.deepcopy(event)
    event["Records"][0]["s3"]["object"]["key"] = key
    return audience.process_log(event, FakeLambdaContext())


def rollup(at: str | None = None) -> dict[str, Any]:
    """The scheduled rollup, at the test event's time (2026-12-08T02:30Z) or ``at``."""
    event = json.loads((EVENTS / "eventbridge-audience-rollup.json").read_text())
    if at:
        event["time"] = at
    return audience.rollup(event, FakeLambdaContext())


def snapshot_of(s3: Any, name: str) -> dict[str, Any]:
    body = s3.get_object(Bucket=AGGREGATES, Key=f"snapshots/{name}.json")["Body"].read()
    document: dict[str, Any] = json.loads(body)
    return document


def feeds_with_metrics() -> set[str]:
    found = boto3.client("cloudwatch").list_metrics(Namespace="Newswire/Audience")["Metrics"]
    return {m["Dimensions"][0]["Value"] for m in found}


def subscribers_charted(feed: str, day: int = 7) -> float:
    """The feed's Subscribers of the window ending on that day of December 2026, as a
    dashboard shows it (the day's Maximum: a window counted again adds a value)."""
    points = boto3.client("cloudwatch").get_metric_statistics(
        Namespace="Newswire/Audience",
        MetricName="Subscribers",
        Dimensions=[{"Name": "Feed", "Value": feed}],
        StartTime=datetime(2026, 12, day, tzinfo=UTC),
        EndTime=datetime(2026, 12, day + 1, tzinfo=UTC),
        Period=86400,
        Statistics=["Maximum"],
    )["Datapoints"]
    return max(p["Maximum"] for p in points)


def keys_kept(s3: Any) -> set[str]:
    found = s3.list_objects_v2(Bucket=AGGREGATES, Prefix="keys/").get("Contents", [])
    return {o["Key"] for o in found if o["Key"].endswith(".key")}


def process_at(s3: Any, key: str, text: str, when: datetime) -> None:
    """Deliver a log object whose S3 event is sent, and processed, at ``when``."""
    s3.put_object(Bucket=LOGS, Key=key, Body=gzip.compress(text.encode()))
    event = json.loads((EVENTS / "s3-put-cloudfront-log.json").read_text())
    event["Records"][0]["s3"]["object"]["key"] = key
    event["Records"][0]["eventTime"] = when.isoformat()
    audience.process_log(event, FakeLambdaContext())


SECOND = (
    HEADER
    + line("2026-12-06 10:00:00", "/rss.xml", cf.NETNEWSWIRE, READER_ADDRESS)
    + line("2026-12-06 10:00:01", "/rss.xml", cf.NEWSBOAT, "198.51.100.3")
    + line("2026-12-06 10:00:02", "/rss.xml", cf.FEEDLY.format(n=120), "54.1.1.1")
    + line("2026-12-06 10:00:03", "/rss.xml", cf.CHROME, "198.51.100.4")
    + line("2026-12-06 10:00:04", "/rss.xml", cf.GOOGLEBOT, "66.249.66.1")
    + line("2026-12-07 23:59:59", "/atom.xml", cf.INOREADER.format(n=7), "35.1.1.1")
)
