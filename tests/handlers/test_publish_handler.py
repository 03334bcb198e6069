"""The publish Lambda handler, end to end against moto, with realistic trigger events.

Faults are injected at the botocore layer of the very S3 client the handler uses (the runtime
caches one client per service; ``runtime.aws_client("s3")`` hands the test that same client),
with a ``before-parameter-build.s3.PutObject`` hook (it sees the call's Bucket and Key) that
raises the ``ClientError`` botocore raises once its own retries are used up: our own code is
never mocked.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from typing import Any

import feedparser
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from newswire import runtime
from newswire.adapters.aws_errors import OutOfTimeError
from newswire.domain.feeds import FeedFormat, is_feed_path
from newswire.errors import SiteConfigError, TransientStorageError
from newswire.handlers import publish
from newswire.handlers.budget import RESERVE_SECONDS
from newswire.runtime import SiteConfigMissingError
from tests.handlers.conftest import FakeLambdaContext, fail_put_once, use_hub
from tests.support.aws import Stack
from tests.support.factories import CONTENT, REPO
from tests.support.hub import Hub

EVENTS = REPO / "tests" / "events"
ARTICLES = CONTENT / "articles"

COUNCIL_KEY = "articles/council-delays-budget-vote.md"
COUNCIL = "Council delays budget vote by a week"
CAFE_KEY = "articles/café culture/cafe-owners-adapt-to-higher-energy-bills.md"
CAFE = "Café owners adapt to higher energy bills"
HARBOUR_KEY = "articles/harbour-festival-returns-to-the-waterfront.md"
HARBOUR = "Harbour & Maritime Festival returns to the waterfront"
RAIL_KEY = "articles/rail-timetable-changes-confirmed.md"
RAIL = "Rail timetable changes confirmed for the autumn"
MAIN_FEEDS = [fmt.filename for fmt in FeedFormat]
FEEDS_URL = "https://englishnews.example/feeds/"


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def fresh(lambda_stack: Stack) -> Stack:
    """A first deploy: four of content/'s articles uploaded, and no ``site.yaml`` yet."""
    for key, name in [
        (COUNCIL_KEY, "council-delays-budget-vote.md"),
        (CAFE_KEY, "cafe-owners-adapt-to-higher-energy-bills.md"),
        (HARBOUR_KEY, "harbour-festival-returns-to-the-waterfront.md"),
        (RAIL_KEY, "rail-timetable-changes-confirmed.md"),
    ]:
        lambda_stack.put_article(key, (ARTICLES / name).read_bytes())
    return lambda_stack


def upload_site_yaml(stack: Stack) -> None:
    stack.s3.put_object(
        Bucket=stack.content_bucket, Key="site.yaml", Body=(CONTENT / "site.yaml").read_bytes()
    )


@pytest.fixture
def stack(fresh: Stack) -> Stack:
    """The function's stack with ``site.yaml`` and four of content/'s articles uploaded."""
    upload_site_yaml(fresh)
    return fresh


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


def only(event: dict[str, Any], *indexes: int, receive_count: int = 1) -> dict[str, Any]:
    """The SQS batch with only some of its records, as SQS would redeliver them."""
    records = [copy.deepcopy(event["Records"][i]) for i in indexes]
    for record in records:
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return {"Records": records}


def titles(stack: Stack, path: str) -> list[str]:
    body = stack.feed(path)
    if path.endswith(".json"):
        return [item["title"] for item in json.loads(body)["items"]]
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    return [entry.title for entry in parsed.entries]


def feed_paths(stack: Stack) -> set[str]:
    listing = stack.s3.list_objects_v2(Bucket=stack.feeds_bucket).get("Contents", [])
    return {item["Key"] for item in listing}


def emitted_metrics(out: str) -> dict[str, list[float]]:
    """Every metric value printed as CloudWatch EMF (one JSON document per line)."""
    values: dict[str, list[float]] = {}
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            assert directive["Namespace"] == "Newswire"
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values.setdefault(metric["Name"], []).extend(
                    value if isinstance(value, list) else [value]
                )
    return values


