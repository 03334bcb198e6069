"""The DynamoDB index under contention: conflicts, throttling and unprocessed keys, as AWS answers.

moto never conflicts, throttles or leaves keys unprocessed, so a botocore hook on the moto
client answers some calls the way AWS does: ``before-call`` returns AWS's error response (what
botocore raises once its own retries are used up, or never retries: a ``TransactionConflict``
inside ``TransactionCanceledException``), and ``after-call`` moves part of a ``BatchGetItem``
answer into ``UnprocessedKeys``. The index pauses through an injected ``sleep``: nothing waits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import feedparser
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from newswire.adapters.aws_errors import Backoff
from newswire.adapters.dynamodb import DynamoArticleIndex
from newswire.adapters.s3 import S3ContentStore, S3FeedStore
from newswire.content.site import parse_site
from newswire.domain.feeds import FeedKey, FeedKind
from newswire.errors import TransientStorageError
from newswire.pipeline.changes import ArticleChange, PublishAction, normalise_sequencer
from newswire.pipeline.outcomes import PublishOutcome
from newswire.pipeline.publisher import Publisher
from tests.support.aws import Stack

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MAIN = FeedKey(FeedKind.MAIN)
THROTTLED = {
    "Code": "ThrottlingException",
    "Message": "Throughput exceeds the current capacity of your table or index. DynamoDB is"
    " automatically scaling your table or index so please try again shortly.",
}
OVER_PROVISIONED = {
    "Code": "ProvisionedThroughputExceededException",
    "Message": "The level of configured provisioned throughput for the table was exceeded."
    " Consider increasing your provisioning level with the UpdateTable API.",
}


class Pauses(list[float]):
    """The injected ``sleep``: records each pause instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def pauses() -> Pauses:
    return Pauses()


@pytest.fixture
def index(stack: Stack, pauses: Pauses) -> DynamoArticleIndex:
    return DynamoArticleIndex(stack.dynamodb, stack.table, backoff=Backoff(sleep=pauses))


def publisher(stack: Stack, index: DynamoArticleIndex) -> Publisher:
    content = S3ContentStore(stack.s3, stack.content_bucket)
    return Publisher(
        content=content,
        feeds=S3FeedStore(stack.s3, stack.feeds_bucket),
        index=index,
        site=parse_site("site.yaml", content.get("site.yaml").body),
        clock=lambda: NOW,
    )


_sequencer = iter(range(0x100, 0x10000))


def article(title: str, day: int) -> bytes:
    return f'---\ntitle: "{title}"\npublished: 2026-01-{day:02d}T10:00:00Z\n---\n\nText.\n'.encode()


def publish(stack: Stack, index: DynamoArticleIndex, title: str, day: int) -> PublishOutcome:
    key = f"articles/{title.lower().replace(' ', '-')}.md"
    stack.put_article(key, article(title, day))
    change = ArticleChange(key, False, normalise_sequencer(f"{next(_sequencer):X}"))
    return publisher(stack, index).publish(change)


def titles(stack: Stack) -> list[str]:
    return [entry.title for entry in feedparser.parse(stack.feed("rss.xml")).entries]


def aws_error(error: dict[str, str], **fields: Any) -> tuple[AWSResponse, dict[str, Any]]:
    """The (HTTP response, parsed body) botocore makes of an AWS 400 error answer."""
    parsed = {"Error": dict(error), "ResponseMetadata": {"HTTPStatusCode": 400}, **fields}
    return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 400, {}, None), parsed


def canceled(params: dict[str, Any], reason: str) -> tuple[AWSResponse, dict[str, Any]]:
    """AWS's answer to a transaction cancelled at its month counter (``reason``): the counter's
    item gets the reason, every other item ``None``."""
    items = json.loads(params["body"])["TransactItems"]
    codes = [
        reason if item.get("Update", {}).get("Key", {}).get("pk") == {"S": "months"} else "None"
        for item in items
    ]
    assert reason in codes, "the transaction touches a month counter"
    reasons = [{"Code": code} for code in codes]
    for entry in reasons:
        if entry["Code"] == "TransactionConflict":
            entry["Message"] = "Transaction is ongoing for the item"
    message = (
        "Transaction cancelled, please refer cancellation reasons for specific reasons"
        f" [{', '.join(codes)}]"
    )
    return aws_error(
        {"Code": "TransactionCanceledException", "Message": message},
        CancellationReasons=reasons,
        Message=message,
    )


