"""``newswire redrive``: dead-lettered article events go back to the article queue.

moto has no ``StartMessageMoveTask``: a botocore hook on the moto-backed client answers it as
SQS does, after botocore has validated the request against the service model, and records
what was asked. Everything else (queues, attributes, counts) is moto's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from newswire import runtime
from newswire.cli import main

TASK_HANDLE = "eyJ0YXNrSWQiOiJkYjE4In0="


@dataclass
class Queues:
    sqs: Any
    queue_url: str
    dead_letter_url: str
    dead_letter_arn: str
    move_tasks: list[dict[str, Any]] = field(default_factory=list)


def answer_move_tasks(queues: Queues) -> None:
    """Record StartMessageMoveTask's validated parameters and answer as SQS does."""

    def record(params: dict[str, Any], **_: Any) -> None:
        queues.move_tasks.append(dict(params))

    def respond(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://sqs", 200, {}, None), {"TaskHandle": TASK_HANDLE}

    events = queues.sqs.meta.events
    events.register("before-parameter-build.sqs.StartMessageMoveTask", record)
    events.register("before-call.sqs.StartMessageMoveTask", respond)


@pytest.fixture
def queues(aws_env: None) -> Iterator[Queues]:
    with mock_aws():
        runtime.clear_clients()  # the command's client must be made inside this moto account
        sqs = runtime.aws_client("sqs")
        dead_letter_url = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
        dead_letter_arn = sqs.get_queue_attributes(
            QueueUrl=dead_letter_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        redrive_policy = {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": "5"}
        queue_url = sqs.create_queue(
            QueueName="article-events", Attributes={"RedrivePolicy": json.dumps(redrive_policy)}
        )["QueueUrl"]
        created = Queues(sqs, queue_url, dead_letter_url, dead_letter_arn)
        answer_move_tasks(created)
        yield created
        runtime.clear_clients()


def test_redrive_moves_dead_letters_back_to_their_queue(
    queues: Queues, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(2):
        queues.sqs.send_message(QueueUrl=queues.dead_letter_url, MessageBody=f'{{"n": {n}}}')

    assert main(["redrive", "--dead-letter-queue-url", queues.dead_letter_url]) == 0

    # No DestinationArn: SQS returns each message to the queue it was dead-lettered from.
    assert queues.move_tasks == [{"SourceArn": queues.dead_letter_arn}]
    err = capsys.readouterr().err
    assert f"moving 2 messages from {queues.dead_letter_url}" in err
    assert f"aws sqs list-message-move-tasks --source-arn {queues.dead_letter_arn}" in err


def test_redrive_reads_the_queue_from_the_environment(
    queues: Queues, monkeypatch: pytest.MonkeyPatch
) -> None:
    queues.sqs.send_message(QueueUrl=queues.dead_letter_url, MessageBody="{}")
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", queues.dead_letter_url)
    assert main(["redrive"]) == 0
    assert queues.move_tasks == [{"SourceArn": queues.dead_letter_arn}]


def test_empty_dead_letter_queue_starts_no_task(
    queues: Queues, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["redrive", "--dead-letter-queue-url", queues.dead_letter_url]) == 0
    assert queues.move_tasks == []
    assert "is empty: nothing to redrive" in capsys.readouterr().err


def test_unknown_queue_is_a_clear_error(queues: Queues, capsys: pytest.CaptureFixture[str]) -> None:
    url = queues.dead_letter_url.replace("dead-letters", "no-such-queue")
    assert main(["redrive", "--dead-letter-queue-url", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"newswire: redrive {url}: ")
    assert queues.move_tasks == []


def test_redrive_without_a_queue_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DEAD_LETTER_QUEUE_URL", raising=False)
    assert main(["redrive"]) == 2
    assert "--dead-letter-queue-url" in capsys.readouterr().err