Invoke = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def invoke(lambda_stack: Stack, context: FakeLambdaContext) -> Invoke:
    def run(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = publish.handler(copy.deepcopy(event), context)
        return result

    return run


class TestSqsBatch:
    def test_put_events_publish_every_format_served_right(
        self, stack: Stack, invoke: Invoke, capsys: pytest.CaptureFixture[str]
    ) -> None:
        result = invoke(load("sqs-s3-put-batch.json"))

        assert result == {"batchItemFailures": []}
        for fmt in FeedFormat:
            head = stack.s3.head_object(Bucket=stack.feeds_bucket, Key=fmt.filename)
            assert head["ContentType"] == fmt.content_type
            assert "max-age" in head["CacheControl"]
            assert sorted(titles(stack, fmt.filename)) == sorted([COUNCIL, CAFE])
        assert titles(stack, "tags/politics/rss.xml") == [COUNCIL]
        metrics = emitted_metrics(capsys.readouterr().out)
        assert metrics["ArticlesPublished"] == [2]
        assert metrics["ArticlesRejected"] == [0]
        # The batch is coalesced: each document once, however many records touch it. The
        # main feed; 2 tags and 2 authors of the council, 3 tags and 1 author of the café;
        # their 2 sections and 2 monthly archives (3 formats each); the news sitemap, the
        # sitemap index and the 2 months' sitemaps, feed.xsl, the browser view's
        # stylesheet, the 5 partner feeds content/site.yaml enables, and the feed directory
        # (its data, OPML and page).
        assert metrics["FeedsWritten"] == [
            (1 + 5 + 3 + 2 + 2) * len(FeedFormat) + 1 + 3 + 1 + 5 + 3
        ]

    def test_the_hub_is_pinged_once_for_the_whole_batch(
        self, stack: Stack, invoke: Invoke, hub: Hub
    ) -> None:
        # A slow hub must cost one wait per invocation, not one per record of the batch.
        use_hub(stack, hub)

        result = invoke(load("sqs-s3-put-batch.json"))

        assert result == {"batchItemFailures": []}
        assert len(hub.pings) == 1
        told = hub.pings[0]["hub.url"]
        feeds = "https://englishnews.example/feeds/"
        assert f"{feeds}tags/politics/rss.xml" in told  # the council's
        assert f"{feeds}sections/business/atom.xml" in told  # the café's
        assert told == sorted(set(told))

    def test_a_batch_without_time_for_its_work_is_returned_whole_before_starting(
        self, stack: Stack, hub: Hub, caplog: pytest.LogCaptureFixture
    ) -> None:
        # Lambda would end the invocation mid-batch: records half done, no hub told.
        use_hub(stack, hub)
        batch = load("sqs-s3-put-batch.json")
        ids = [{"itemIdentifier": record["messageId"]} for record in batch["Records"]]
        short = FakeLambdaContext(remaining_millis=lambda: int(RESERVE_SECONDS * 1000) - 1)

        with caplog.at_level(logging.WARNING):
            result = publish.handler(copy.deepcopy(batch), short)

        assert result == {"batchItemFailures": ids}
        assert not feed_paths(stack)
        assert hub.pings == []
        (logged,) = [r for r in caplog.records if r.getMessage().startswith("batch left")]
        assert "too little time left" in logged.getMessage()
        assert logged.levelno == logging.WARNING and not logged.exc_info  # a wait, not a crash

        retried = publish.handler(copy.deepcopy(batch), FakeLambdaContext())

        assert retried == {"batchItemFailures": []}
        assert sorted(titles(stack, "rss.xml")) == sorted([COUNCIL, CAFE])

    def test_an_url_encoded_key_is_fetched_by_its_real_name(
        self, stack: Stack, invoke: Invoke
    ) -> None:
        result = invoke(only(load("sqs-s3-put-batch.json"), 1))

        assert result == {"batchItemFailures": []}
        assert titles(stack, "rss.xml") == [CAFE]
        assert titles(stack, "tags/cafe-society/atom.xml") == [CAFE]

    def test_the_s3_test_event_is_skipped(
        self, stack: Stack, invoke: Invoke, capsys: pytest.CaptureFixture[str]
    ) -> None:
        result = invoke(load("sqs-s3-test-event.json"))

        assert result == {"batchItemFailures": []}
        assert feed_paths(stack) == set()
        metrics = emitted_metrics(capsys.readouterr().out)
        assert metrics["ArticlesPublished"] == [0]

    def test_a_delete_event_takes_the_article_out_of_its_feeds(
        self, stack: Stack, invoke: Invoke
    ) -> None:
        invoke(load("sqs-s3-put-batch.json"))
        stack.s3.delete_object(Bucket=stack.content_bucket, Key=COUNCIL_KEY)

        result = invoke(load("sqs-s3-delete.json"))

        assert result == {"batchItemFailures": []}
        for path in MAIN_FEEDS:
            assert titles(stack, path) == [CAFE]
        assert titles(stack, "tags/politics/rss.xml") == []

    def test_an_invalid_article_is_reported_not_retried(
        self,
        stack: Stack,
        invoke: Invoke,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        stack.put_article(COUNCIL_KEY, b'---\ntitle: "Council: [unclosed\n---\n\nBody.\n')

        with caplog.at_level(logging.INFO, logger="newswire"):
            result = invoke(load("sqs-s3-put-batch.json"))

        assert result == {"batchItemFailures": []}
        assert titles(stack, "rss.xml") == [CAFE]
        metrics = emitted_metrics(capsys.readouterr().out)
        assert metrics["ArticlesRejected"] == [1]
        assert metrics["ArticlesPublished"] == [1]
        report_key = f"_reports/{COUNCIL_KEY}.json"
        report = json.loads(
            stack.s3.get_object(Bucket=stack.content_bucket, Key=report_key)["Body"].read()
        )
        assert report["key"] == COUNCIL_KEY
        (logged,) = [r for r in caplog.records if "rejected" in r.getMessage()]
        assert logged.levelno == logging.WARNING
        assert (logged.key, logged.field) == (COUNCIL_KEY, report["field"])  # type: ignore[attr-defined]
        assert logged.problem and logged.expected  # type: ignore[attr-defined]

    def test_a_throttled_feed_write_fails_only_its_record_and_the_retry_loses_nothing(
        self, stack: Stack, invoke: Invoke
    ) -> None:
        batch = load("sqs-s3-put-batch.json")
        council_id, cafe_id = (record["messageId"] for record in batch["Records"])
        # A feed only the council article is in: the café record must not rewrite it.
        only_council = "authors/priya-raman/rss.xml"
        failed = fail_put_once(stack, key=only_council)

        result = invoke(batch)

        assert failed == [only_council]
        assert result == {"batchItemFailures": [{"itemIdentifier": council_id}]}
        assert cafe_id not in json.dumps(result)
        assert CAFE in titles(stack, "rss.xml")
        assert only_council not in feed_paths(stack)

        retried = invoke(only(batch, 0, receive_count=2))

        assert retried == {"batchItemFailures": []}
        for fmt in FeedFormat:
            assert titles(stack, f"authors/priya-raman/{fmt.filename}") == [COUNCIL]
            assert sorted(titles(stack, fmt.filename)) == sorted([COUNCIL, CAFE])

    def test_feeds_a_failed_record_wrote_are_announced(
        self, stack: Stack, invoke: Invoke, hub: Hub
    ) -> None:
        use_hub(stack, hub)
        batch = load("sqs-s3-put-batch.json")
        # the council's last feed (tags come last): its others are written before it fails
        failed = fail_put_once(stack, key="tags/politics/rss.xml")

        invoke(batch)

        assert failed == ["tags/politics/rss.xml"]
        (first,) = hub.pings
        assert f"{FEEDS_URL}authors/priya-raman/rss.xml" in first["hub.url"]

        invoke(only(batch, 0, receive_count=2))

        written = {FEEDS_URL + path for path in feed_paths(stack) if is_feed_path(path)}
        told = {url for ping in hub.pings for url in ping["hub.url"]}
        assert written <= told
        assert f"{FEEDS_URL}tags/politics/rss.xml" in hub.pings[-1]["hub.url"]

    def test_feeds_a_batch_wrote_are_announced_when_every_message_failed(
        self, stack: Stack, invoke: Invoke, hub: Hub
    ) -> None:
        # The main feed is every message's: its write failing fails them all, and Powertools
        # then fails the invocation (Lambda retries the batch), after the hubs are told.
        use_hub(stack, hub)
        failed = fail_put_once(stack, key="rss.xml")

        with pytest.raises(BatchProcessingError):
            invoke(load("sqs-s3-put-batch.json"))

        assert failed == ["rss.xml"]
        (ping,) = hub.pings
        assert f"{FEEDS_URL}tags/politics/rss.xml" in ping["hub.url"]
        assert f"{FEEDS_URL}rss.xml" not in ping["hub.url"]

    def test_a_rejection_whose_report_failed_is_logged_and_counted_on_retry(
        self,
        stack: Stack,
        invoke: Invoke,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        stack.put_article(COUNCIL_KEY, b'---\ntitle: "Council: [unclosed\n---\n\nBody.\n')
        report_key = f"_reports/{COUNCIL_KEY}.json"
        failed = fail_put_once(stack, key=report_key, bucket=stack.content_bucket)
        batch = load("sqs-s3-put-batch.json")
        council_id = batch["Records"][0]["messageId"]

        with caplog.at_level(logging.INFO, logger="newswire"):
            first = invoke(batch)
            retried = invoke(only(batch, 0, receive_count=2))

        assert failed == [report_key]
        assert first == {"batchItemFailures": [{"itemIdentifier": council_id}]}
        assert retried == {"batchItemFailures": []}
        assert emitted_metrics(capsys.readouterr().out)["ArticlesRejected"] == [0, 1]
        report = json.loads(
            stack.s3.get_object(Bucket=stack.content_bucket, Key=report_key)["Body"].read()
        )
        (logged,) = [r for r in caplog.records if "rejected" in r.getMessage()]
        assert (logged.key, logged.field) == (COUNCIL_KEY, report["field"])  # type: ignore[attr-defined]

    def test_an_invalid_site_config_fails_the_whole_batch(
        self, stack: Stack, invoke: Invoke
    ) -> None:
        stack.s3.put_object(Bucket=stack.content_bucket, Key="site.yaml", Body=b"title: [")

        with pytest.raises(SiteConfigError, match=r"^site\.yaml: "):
            invoke(load("sqs-s3-put-batch.json"))  # every message goes back to the queue

        assert feed_paths(stack) == set()

    def test_an_unreadable_message_fails_alone(self, stack: Stack, invoke: Invoke) -> None:
        batch = load("sqs-s3-put-batch.json")
        batch["Records"][0]["body"] = "not an S3 notification"

        result = invoke(batch)

        assert result == {
            "batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]
        }
        assert titles(stack, "rss.xml") == [CAFE]


class TestDirectInvocations:
    def test_a_direct_s3_put_event_publishes(self, stack: Stack, invoke: Invoke) -> None:
        result = invoke(load("s3-put.json"))

        assert result == {"changes": [{"key": HARBOUR_KEY, "action": "published"}]}
        for path in MAIN_FEEDS:
            assert titles(stack, path) == [HARBOUR]

    def test_a_direct_event_raises_on_a_storage_fault_so_lambda_retries_it(
        self, stack: Stack, invoke: Invoke
    ) -> None:
        fail_put_once(stack, key="rss.xml", code="InternalError", status=500)

        with pytest.raises(TransientStorageError):
            invoke(load("s3-put.json"))
        result = invoke(load("s3-put.json"))  # Lambda's asynchronous retry

        assert result == {"changes": [{"key": HARBOUR_KEY, "action": "redelivered"}]}
        for path in MAIN_FEEDS:
            assert titles(stack, path) == [HARBOUR]

    def test_a_direct_event_without_time_for_its_work_fails_before_starting_it(
        self, stack: Stack
    ) -> None:
        # 30 s left: less than one change's worst case and the hubs; Lambda retries the event
        short = FakeLambdaContext(remaining_millis=lambda: 30_000)
        with pytest.raises(OutOfTimeError):
            publish.handler(load("s3-put.json"), short)

        assert feed_paths(stack) == set()
        result = publish.handler(load("s3-put.json"), FakeLambdaContext())
        assert result == {"changes": [{"key": HARBOUR_KEY, "action": "published"}]}

    def test_a_retried_direct_event_announces_what_the_failed_attempt_wrote(
        self, stack: Stack, invoke: Invoke, hub: Hub
    ) -> None:
        use_hub(stack, hub)
        fail_put_once(stack, key="rss.xml", code="InternalError", status=500)
        with pytest.raises(TransientStorageError):
            invoke(load("s3-put.json"))
        written = {FEEDS_URL + path for path in feed_paths(stack) if is_feed_path(path)}
        assert written  # its archive and author feeds come before the main feed

        invoke(load("s3-put.json"))  # Lambda's asynchronous retry

        told = {url for ping in hub.pings for url in ping["hub.url"]}
        assert written | {FEEDS_URL + "rss.xml"} <= told

    def test_eventbridge_object_created_then_deleted(self, stack: Stack, invoke: Invoke) -> None:
        created = invoke(load("eventbridge-object-created.json"))
        assert created == {"changes": [{"key": RAIL_KEY, "action": "published"}]}
        assert titles(stack, "feed.json") == [RAIL]

        stack.s3.delete_object(Bucket=stack.content_bucket, Key=RAIL_KEY)
        deleted = invoke(load("eventbridge-object-deleted.json"))

        assert deleted == {"changes": [{"key": RAIL_KEY, "action": "removed"}]}
        assert titles(stack, "feed.json") == []

    @pytest.mark.parametrize("woken_as", ["published", "rejected"])
    def test_an_article_woken_by_a_rename_is_logged_and_counted(
        self,
        stack: Stack,
        invoke: Invoke,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
        woken_as: str,
    ) -> None:
        """A rename with an explicit id: the new key's event comes first, so it waits for the
        id; the old key's delete event publishes it (or, its file broken meanwhile, rejects
        it): that is this invocation's doing, logged and counted with it."""
        renamed = "articles/autumn-rail-timetable.md"
        body = (ARTICLES / "rail-timetable-changes-confirmed.md").read_bytes()
        stack.put_article(RAIL_KEY, body)
        invoke(load("eventbridge-object-created.json"))
        stack.put_article(renamed, body)
        event = load("eventbridge-object-created.json")
        event["detail"]["object"]["key"] = renamed
        assert invoke(event) == {"changes": [{"key": renamed, "action": "rejected"}]}
        if woken_as == "rejected":
            stack.put_article(renamed, b"---\ntitle: [broken\n---\n")  # its event not here yet
        stack.s3.delete_object(Bucket=stack.content_bucket, Key=RAIL_KEY)
        caplog.clear()

        with caplog.at_level(logging.INFO, logger="newswire"):
            deleted = invoke(load("eventbridge-object-deleted.json"))

        assert deleted == {"changes": [{"key": RAIL_KEY, "action": "removed"}]}
        metrics = emitted_metrics(capsys.readouterr().out)
        if woken_as == "published":
            assert titles(stack, "feed.json") == [RAIL]
            assert (metrics["ArticlesPublished"], metrics["ArticlesRejected"]) == (
                [1, 0, 1],
                [0, 1, 0],
            )
            (logged,) = [r for r in caplog.records if getattr(r, "key", None) == renamed]
            assert (logged.action, logged.moved_by) == ("published", RAIL_KEY)  # type: ignore[attr-defined]
        else:
            assert titles(stack, "feed.json") == []
            assert (metrics["ArticlesPublished"], metrics["ArticlesRejected"]) == (
                [1, 0, 0],
                [0, 1, 1],
            )
            (logged,) = [r for r in caplog.records if "rejected" in r.getMessage()]
            assert (logged.key, logged.field) == (renamed, "front matter")  # type: ignore[attr-defined]

    def test_an_eventbridge_key_is_used_as_it_is(self, stack: Stack, invoke: Invoke) -> None:
        key = "articles/news+views/rail-timetable-changes-confirmed.md"
        stack.put_article(key, (ARTICLES / "rail-timetable-changes-confirmed.md").read_bytes())
        event = load("eventbridge-object-created.json")
        event["detail"]["object"]["key"] = key

        assert invoke(event) == {"changes": [{"key": key, "action": "published"}]}

    def test_a_scheduled_article_is_held_back(self, stack: Stack, invoke: Invoke) -> None:
        key = "articles/eastgate-bridge-opens-to-traffic.md"
        stack.put_article(key, (ARTICLES / "eastgate-bridge-opens-to-traffic.md").read_bytes())
        event = load("s3-put.json")
        event["Records"][0]["s3"]["object"]["key"] = key

        assert invoke(event) == {"changes": [{"key": key, "action": "hidden"}]}

    def test_an_unknown_event_is_refused(self, stack: Stack, invoke: Invoke) -> None:
        with pytest.raises(ValueError, match="unsupported event"):
            invoke({"hello": "world"})


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


class TestFirstDeploy:
    """S3 sends ``s3:TestEvent`` when the notification is created, before ``site.yaml`` exists;
    ``aws s3 sync content/`` may upload articles before ``site.yaml``."""

    def test_the_test_event_through_sqs_needs_no_site_yaml(
        self,
        fresh: Stack,
        invoke: Invoke,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        with caplog.at_level(logging.INFO, logger="newswire"):
            result = invoke(load("sqs-s3-test-event.json"))

        assert result == {"batchItemFailures": []}
        assert problems(caplog) == []
        assert feed_paths(fresh) == set()
        assert emitted_metrics(capsys.readouterr().out)["ArticlesPublished"] == [0]

    def test_the_test_event_sent_straight_to_the_function_needs_no_site_yaml(
        self, fresh: Stack, invoke: Invoke, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.INFO, logger="newswire"):
            result = invoke(load("s3-test-event.json"))

        assert result == {"changes": []}
        assert problems(caplog) == []

    def test_a_record_that_is_not_an_article_needs_no_site_yaml(
        self, fresh: Stack, invoke: Invoke
    ) -> None:
        event = load("s3-put.json")
        event["Records"][0]["s3"]["object"]["key"] = "articles/harbour-festival.jpg"

        assert invoke(event) == {"changes": []}

    def test_article_changes_wait_in_the_queue_for_site_yaml_said_once(
        self, fresh: Stack, invoke: Invoke, caplog: pytest.LogCaptureFixture
    ) -> None:
        batch = load("sqs-s3-put-batch.json")
        batch["Records"].append(load("sqs-s3-test-event.json")["Records"][0])
        council_id, cafe_id, _test_event_id = (r["messageId"] for r in batch["Records"])

        with caplog.at_level(logging.INFO, logger="newswire"):
            result = invoke(batch)

        # the articles are not bad: SQS retries them (then keeps them in the DLQ), no report
        assert result == {
            "batchItemFailures": [{"itemIdentifier": council_id}, {"itemIdentifier": cafe_id}]
        }
        (said,) = problems(caplog)
        assert said.levelno == logging.WARNING
        assert said.error.startswith(  # type: ignore[attr-defined]
            "site.yaml: file: not found in the content bucket newswire-content"
        )
        assert said.waiting == 2  # type: ignore[attr-defined]
        assert feed_paths(fresh) == set()
        reports = fresh.s3.list_objects_v2(Bucket=fresh.content_bucket, Prefix="_reports/")
        assert reports["KeyCount"] == 0

        upload_site_yaml(fresh)
        retried = invoke(only(batch, 0, 1, receive_count=2))

        assert retried == {"batchItemFailures": []}
        assert sorted(titles(fresh, "rss.xml")) == sorted([COUNCIL, CAFE])

    def test_a_direct_article_event_raises_so_lambda_retries_it(
        self, fresh: Stack, invoke: Invoke
    ) -> None:
        with pytest.raises(SiteConfigMissingError, match=r"^site\.yaml: file: not found"):
            invoke(load("s3-put.json"))

        upload_site_yaml(fresh)
        assert invoke(load("s3-put.json")) == {
            "changes": [{"key": HARBOUR_KEY, "action": "published"}]
        }


def test_a_read_ahead_that_fails_is_read_again_by_its_change_alone(stack: Stack) -> None:
    """An article read ahead with ``site.yaml`` whose read fails (S3 overloaded) is read
    again by its own change: the batch is not failed for it, nor sent back to the queue."""
    failed: list[str] = []

    def before_get(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == COUNCIL_KEY and not failed:
            failed.append(params["Key"])
            raise ClientError(
                {
                    "Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                    "ResponseMetadata": {"HTTPStatusCode": 503},
                },
                "GetObject",
            )

    s3 = runtime.aws_client("s3")  # the client the handler will use
    s3.meta.events.register("before-parameter-build.s3.GetObject", before_get)
    batch = load("sqs-s3-put-batch.json")

    result = publish.handler(copy.deepcopy(batch), FakeLambdaContext())

    assert failed == [COUNCIL_KEY]
    assert result == {"batchItemFailures": []}
    assert "Council delays budget vote by a week" in titles(stack, "rss.xml")
