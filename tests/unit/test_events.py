"""Reading trigger events into article changes: pure parsing, no AWS."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import SQSRecord

from newswire.adapters.local import LocalContent
from newswire.pipeline.changes import (
    ArticleChange,
    event_sequencer,
    forced_sequencer,
    normalise_sequencer,
)
from newswire.pipeline.events import (
    Trigger,
    UnsupportedEventError,
    changes_from_event,
    changes_from_sqs_record,
    detect_trigger,
    is_article_change_key,
)

EVENTS = Path(__file__).resolve().parents[1] / "events"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return data


def sqs_records(name: str) -> list[SQSRecord]:
    return [SQSRecord(record) for record in load(name)["Records"]]


def s3_body(record: SQSRecord) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(record.body)
    return body


def with_body(record: SQSRecord, body: dict[str, Any]) -> SQSRecord:
    raw = dict(record.raw_event)
    raw["body"] = json.dumps(body)
    return SQSRecord(raw)


def direct_s3(key: str, event_name: str = "ObjectCreated:Put") -> dict[str, Any]:
    event = load("s3-put.json")
    event["Records"][0]["s3"]["object"]["key"] = key
    event["Records"][0]["eventName"] = event_name
    return event


def eventbridge(name: str, key: str) -> dict[str, Any]:
    event = load(name)
    event["detail"]["object"]["key"] = key
    return event


class TestDetectTrigger:
    @pytest.mark.parametrize(
        ("name", "trigger"),
        [
            ("sqs-s3-put-batch.json", Trigger.SQS),
            ("sqs-s3-test-event.json", Trigger.SQS),
            ("s3-put.json", Trigger.S3),
            ("eventbridge-object-created.json", Trigger.EVENTBRIDGE),
            ("eventbridge-object-deleted.json", Trigger.EVENTBRIDGE),
        ],
    )
    def test_each_event_file_is_recognised(self, name: str, trigger: Trigger) -> None:
        assert detect_trigger(load(name)) is trigger

    @pytest.mark.parametrize(
        "event",
        [
            {},
            {"Records": []},
            {"Records": [{"eventSource": "aws:sns"}]},
            {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}},
        ],
    )
    def test_anything_else_is_refused_with_a_clear_error(self, event: dict[str, Any]) -> None:
        with pytest.raises(UnsupportedEventError, match="unsupported event"):
            detect_trigger(event)


class TestSqsRecords:
    def test_a_put_notification_gives_a_written_change(self) -> None:
        first, _ = sqs_records("sqs-s3-put-batch.json")

        assert changes_from_sqs_record(first) == [
            ArticleChange(
                "articles/council-delays-budget-vote.md",
                deleted=False,
                sequencer=normalise_sequencer("00674D8A1E2B3C4D5E"),
            )
        ]

    def test_an_url_encoded_key_is_decoded(self) -> None:
        _, second = sqs_records("sqs-s3-put-batch.json")

        (change,) = changes_from_sqs_record(second)

        assert change.key == "articles/café culture/cafe-owners-adapt-to-higher-energy-bills.md"

    def test_a_plus_sign_in_a_key_arrives_as_percent_2b(self) -> None:
        record, _ = sqs_records("sqs-s3-put-batch.json")
        body = s3_body(record)
        body["Records"][0]["s3"]["object"]["key"] = "articles/c%2B%2B+news/gcc-14-released.md"

        (change,) = changes_from_sqs_record(with_body(record, body))

        assert change.key == "articles/c++ news/gcc-14-released.md"

    def test_a_delete_notification_gives_a_deleted_change(self) -> None:
        (record,) = sqs_records("sqs-s3-delete.json")

        (change,) = changes_from_sqs_record(record)

        assert change.deleted
        assert change.key == "articles/council-delays-budget-vote.md"

    def test_the_delete_orders_after_the_put(self) -> None:
        put, _ = sqs_records("sqs-s3-put-batch.json")
        (delete,) = sqs_records("sqs-s3-delete.json")

        assert changes_from_sqs_record(delete)[0].sequencer > (
            changes_from_sqs_record(put)[0].sequencer
        )

    def test_one_body_can_carry_several_records_in_order(self) -> None:
        first, second = sqs_records("sqs-s3-put-batch.json")
        (delete,) = sqs_records("sqs-s3-delete.json")
        body = s3_body(first)
        body["Records"] += s3_body(second)["Records"] + s3_body(delete)["Records"]

        changes = changes_from_sqs_record(with_body(first, body))

        assert [(c.key, c.deleted) for c in changes] == [
            ("articles/council-delays-budget-vote.md", False),
            ("articles/café culture/cafe-owners-adapt-to-higher-energy-bills.md", False),
            ("articles/council-delays-budget-vote.md", True),
        ]

    def test_the_s3_test_event_gives_no_change_and_is_logged_at_debug(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        (record,) = sqs_records("sqs-s3-test-event.json")

        with caplog.at_level(logging.DEBUG, logger="newswire.pipeline.events"):
            assert changes_from_sqs_record(record) == []

        assert [r.levelno for r in caplog.records if "TestEvent" in r.getMessage()] == [
            logging.DEBUG
        ]

    def test_an_eventbridge_event_forwarded_to_the_queue_is_read(self) -> None:
        record, _ = sqs_records("sqs-s3-put-batch.json")

        (change,) = changes_from_sqs_record(
            with_body(record, load("eventbridge-object-deleted.json"))
        )

        assert change == ArticleChange(
            "articles/rail-timetable-changes-confirmed.md",
            True,
            normalise_sequencer("00674D8B3F4E5D6C7B"),
        )

    @pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"Message": "hello"}'])
    def test_a_body_that_is_no_s3_notification_is_refused(self, body: str) -> None:
        record, _ = sqs_records("sqs-s3-put-batch.json")
        raw = dict(record.raw_event, body=body)

        with pytest.raises(UnsupportedEventError, match=record.message_id):
            changes_from_sqs_record(SQSRecord(raw))


class TestDirectS3Events:
    def test_a_put_event_gives_a_written_change(self) -> None:
        assert changes_from_event(load("s3-put.json")) == [
            ArticleChange(
                "articles/harbour-festival-returns-to-the-waterfront.md",
                deleted=False,
                sequencer=normalise_sequencer("00674D8A2C5E7F9012"),
            )
        ]

    @pytest.mark.parametrize(
        ("event_name", "deleted"),
        [
            ("ObjectCreated:Put", False),
            ("ObjectCreated:Copy", False),
            ("ObjectCreated:CompleteMultipartUpload", False),
            ("s3:ObjectCreated:Post", False),
            ("ObjectRemoved:Delete", True),
            ("ObjectRemoved:DeleteMarkerCreated", True),
            ("LifecycleExpiration:Delete", True),
        ],
    )
    def test_creations_and_removals(self, event_name: str, deleted: bool) -> None:
        (change,) = changes_from_event(direct_s3("articles/a.md", event_name))

        assert change.deleted is deleted

    @pytest.mark.parametrize(
        "event_name",
        [
            "ObjectRestore:Completed",
            "ObjectTagging:Put",
            "ObjectAcl:Put",
            "LifecycleTransition",
            "IntelligentTiering",
        ],
    )
    def test_events_that_change_no_content_are_ignored(self, event_name: str) -> None:
        assert changes_from_event(direct_s3("articles/a.md", event_name)) == []

    @pytest.mark.parametrize(
        "key",
        [
            "site.yaml",
            "_reports/articles/a.md.json",
            "articles/photo.jpg",
            "drafts/a.md",
            "articles/",
            "old-articles/a.md",
        ],
    )
    def test_keys_that_are_not_articles_are_ignored(self, key: str) -> None:
        assert changes_from_event(direct_s3(key)) == []

    @pytest.mark.parametrize("key", ["articles/a.md", "articles/a.markdown", "articles/a.json"])
    def test_every_article_suffix_counts(self, key: str) -> None:
        assert [c.key for c in changes_from_event(direct_s3(key))] == [key]

    def test_an_encoded_key_is_checked_for_being_an_article_after_decoding(self) -> None:
        assert [c.key for c in changes_from_event(direct_s3("articles%2Fa.md"))] == [
            "articles/a.md"
        ]

    def test_a_missing_sequencer_orders_first_and_is_warned_about(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        event = direct_s3("articles/a.md")
        del event["Records"][0]["s3"]["object"]["sequencer"]

        with caplog.at_level(logging.WARNING, logger="newswire.pipeline.events"):
            (change,) = changes_from_event(event)

        assert change.sequencer == normalise_sequencer("0")
        assert change.sequencer < normalise_sequencer("00674D8A2C5E7F9012")
        assert any("sequencer" in r.getMessage() for r in caplog.records)

    def test_an_sqs_batch_is_not_read_as_a_whole(self) -> None:
        with pytest.raises(UnsupportedEventError):
            changes_from_event(load("sqs-s3-put-batch.json"))


class TestEventBridgeEvents:
    def test_object_created_gives_a_written_change(self) -> None:
        assert changes_from_event(load("eventbridge-object-created.json")) == [
            ArticleChange(
                "articles/rail-timetable-changes-confirmed.md",
                deleted=False,
                sequencer=normalise_sequencer("00674D8A3A1B2C3D4E"),
            )
        ]

    def test_object_deleted_gives_a_deleted_change(self) -> None:
        (change,) = changes_from_event(load("eventbridge-object-deleted.json"))

        assert change.deleted
        assert change.key == "articles/rail-timetable-changes-confirmed.md"

    @pytest.mark.parametrize(
        "key",
        [
            "articles/café culture/cafe-owners-adapt-to-higher-energy-bills.md",
            "articles/c++ news/gcc-14-released.md",
            "articles/100%/x.md",
        ],
    )
    def test_keys_are_taken_as_they_are_not_url_decoded(self, key: str) -> None:
        (change,) = changes_from_event(eventbridge("eventbridge-object-created.json", key))

        assert change.key == key

    def test_other_s3_event_types_are_ignored(self) -> None:
        event = load("eventbridge-object-created.json")
        event["detail-type"] = "Object Restore Completed"

        assert changes_from_event(event) == []

    def test_keys_that_are_not_articles_are_ignored(self) -> None:
        assert changes_from_event(eventbridge("eventbridge-object-created.json", "site.yaml")) == []


class TestForcedSequencers:
    def test_a_forced_sequencer_keeps_its_events_order_but_is_a_new_value(self) -> None:
        event = normalise_sequencer("00674D8A2C5E7F9012")
        later = normalise_sequencer("00674D8A2C5E7F9013")

        once = forced_sequencer(event)
        twice = forced_sequencer(once)

        assert len({event, once, twice}) == 3  # a compare-and-set on any of them fails on the rest
        assert event_sequencer(once) == event_sequencer(twice) == event  # a redelivery is seen
        assert event_sequencer(twice) < later  # the next real event still wins


@pytest.mark.parametrize(
    ("key", "published"),
    [
        ("articles/story.md", True),
        ("articles/2026/story.json", True),
        ("articles/.#story.md", False),  # an editor's lock, which neither build nor serve reads
        ("articles/.drafts/story.md", False),
        ("articles/story.txt", False),
        ("site.yaml", False),
    ],
)
def test_the_pipeline_publishes_what_a_build_of_the_folder_reads(
    key: str, published: bool, tmp_path: Path
) -> None:
    (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / key).write_text("x")
    built = [
        Path(f.key).relative_to(tmp_path).as_posix() for f in LocalContent(tmp_path).article_files()
    ]

    assert is_article_change_key(key) is published
    assert (built == [key]) is published
