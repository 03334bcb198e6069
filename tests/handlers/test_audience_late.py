"""The audience Lambdas on moto, at the edges: a log later than a window's final count, a
log gone, ``latest.json`` and the metrics' feed names."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from newswire import runtime
from newswire.handlers import audience
from tests.handlers.audience_moto import (
    AGGREGATES,
    EVENTS,
    LOGS,
    SECOND,
    deliver,
    feeds_with_metrics,
    rollup,
    snapshot_of,
    subscribers_charted,
)
from tests.handlers.conftest import FakeLambdaContext
from tests.support import cloudfront as cf
from tests.support.cloudfront import HEADER, line

#: Lines of Dec 7 that CloudFront delivers on Dec 10 just before 02:30, as the window ending
#: Dec 7 is about to be counted a last time.
LAST_MINUTE = (
    HEADER
    + line("2026-12-07 22:00:00", "/rss.xml", cf.NEWSBOAT, "198.51.100.9")
    + line("2026-12-07 22:00:05", "/rss.xml", cf.CHROME, "198.51.100.10")
)


def last_minute_event() -> dict[str, Any]:
    """The S3 event of :data:`LAST_MINUTE`'s log, which landed at 02:28:30 on Dec 10."""
    event: dict[str, Any] = json.loads((EVENTS / "s3-put-cloudfront-log.json").read_text())
    event["Records"][0]["s3"]["object"]["key"] = "cloudfront/last.gz"
    event["Records"][0]["eventTime"] = "2026-12-10T02:28:30Z"
    return event


@contextmanager
def once_before(
    operation: str, when: Callable[[dict[str, Any]], bool], act: Callable[[], Any]
) -> Iterator[list[Any]]:
    """Run ``act`` once, just before the handlers' first S3 ``operation`` whose parameters
    ``when`` accepts: one Lambda's call lands in the middle of another's."""
    done: list[Any] = []

    def before(params: dict[str, Any], **_: Any) -> None:
        if not done and when(params):
            done.append(None)
            done.append(act())

    client = runtime.aws_client("s3")
    client.meta.events.register(f"before-parameter-build.s3.{operation}", before)
    try:
        yield done
    finally:
        client.meta.events.unregister(f"before-parameter-build.s3.{operation}", before)


def final_rollup(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The rollup of Dec 10, 02:30: the last of the window ending Dec 7."""
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 10, 2, 30, 5, tzinfo=UTC))
    return rollup("2026-12-10T02:30:00Z")


def test_a_log_written_after_its_windows_final_count_is_reported_late_not_lost(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The processor starts while the window ending Dec 7 is open (02:29) and writes its
    partials just after the final rollup listed that window's: that count is taken without
    them, and the processor says how many lines it misses; later windows take them."""
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)
    s3.put_object(Bucket=LOGS, Key="cloudfront/last.gz", Body=gzip.compress(LAST_MINUTE.encode()))
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 10, 2, 29, tzinfo=UTC))

    def partial(params: dict[str, Any]) -> bool:
        return str(params["Key"]).startswith("partials/")

    with once_before("PutObject", partial, lambda: final_rollup(monkeypatch)) as rolled:
        found = audience.process_log(last_minute_event(), FakeLambdaContext())

    assert "2026-12-07" in rolled[1]["closed"]
    final = snapshot_of(s3, "2026-12-07")["feeds"]["/rss.xml"]
    assert (final["requests"], final["individual"]) == (5, 2)  # without the last minute's two
    assert found["LateLogLines"] == 2  # so the processor reports both
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 11, 2, 30, tzinfo=UTC))
    assert "2026-12-08" in rollup("2026-12-11T02:30:00Z")["counted"]  # still open: taken
    later = snapshot_of(s3, "2026-12-08")["feeds"]["/rss.xml"]
    assert (later["requests"], later["individual"], later["browsers"]) == (7, 3, 2)


