"""The AWS resources newswire uses, described once for moto: tests and ``newswire serve``.

The shape follows ``infra/``: a content bucket whose ``articles/`` changes are sent to an SQS
queue (with a dead-letter queue), a feeds bucket, and the DynamoDB article index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newswire.content.articles import ARTICLES_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

#: SQS gives up on a message after this many receives and moves it to the dead-letter queue.
MAX_RECEIVE_COUNT = 5
#: Only article changes are notified; ``site.yaml`` and ``_reports/`` are not.


@dataclass(frozen=True, slots=True)
class ResourceNames:
    """The names of newswire's resources (moto accepts any; AWS needs them unique)."""

    content_bucket: str = "newswire-content"
    feeds_bucket: str = "newswire-feeds"
    index_table: str = "newswire-index"
    queue: str = "newswire-publish"
    dead_letter_queue: str = "newswire-publish-dlq"


@dataclass(frozen=True, slots=True)
class CreatedQueue:
    """The publish queue as created: what a poller needs to read it."""

    url: str
    arn: str


def create_resources(
    s3: S3Client,
    dynamodb: DynamoDBClient,
    sqs: SQSClient | None,
    names: ResourceNames,
    *,
    visibility_timeout: int = 30,
) -> CreatedQueue | None:
    """Create the buckets, the index table and (given an SQS client) the publish queue.

    Args:
        s3: the S3 client to create the buckets with.
        dynamodb: the DynamoDB client to create the index table with.
        sqs: the SQS client; ``None`` creates no queue and no notification.
        names: the resource names.
        visibility_timeout: seconds a received message stays hidden before redelivery.

    Returns:
        The publish queue, or ``None`` without an SQS client.
    """
    s3.create_bucket(Bucket=names.content_bucket)
    s3.create_bucket(Bucket=names.feeds_bucket)
    dynamodb.create_table(
        TableName=names.index_table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    if sqs is None:
        return None
    return _create_queue(s3, sqs, names, visibility_timeout)


def _create_queue(
    s3: S3Client, sqs: SQSClient, names: ResourceNames, visibility_timeout: int
) -> CreatedQueue:
    """The publish queue with its dead-letter queue, notified of every article change."""
    dlq_url = sqs.create_queue(QueueName=names.dead_letter_queue)["QueueUrl"]
    dlq_arn = _queue_arn(sqs, dlq_url)
    queue_url = sqs.create_queue(
        QueueName=names.queue,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
            ),
        },
    )["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)
    s3.put_bucket_notification_configuration(
        Bucket=names.content_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                    "Filter": {
                        "Key": {"FilterRules": [{"Name": "prefix", "Value": ARTICLES_PREFIX}]}
                    },
                }
            ]
        },
    )
    return CreatedQueue(url=queue_url, arn=queue_arn)


def _queue_arn(sqs: SQSClient, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return attributes["Attributes"]["QueueArn"]