Answer = Callable[[dict[str, Any]], tuple[AWSResponse, dict[str, Any]]]


def answer(stack: Stack, operation: str, reply: Answer, *, times: int | None = None) -> list[int]:
    """AWS answers the first ``times`` calls of ``operation`` (every call if ``None``) with
    ``reply``; moto answers the rest. Returns the calls seen (to count them)."""
    calls: list[int] = []

    def before_call(params: dict[str, Any], **_: Any) -> Any:
        calls.append(len(calls))
        return reply(params) if times is None or len(calls) <= times else None

    stack.dynamodb.meta.events.register(f"before-call.dynamodb.{operation}", before_call)
    return calls


def leave_unprocessed(stack: Stack, *, times: int | None = None) -> list[int]:
    """``BatchGetItem`` out of read capacity, as AWS answers it (first ``times`` calls, or
    every one): one item read and the others left in ``UnprocessedKeys``, or, when only one
    was asked for, ``ProvisionedThroughputExceededException`` (AWS reads at least one item
    or fails the call)."""
    calls: list[int] = []

    def after_call(parsed: dict[str, Any], **_: Any) -> None:
        calls.append(len(calls))
        if times is not None and len(calls) > times:
            return
        items = parsed["Responses"][stack.table]
        if len(items) < 2:
            raise ClientError(
                {"Error": OVER_PROVISIONED, "ResponseMetadata": {"HTTPStatusCode": 400}},
                "BatchGetItem",
            )
        parsed["Responses"][stack.table] = items[:1]
        parsed["UnprocessedKeys"] = {
            stack.table: {
                "Keys": [_key_of(item) for item in items[1:]],
                "ProjectionExpression": "#k, entry",
                "ExpressionAttributeNames": {"#k": "key"},
                "ConsistentRead": True,
            }
        }

    stack.dynamodb.meta.events.register("after-call.dynamodb.BatchGetItem", after_call)
    return calls


def _key_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"pk": {"S": f"article#{item['key']['S']}"}, "sk": {"S": "state"}}


def assert_jittered_backoff(pauses: list[float], backoff: Backoff) -> None:
    assert pauses, "it paused before trying again"
    for n, pause in enumerate(pauses):
        assert 0 <= pause <= min(backoff.cap, backoff.base * 2**n)


