"""The audience Lambdas on moto: logs counted as they land, a day rolled up, nothing raw kept."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from newswire import runtime
from newswire.errors import StorageError
from newswire.handlers import audience
from tests.handlers.audience_moto import (
    AGGREGATES,
    READER_ADDRESS,
    SECOND,
    deliver,
    feeds_with_metrics,
    keys_kept,
    process_at,
    rollup,
    snapshot_of,
    subscribers_charted,
)
from tests.handlers.conftest import FakeLambdaContext
from tests.support import cloudfront as cf
from tests.support.cloudfront import HEADER, line

FIRST = (
    HEADER
    + line("2026-12-01 10:00:00", "/rss.xml", cf.NETNEWSWIRE, READER_ADDRESS)
    + line("2026-12-01 10:00:00", "/rss.xml", cf.FEEDLY.format(n=100), "54.1.1.1")
    + line("2026-12-01 10:00:00", "/rss.xml", cf.FEEDBIN.format(id=1, n=10), "54.2.2.2")
    + line("2026-12-01 10:00:00", "/rss.xml", cf.FEEDBIN.format(id=2, n=4), "54.2.2.2")
    + "this line is not a log line\n"
)


def test_logs_are_counted_as_they_land_and_the_day_rolled_up(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = deliver(s3, "cloudfront/E2EXAMPLE.2026-12-01-10.aaaa.gz", FIRST)
    assert first == {
        "LogLinesRead": 5, "LogLinesMalformed": 1, "FeedRequestsCounted": 4,
        # Dec 1 is in windows closed by Dec 6 (those ending Dec 1 to 3): counted in the others
        "LateLogLines": 4, "LogObjectsMissing": 0,
    }  # fmt: skip
    second = deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)
    assert second["LateLogLines"] == 0
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)  # redelivered
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 8, 2, 30, tzinfo=UTC))

    # the first rollup counts the window ending Dec 7 and the two before it, never counted;
    # it closes those whose time is up (Dec 5: two days after it ended)
    assert rollup() == {
        "counted": ["2026-12-05", "2026-12-06", "2026-12-07"],
        "closed": ["2026-12-04", "2026-12-05"],
        "feeds": 2,
        "metrics": 6 + 6 + 9,  # /rss.xml and the totals; /atom.xml's line is of Dec 7
    }

    snapshot = json.loads(
        s3.get_object(Bucket=AGGREGATES, Key="snapshots/latest.json")["Body"].read()
    )
    assert snapshot == {
        "window": {"first": "2026-12-01", "last": "2026-12-07"},
        "feeds": {
            "/atom.xml": {
                "subscribers": 7, "hosted": {"Inoreader": 7}, "individual": 0, "browsers": 0,
                "bots": 0, "requests": 1,
            },
            "/rss.xml": {
                "subscribers": 120 + 10 + 4 + 2, "hosted": {"Feedbin": 14, "Feedly": 120},
                "individual": 2, "browsers": 1, "bots": 1, "requests": 9,
            },
        },
    }  # fmt: skip
    cloudwatch = boto3.client("cloudwatch")
    found = cloudwatch.list_metrics(Namespace="Newswire/Audience", MetricName="Subscribers")
    assert {m["Dimensions"][0]["Value"] for m in found["Metrics"]} == {
        "/rss.xml", "/atom.xml", "(all feeds)",
    }  # fmt: skip


#: Feeds of tags and authors with a reader or two, and one only a crawler fetches.
MANY_FEEDS = (
    HEADER
    + "".join(
        line("2026-12-06 10:00:00", f"/tags/t{n}/rss.xml", cf.NETNEWSWIRE, f"192.0.2.{n}")
        for n in range(1, 26)
    )
    + line("2026-12-06 10:00:00", "/tags/crawled/rss.xml", cf.GOOGLEBOT, "66.249.66.1")
)


def test_every_feed_with_readers_gets_metrics_of_its_own(s3: Any) -> None:
    """Not only the 20 most followed: each of 27 feeds with readers, but not a crawled one."""
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.dddd.gz", MANY_FEEDS)
    rollup()
    tags = {f"/tags/t{n}/rss.xml" for n in range(1, 26)}
    assert feeds_with_metrics() == {"/rss.xml", "/atom.xml", "(all feeds)"} | tags
    assert subscribers_charted("/rss.xml") == 120 + 2
    assert subscribers_charted("/tags/t25/rss.xml") == 1
    assert subscribers_charted("(all feeds)") == 120 + 2 + 7 + 25


def test_past_the_cap_only_the_most_followed_feeds_get_metrics_of_their_own(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIENCE_METRIC_FEEDS", "1")
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)
    assert audience.rollup({"day": "2026-12-07"}, FakeLambdaContext())["metrics"] == 6
    assert feeds_with_metrics() == {"/rss.xml", "(all feeds)"}
    snapshot = snapshot_of(s3, "2026-12-07")
    assert set(snapshot["feeds"]) == {"/rss.xml", "/atom.xml"}  # the snapshot has them all


def test_no_address_is_kept_and_the_window_key_is_dropped_once_final(s3: Any) -> None:
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=AGGREGATES)["Contents"]}
    assert "keys/2026-12-07.key" in keys
    assert {k for k in keys if k.startswith("keys/")} == {
        f"keys/2026-12-{day:02d}.key" for day in range(6, 13)
    }  # readers of Dec 6 count for the windows ending Dec 6 to Dec 12
    for key in keys:
        body = s3.get_object(Bucket=AGGREGATES, Key=key)["Body"].read()
        text = gzip.decompress(body) if key.endswith(".gz") else body
        assert READER_ADDRESS.encode() not in text and b"198.51.100" not in text
    rollup()  # Dec 8: the window ending Dec 7 is counted, and stays open for late lines
    assert "keys/2026-12-07.key" in keys_kept(s3)
    rollup("2026-12-10T02:30:00Z")  # two days later its count is final
    assert keys_kept(s3) == {f"keys/2026-12-{day:02d}.key" for day in range(8, 13)}


#: Lines of Dec 6, 03:00 and 04:00, that CloudFront delivers on Dec 7 at 20:00: 41 hours late.
LATE = (
    HEADER
    + line("2026-12-06 03:00:00", "/rss.xml", cf.NEWSBOAT, "198.51.100.3")
    + line("2026-12-06 04:00:00", "/rss.xml", cf.NETNEWSWIRE, READER_ADDRESS)  # seen again
)


def test_a_log_delivered_a_day_late_is_counted_in_the_windows_already_counted(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_time = HEADER + line("2026-12-06 10:00:00", "/rss.xml", cf.NETNEWSWIRE, READER_ADDRESS)
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.aaaa.gz", on_time)
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 7, 2, 30, tzinfo=UTC))
    rollup("2026-12-07T02:30:00Z")
    assert snapshot_of(s3, "2026-12-06")["feeds"]["/rss.xml"]["individual"] == 1

    process_at(
        s3,
        "cloudfront/E2EXAMPLE.2026-12-06-03.late.gz",
        LATE,
        datetime(2026, 12, 7, 20, 5, tzinfo=UTC),
    )
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 8, 2, 30, tzinfo=UTC))
    found = rollup("2026-12-08T02:30:00Z")

    assert found["counted"] == ["2026-12-06", "2026-12-07"]  # Dec 6 again: its partials changed
    for window in ("2026-12-06", "2026-12-07"):
        rss = snapshot_of(s3, window)["feeds"]["/rss.xml"]
        assert (rss["individual"], rss["requests"]) == (2, 3), window  # one reader seen twice
    assert snapshot_of(s3, "latest")["window"]["last"] == "2026-12-07"
    assert subscribers_charted("/rss.xml", day=6) == 2

    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 9, 2, 30, tzinfo=UTC))
    found = rollup("2026-12-09T02:30:00Z")
    assert found["counted"] == ["2026-12-08"]  # nothing new for Dec 6 and Dec 7: not recounted
    assert found["closed"] == ["2026-12-06"]  # final: its key deleted
    assert "keys/2026-12-06.key" not in keys_kept(s3)
    assert snapshot_of(s3, "2026-12-06")["feeds"]["/rss.xml"]["individual"] == 2


def test_a_log_later_than_that_is_hashed_only_for_windows_still_open(s3: Any) -> None:
    rollup("2026-12-10T02:30:00Z")  # the windows ending up to Dec 7 are closed
    process_at(s3, "cloudfront/late.gz", SECOND, datetime(2026, 12, 10, 3, tzinfo=UTC))
    assert keys_kept(s3) == {f"keys/2026-12-{day:02d}.key" for day in range(8, 13)}


def test_a_retried_event_does_not_bring_back_a_key_the_rollup_deleted(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 10, 2, 31, tzinfo=UTC))
    rollup("2026-12-10T02:30:00Z")  # the window ending Dec 7 is final, its key deleted
    assert "keys/2026-12-07.key" not in keys_kept(s3)
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 10, 3, 0, tzinfo=UTC))
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)  # retried, its old time
    assert "keys/2026-12-07.key" not in keys_kept(s3)


def test_a_window_closed_early_is_not_reopened_by_a_later_log(s3: Any) -> None:
    rollup("2026-12-10T02:30:00Z")  # by hand, with a time ahead of the clock (Dec 6)
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)
    assert "keys/2026-12-07.key" not in keys_kept(s3)
    assert "keys/2026-12-08.key" in keys_kept(s3)


def test_a_window_counted_by_hand_is_counted_again_with_later_logs(s3: Any) -> None:
    audience.rollup({"day": "2026-12-07"}, FakeLambdaContext())  # before the window ends
    assert snapshot_of(s3, "2026-12-07")["feeds"] == {}
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)
    assert "keys/2026-12-07.key" in keys_kept(s3)  # still open: its time is not up
    assert "2026-12-07" in rollup()["counted"]
    assert snapshot_of(s3, "2026-12-07")["feeds"]["/rss.xml"]["individual"] == 2


def test_lines_dated_far_outside_the_logs_period_are_skipped_not_fatal(s3: Any) -> None:
    text = (
        SECOND
        + line("9999-12-30 10:00:00", "/rss.xml", cf.NETNEWSWIRE, "192.0.2.90")
        + line("2026-12-09 12:00:00", "/rss.xml", cf.NETNEWSWIRE, "192.0.2.91")  # 3 days ahead
        + line("2026-11-01 10:00:00", "/rss.xml", cf.NETNEWSWIRE, "192.0.2.92")  # long closed
    )
    found = deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.cccc.gz", text)
    assert found == {
        "LogLinesRead": 9, "LogLinesMalformed": 3, "FeedRequestsCounted": 6, "LateLogLines": 0,
        "LogObjectsMissing": 0,
    }  # fmt: skip
    days = {
        o["Key"].split("/")[1]
        for o in s3.list_objects_v2(Bucket=AGGREGATES, Prefix="partials/")["Contents"]
    }
    assert days == {"2026-12-06", "2026-12-07"}


def test_a_rollup_invoked_without_a_day_or_time_counts_yesterday(s3: Any) -> None:
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)
    found = audience.rollup({}, FakeLambdaContext())  # NOW is Dec 6: the window ending Dec 5
    assert found["counted"][-1] == "2026-12-05"
    assert snapshot_of(s3, "latest")["window"]["last"] == "2026-12-05"


def test_a_stray_object_under_keys_does_not_stop_the_rollup(s3: Any) -> None:
    s3.put_object(Bucket=AGGREGATES, Key="keys/copy-of-2026-12-01.key", Body=b"kept by hand")
    assert rollup()["closed"] == ["2026-12-05"]


def test_a_rollup_retried_after_cloudwatch_failed_still_publishes_the_window(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CloudWatch throttles the first run; Lambda retries the event: the window's metrics
    must still be sent, though its snapshot was written before the failure."""
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 7, 2, 30, tzinfo=UTC))
    rollup("2026-12-07T02:30:00Z")  # the windows up to Dec 6 counted
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 8, 2, 30, tzinfo=UTC))

    def throttled(**_kwargs: Any) -> None:
        raise ClientError(
            {
                "Error": {"Code": "Throttling", "Message": "Rate exceeded"},
                "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 2},
            },
            "PutMetricData",
        )

    cloudwatch = runtime.aws_client("cloudwatch")
    cloudwatch.meta.events.register("before-call.monitoring.PutMetricData", throttled)
    with pytest.raises(StorageError, match="CloudWatch"):
        rollup()
    cloudwatch.meta.events.unregister("before-call.monitoring.PutMetricData", throttled)
    rollup()  # Lambda's retry of the same scheduled event

    assert subscribers_charted("/rss.xml", day=7) == 120 + 2


