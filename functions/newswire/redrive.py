"""``newswire redrive``: send the dead-letter queue's article events back to be published again.

An S3 event lands in the dead-letter queue after five failed deliveries (AWS failing for
minutes, a bug fixed since). Once the cause is gone, SQS itself moves the messages back
(``StartMessageMoveTask``): each returns to the queue it came from, in the background, and the
publish function picks it up as if S3 had just sent it. Redelivered events are recognised by
their ``sequencer``, so an event already applied since changes nothing.

Needs the operator's AWS credentials (``sqs:StartMessageMoveTask``, ``sqs:GetQueueAttributes``
and ``sqs:ReceiveMessage``/``sqs:DeleteMessage`` on the dead-letter queue,
``sqs:SendMessage`` on the article queue).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newswire.errors import NewswireError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

#: Where ``make redrive`` and a shell find the dead-letter queue (stack output
#: ``DeadLetterQueueUrl``).
QUEUE_URL_VARIABLE = "DEAD_LETTER_QUEUE_URL"


@dataclass(frozen=True, slots=True)
class Redrive:
    """A move of dead-lettered messages back to their queue.

    Attributes:
        queue_arn: the dead-letter queue's ARN (to follow the task with).
        messages: how many messages it held when asked (SQS's approximate count).
        task_handle: SQS's handle of the move task; ``None`` when there was nothing to move.
    """

    queue_arn: str
    messages: int
    task_handle: str | None


def start_redrive(sqs: SQSClient, dead_letter_queue_url: str) -> Redrive:
    """Start moving every message of the dead-letter queue back to its source queue.

    No destination is given, so SQS returns each message to the queue it was dead-lettered
    from; an empty queue starts no task.

    Raises:
        StorageError: the queue does not exist, access was denied, or a move task is already
            running on it (SQS allows one at a time).
    """
    # Imported here: the CLI module imports this one, and `newswire build` needs no botocore.
    from botocore.exceptions import BotoCoreError, ClientError

    from newswire.adapters.aws_errors import translate

    try:
        attributes = sqs.get_queue_attributes(
            QueueUrl=dead_letter_queue_url,
            AttributeNames=["QueueArn", "ApproximateNumberOfMessages"],
        )["Attributes"]
        queue_arn = attributes["QueueArn"]
        messages = int(attributes.get("ApproximateNumberOfMessages", "0"))
        if messages == 0:
            return Redrive(queue_arn, 0, None)
        task = sqs.start_message_move_task(SourceArn=queue_arn)
    except (ClientError, BotoCoreError) as e:
        raise translate(e, f"redrive {dead_letter_queue_url}") from e
    return Redrive(queue_arn, messages, task["TaskHandle"])


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``newswire redrive`` on the CLI's subcommands."""
    parser = commands.add_parser(
        "redrive",
        help="move the dead-letter queue's article events back to the article queue "
        "(AWS credentials from the environment, as for the AWS CLI)",
    )
    parser.add_argument(
        "--dead-letter-queue-url",
        default=os.environ.get(QUEUE_URL_VARIABLE),
        help=f"the stack output DeadLetterQueueUrl (default: ${QUEUE_URL_VARIABLE})",
    )


def redrive_command(dead_letter_queue_url: str | None) -> int:
    """Start the move and say how to follow it; return the process exit status."""
    from newswire.runtime import aws_client

    if not dead_letter_queue_url:
        print(
            f"newswire: redrive needs --dead-letter-queue-url (or ${QUEUE_URL_VARIABLE}): "
            "the stack output DeadLetterQueueUrl",
            file=sys.stderr,
        )
        return 2
    try:
        redrive = start_redrive(aws_client("sqs"), dead_letter_queue_url)
    except NewswireError as e:
        print(f"newswire: {e}", file=sys.stderr)
        return 2
    if redrive.task_handle is None:
        print(f"newswire: {dead_letter_queue_url} is empty: nothing to redrive", file=sys.stderr)
        return 0
    print(
        f"newswire: moving {redrive.messages} messages from {dead_letter_queue_url} back to "
        f"the article queue; follow it with\n"
        f"  aws sqs list-message-move-tasks --source-arn {redrive.queue_arn}",
        file=sys.stderr,
    )
    return 0