def test_a_log_written_while_the_final_count_is_taken_is_reported_late_not_lost(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The processor runs whole between the final rollup's listing of Dec 7's partials and
    its close of the window: it must still learn that its lines missed that count."""
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)
    s3.put_object(Bucket=LOGS, Key="cloudfront/last.gz", Body=gzip.compress(LAST_MINUTE.encode()))

    def process() -> dict[str, Any]:
        monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 10, 2, 29, tzinfo=UTC))
        return audience.process_log(last_minute_event(), FakeLambdaContext())

    def after_dec_7(params: dict[str, Any]) -> bool:
        return params.get("Prefix") == "partials/2026-12-08/"

    with once_before("ListObjectsV2", after_dec_7, process) as processed:
        final_rollup(monkeypatch)

    assert snapshot_of(s3, "2026-12-07")["feeds"]["/rss.xml"]["requests"] == 5  # not in it
    assert processed[1]["LateLogLines"] == 2  # and said so


def test_a_log_processed_after_a_window_closed_reports_its_lines_late(
    s3: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 10, 2, 30, tzinfo=UTC))
    rollup("2026-12-10T02:30:00Z")  # the windows ending up to Dec 7 are closed
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 10, 3, 0, tzinfo=UTC))
    s3.put_object(Bucket=LOGS, Key="cloudfront/late.gz", Body=gzip.compress(SECOND.encode()))
    event = json.loads((EVENTS / "s3-put-cloudfront-log.json").read_text())
    event["Records"][0]["s3"]["object"]["key"] = "cloudfront/late.gz"
    found = audience.process_log(event, FakeLambdaContext())
    # Dec 6's five lines and Dec 7's one: in the windows ending Dec 6 and 7, closed
    assert found["FeedRequestsCounted"] == found["LateLogLines"] == 6
    (warning,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert getattr(warning, "key", None) == "cloudfront/late.gz"
    assert getattr(warning, "windows", None) == ["2026-12-06", "2026-12-07"]


def test_a_log_gone_by_lifecycle_rule_is_reported_once_not_retried(
    s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The runbook's re-run of a dead-lettered event after the log bucket expired its object:
    one error naming the object, and the invocation succeeds (a retry cannot bring it back)."""
    event = json.loads((EVENTS / "s3-put-cloudfront-log.json").read_text())
    found = audience.process_log(event, FakeLambdaContext())
    assert found["LogObjectsMissing"] == 1 and found["LogLinesRead"] == 0
    errors = [r for r in caplog.records if r.levelname in {"ERROR", "WARNING"}]
    assert [(r.getMessage(), getattr(r, "log", None)) for r in errors] == [
        (
            "log object missing: nothing counted",
            f"s3://{LOGS}/cloudfront/E2EXAMPLE12345.2026-12-06-10.a1b2c3d4.gz",
        )
    ]


def latest_window(s3: Any) -> str:
    last: str = snapshot_of(s3, "latest")["window"]["last"]
    return last


def test_latest_json_holds_the_newest_finished_window_only(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never a window counted by hand before it ends, never back to an older one."""
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.bbbb.gz", SECOND)
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 8, 9, 0, tzinfo=UTC))
    rollup()
    assert latest_window(s3) == "2026-12-07"
    audience.rollup({"day": "2026-12-09"}, FakeLambdaContext())  # ahead: not over yet
    assert snapshot_of(s3, "2026-12-09")["window"]["last"] == "2026-12-09"
    assert latest_window(s3) == "2026-12-07"
    audience.rollup({"day": "2026-12-05"}, FakeLambdaContext())  # an older one, again
    assert latest_window(s3) == "2026-12-07"
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 10, 2, 30, tzinfo=UTC))
    rollup("2026-12-10T02:30:00Z")
    assert latest_window(s3) == "2026-12-09"


def test_a_future_window_left_in_latest_json_is_replaced(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As an earlier release wrote it, from a window counted by hand before it ended."""
    s3.put_object(
        Bucket=AGGREGATES, Key="snapshots/latest.json", Body=b"{}",
        Metadata={"partials": "", "window-last": "2026-12-20"},
    )  # fmt: skip
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 8, 2, 30, tzinfo=UTC))
    rollup()
    assert latest_window(s3) == "2026-12-07"


def test_a_feed_path_out_of_ascii_gets_a_percent_encoded_metric(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CloudWatch takes ASCII dimension values only: the path as a URL has it, reversibly."""
    text = HEADER + line("2026-12-06 10:00:00", "/tags/caf%C3%A9/rss.xml", cf.NETNEWSWIRE)
    deliver(s3, "cloudfront/E2EXAMPLE.2026-12-06-10.eeee.gz", text)
    monkeypatch.setattr(audience, "clock", lambda: datetime(2026, 12, 8, 2, 30, tzinfo=UTC))
    rollup()
    assert feeds_with_metrics() == {"/tags/caf%C3%A9/rss.xml", "(all feeds)"}
    assert subscribers_charted("/tags/caf%C3%A9/rss.xml") == 1
    assert set(snapshot_of(s3, "2026-12-07")["feeds"]) == {"/tags/café/rss.xml"}