def test_a_window_is_not_counted_by_hand_once_its_first_days_partials_may_be_gone(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runbook's manual count of an older window: once the lifecycle rule may have
    expired its first day's partials, a count would silently miss that day (here over the
    good count already taken): the rollup refuses, saying why."""
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-01-10.aaaa.gz", FIRST)
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 8, 2, 30, tzinfo=UTC))
    rollup()
    counted = snapshot_of(s3, "2026-12-07")
    assert counted["feeds"]["/rss.xml"]["requests"] == 4 + 5

    # Dec 11, 00:00: the partials written on Dec 1 expire (10 days, rounded to midnight)
    listed = s3.list_objects_v2(Bucket=AGGREGATES, Prefix="partials/2026-12-01/")
    for item in listed["Contents"]:
        s3.delete_object(Bucket=AGGREGATES, Key=item["Key"])
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 11, 9, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match=r"2026-12-07.*2026-12-01"):
        audience.rollup({"day": "2026-12-07"}, FakeLambdaContext())
    assert snapshot_of(s3, "2026-12-07") == counted


def test_an_old_scheduled_event_replayed_keeps_the_counts_it_can_no_longer_take_whole(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rollup's event from the dead-letter queue, invoked again days later."""
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-01-10.aaaa.gz", FIRST)
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 8, 2, 30, tzinfo=UTC))
    rollup()
    counted = snapshot_of(s3, "2026-12-07")
    listed = s3.list_objects_v2(Bucket=AGGREGATES, Prefix="partials/2026-12-01/")
    for item in listed["Contents"]:  # expired on Dec 11 by the lifecycle rule
        s3.delete_object(Bucket=AGGREGATES, Key=item["Key"])
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 11, 9, 0, tzinfo=UTC))
    assert "2026-12-07" not in rollup()["counted"]
    assert snapshot_of(s3, "2026-12-07") == counted