class TestTransactions:
    def test_a_transaction_conflict_is_tried_again_at_once_not_after_a_redelivery(
        self, stack: Stack, index: DynamoArticleIndex, pauses: Pauses
    ) -> None:
        calls = answer(
            stack, "TransactWriteItems", lambda p: canceled(p, "TransactionConflict"), times=2
        )

        outcome = publish(stack, index, "Harbour reopens", 3)

        assert outcome.action is PublishAction.PUBLISHED
        assert titles(stack) == ["Harbour reopens"]
        assert len(calls) == 3
        assert len(pauses) == 2
        assert_jittered_backoff(pauses, Backoff())

    @pytest.mark.parametrize(
        "reply",
        [
            pytest.param(lambda p: aws_error(THROTTLED), id="ThrottlingException"),
            pytest.param(lambda p: aws_error(OVER_PROVISIONED), id="ProvisionedThroughput"),
            pytest.param(lambda p: canceled(p, "ThrottlingError"), id="cancelled-throttled"),
            pytest.param(
                lambda p: canceled(p, "ProvisionedThroughputExceeded"), id="cancelled-provisioned"
            ),
        ],
    )
    def test_a_throttled_transaction_is_tried_again(
        self, stack: Stack, index: DynamoArticleIndex, pauses: Pauses, reply: Answer
    ) -> None:
        answer(stack, "TransactWriteItems", reply, times=2)

        assert publish(stack, index, "Harbour reopens", 3).action is PublishAction.PUBLISHED
        assert titles(stack) == ["Harbour reopens"]
        assert len(pauses) == 2

    def test_a_lasting_conflict_fails_the_change_as_transient_after_a_few_short_pauses(
        self, stack: Stack, index: DynamoArticleIndex, pauses: Pauses
    ) -> None:
        calls = answer(stack, "TransactWriteItems", lambda p: canceled(p, "TransactionConflict"))

        with pytest.raises(TransientStorageError, match=r"TransactionConflict.*will be retried"):
            publish(stack, index, "Harbour reopens", 3)

        backoff = Backoff()
        assert len(calls) == backoff.attempts
        assert len(pauses) == backoff.attempts - 1
        assert_jittered_backoff(pauses, backoff)
        assert index.state("articles/harbour-reopens.md") is None  # nothing half-written

    def test_a_lost_compare_and_set_is_not_paused_for(
        self, stack: Stack, index: DynamoArticleIndex, pauses: Pauses
    ) -> None:
        # The state item's condition failed (another writer got there first) while another
        # item conflicted: the publisher re-reads at once, no backoff.
        def lost_race(params: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
            response, parsed = canceled(params, "TransactionConflict")
            parsed["CancellationReasons"][0] = {"Code": "ConditionalCheckFailed"}
            return response, parsed

        answer(stack, "TransactWriteItems", lost_race, times=1)

        assert publish(stack, index, "Harbour reopens", 3).action is PublishAction.PUBLISHED
        assert pauses == []


@pytest.mark.parametrize("error", [THROTTLED, OVER_PROVISIONED], ids=lambda e: e["Code"])
def test_a_throttled_read_is_tried_again(
    stack: Stack, index: DynamoArticleIndex, pauses: Pauses, error: dict[str, str]
) -> None:
    publish(stack, index, "Harbour reopens", 3)
    before = index.state("articles/harbour-reopens.md")
    for operation in ("GetItem", "Query", "BatchGetItem"):
        answer(stack, operation, lambda p: aws_error(error), times=1)

    assert before is not None
    assert index.state("articles/harbour-reopens.md") == before
    assert newest_titles(index, 10) == ["Harbour reopens"]
    assert len(pauses) == 3


def newest_titles(index: DynamoArticleIndex, limit: int) -> list[str]:
    """The main feed's newest titles, as a rebuild reads them: a Query, then BatchGetItem."""
    keys = index.newest(MAIN, limit).keys
    entries = index.entries(keys)
    return [entries[key].entry.title for key in keys]


def test_a_throttled_id_owner_read_is_tried_again(
    stack: Stack, index: DynamoArticleIndex, pauses: Pauses
) -> None:
    publish(stack, index, "Harbour reopens", 3)
    state = index.state("articles/harbour-reopens.md")
    assert state is not None and state.article_id
    answer(stack, "GetItem", lambda p: aws_error(THROTTLED), times=1)

    assert index.owner(state.article_id) == "articles/harbour-reopens.md"
    assert len(pauses) == 1


class TestUnprocessedKeys:
    @pytest.fixture
    def published(self, stack: Stack, index: DynamoArticleIndex) -> list[str]:
        names = [f"Harbour report {day}" for day in range(1, 13)]
        for day, title in enumerate(names, start=1):
            stack.put_article(f"articles/{day}.md", article(title, day))
        publisher(stack, index).reindex()
        return names[::-1]  # newest first

    def test_unprocessed_keys_are_read_after_a_pause(
        self, stack: Stack, index: DynamoArticleIndex, pauses: Pauses, published: list[str]
    ) -> None:
        calls = leave_unprocessed(stack, times=2)

        assert newest_titles(index, 20) == published
        assert len(calls) == 3
        assert len(pauses) == 2
        assert_jittered_backoff(pauses, Backoff())

    def test_keys_left_unprocessed_fail_the_publish_rather_than_write_a_short_feed(
        self, stack: Stack, index: DynamoArticleIndex, pauses: Pauses, published: list[str]
    ) -> None:
        calls = leave_unprocessed(stack)

        # 13 keys, each try reads one: 8 are left after the last of 5 tries
        with pytest.raises(TransientStorageError, match=r"UnprocessedKeys \(8 left\)"):
            publish(stack, index, "Lifeboat launched", 20)

        assert titles(stack) == published  # the feed was not rewritten short
        # each feed's read (they run together) gives up after its tries, pausing between them
        reads, left = divmod(len(calls), Backoff().attempts)
        assert reads >= 1 and left == 0
        assert len(pauses) == reads * (Backoff().attempts - 1)
