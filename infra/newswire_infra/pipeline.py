"""From an article written to S3 to rendered feeds: queue, dead-letter queue, functions."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Aws, Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from newswire.adapters.aws_errors import SDK_CALL_WORST_CASE_SECONDS
from newswire.handlers.budget import (
    ANNOUNCE_DEADLINE_SECONDS,
    RECORD_DEADLINE_SECONDS,
    UNBOUNDED_WORK_SECONDS,
)
from newswire_infra.checkov import skip_checks
from newswire_infra.feed_function import ARCHITECTURE, RUNTIME, FeedFunction
from newswire_infra.storage import ARTICLES_PREFIX, Storage

PUBLISH_HANDLER = "newswire.handlers.publish.handler"
SCHEDULE_HANDLER = "newswire.handlers.schedule.handler"

#: Each record's share of a batch's time to start AWS calls in (read, render, index
#: transaction and feed writes, with their backoff on throttling and conflicts).
RECORD_BUDGET = Duration.seconds(RECORD_DEADLINE_SECONDS)
#: After its batch, an invocation pings every WebSub hub at once, for at most the time one hub
#: takes to use up all its tries.
HUB_WORST_CASE_SECONDS = ANNOUNCE_DEADLINE_SECONDS
BATCH_SIZE = 10
#: A whole batch of records at their share, the AWS call under way at the batch's deadline,
#: the work no deadline stops and the hubs, rounded up to half a minute (150 s). The handler
#: starts a batch only while the reserve still fits and starts no AWS call past its deadline,
#: so a slower batch returns its unfinished messages to the queue rather than time out.
PUBLISH_TIMEOUT = Duration.seconds(
    30
    * math.ceil(
        (
            BATCH_SIZE * RECORD_BUDGET.to_seconds()
            + SDK_CALL_WORST_CASE_SECONDS
            + UNBOUNDED_WORK_SECONDS
            + HUB_WORST_CASE_SECONDS
        )
        / 30
    )
)
#: AWS's rule for SQS event sources: a message stays invisible for six function timeouts, so a
#: batch is retried only after every attempt at it has surely ended.
QUEUE_VISIBILITY_TIMEOUT = Duration.seconds(6 * PUBLISH_TIMEOUT.to_seconds())
#: A message that failed this many times goes to the dead-letter queue (and raises an alarm).
#: A message handed back for lack of time in a slow (throttled) batch counts a receive too.
MAX_RECEIVE_COUNT = 10
DEAD_LETTER_RETENTION = Duration.days(14)
BATCHING_WINDOW = Duration.seconds(5)
#: Every publish rewrites the same feed files (with conditional writes); two concurrent
#: batches keep up with any newsroom while keeping write conflicts rare (2 is the lowest limit
#: an SQS event source accepts).
MAX_CONCURRENCY = 2

SCHEDULE_TIMEOUT = Duration.minutes(1)

#: The code asset is the ``functions/`` folder minus what the tools leave there.
CODE_EXCLUDES = [
    "**/__pycache__",
    "**/*.py[cod]",
    "*.egg-info",
    "**/.mypy_cache",
    "**/.pytest_cache",
    "**/.ruff_cache",
    "tests",
]


class Pipeline(Construct):
    """Article events flow content bucket → queue → publish function; scheduled articles too.

    ``articles/`` object-created and object-removed events go to an SSE-SQS queue with a
    dead-letter queue. The publish function consumes it in small batches, reporting failed
    records individually (partial batch responses) so one bad article never blocks the others.
    The reindex (:class:`~newswire_infra.reindex.Reindex`) adds its functions here too.

    Each function is a :class:`FeedFunction` made by :meth:`add_feed_function`, which gives it
    the shared code and layer, the storage variables and the storage grants; a new trigger only
    has to be attached to the function it returns.

    Args:
        scope: parent construct.
        construct_id: construct id.
        storage: the buckets and table the functions work on.
        functions_dir: the code asset (the folder that holds the ``newswire`` package).
        layer_dir: the dependency layer (a folder that holds ``python/``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        functions_dir: Path,
        layer_dir: Path,
    ) -> None:
        super().__init__(scope, construct_id)
        self._storage = storage
        #: Every function of the pipeline, in creation order.
        self.functions: list[FeedFunction] = []
        #: The functions whose errors raise an alarm of their own (the reindex's steps fail
        #: their execution instead, which has its alarm).
        self.alarmed_functions: list[FeedFunction] = []
        self._code = lambda_.Code.from_asset(str(functions_dir), exclude=CODE_EXCLUDES)
        self._layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(layer_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="newswire runtime dependencies (feedgen, Powertools, ...)",
        )

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            retention_period=DEAD_LETTER_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        sse_sqs = {
            "CKV_AWS_27": "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), which "
            "this check does not recognize; S3 notifications cannot reach a queue under the "
            "AWS-managed KMS key.",
        }
        skip_checks(self.dead_letter_queue, sse_sqs)
        self.queue = sqs.Queue(
            self,
            "ArticleEvents",
            visibility_timeout=QUEUE_VISIBILITY_TIMEOUT,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVE_COUNT
            ),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        skip_checks(self.queue, sse_sqs)
        articles = s3.NotificationKeyFilter(prefix=ARTICLES_PREFIX)
        destination = QueueFromBucket(self.queue, storage.content_bucket)
        for event in (s3.EventType.OBJECT_CREATED, s3.EventType.OBJECT_REMOVED):
            storage.content_bucket.add_event_notification(event, destination, articles)

        self.publish = self.add_feed_function(
            "Publish",
            handler=PUBLISH_HANDLER,
            timeout=PUBLISH_TIMEOUT,
            memory_size=1024,
            description="Renders the feeds touched by new, changed or deleted articles.",
        )
        self.publish.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=BATCH_SIZE,
                max_batching_window=BATCHING_WINDOW,
                report_batch_item_failures=True,
                max_concurrency=MAX_CONCURRENCY,
            )
        )
        skip_checks(
            self.publish,
            {
                "CKV_AWS_116": "Invoked by SQS, not asynchronously: failed messages go to the "
                "queue's dead-letter queue, which is alarmed.",
            },
        )

        self.schedule = self.add_feed_function(
            "Schedule",
            handler=SCHEDULE_HANDLER,
            timeout=SCHEDULE_TIMEOUT,
            memory_size=512,
            description="Publishes scheduled articles whose time has come; runs every minute.",
            # The next minute's run picks up whatever a failed run left: no retries needed.
            retry_attempts=0,
        )
        self.every_minute = events.Rule(
            self,
            "EveryMinute",
            description="Publishes newswire's scheduled articles when they come due.",
            schedule=events.Schedule.rate(Duration.minutes(1)),
            targets=[events_targets.LambdaFunction(self.schedule, retry_attempts=0)],
        )
        skip_checks(
            self.schedule,
            {
                "CKV_AWS_116": "Run every minute by EventBridge without retries: the next run "
                "publishes what a failed one left, and failures show in the error alarm.",
            },
        )

    def add_feed_function(
        self,
        construct_id: str,
        *,
        handler: str,
        timeout: Duration,
        memory_size: int,
        description: str,
        scans_index: bool = False,
        builds_feeds: bool = True,
        alarm_on_errors: bool = True,
        **kwargs: Any,
    ) -> FeedFunction:
        """A function on the shared code and layer, with the storage variables and grants.

        Args:
            construct_id: construct id, e.g. ``Publish``.
            handler: entry point, e.g. ``newswire.handlers.publish.handler``.
            timeout: maximum run time of one invocation.
            memory_size: memory in MiB.
            description: what the function does.
            scans_index: the function reads the whole index (reindex).
            builds_feeds: give it the storage grants of a feed builder; without them the
                caller grants what the function needs.
            alarm_on_errors: its errors raise an alarm (see :attr:`alarmed_functions`).
            **kwargs: further ``lambda_.Function`` properties.

        Returns:
            The function, ready for a trigger (event source, schedule rule, ...).
        """
        function = FeedFunction(
            self,
            construct_id,
            handler=handler,
            code=self._code,
            layers=[self._layer],
            environment=self._storage.environment,
            timeout=timeout,
            memory_size=memory_size,
            description=description,
            **kwargs,
        )
        if builds_feeds:
            self._storage.grant_feed_builder(function, scans_index=scans_index)
        self.functions.append(function)
        if alarm_on_errors:
            self.alarmed_functions.append(function)
        return function


@jsii.implements(s3.IBucketNotificationDestination)
class QueueFromBucket:
    """An S3 notification destination: the queue, which only this account's bucket may feed.

    CDK's ``SqsDestination`` allows ``s3.amazonaws.com`` by the bucket's ARN alone; bucket
    names are global, so ``aws:SourceAccount`` also pins the account (the confused-deputy
    guard AWS advises), and S3 is given ``sqs:SendMessage`` only.

    Args:
        queue: the queue the notifications go to (SSE-SQS: no key policy needed).
        bucket: the bucket that sends them.
    """

    def __init__(self, queue: sqs.IQueue, bucket: s3.IBucket) -> None:
        self._queue = queue
        self._bucket = bucket

    def bind(self, scope: Construct, bucket: Any) -> s3.BucketNotificationDestinationConfig:
        """Allow the bucket to send to the queue; the notification waits for that policy."""
        self._queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self._queue.queue_arn],
                conditions={
                    "ArnEquals": {"aws:SourceArn": self._bucket.bucket_arn},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )
        return s3.BucketNotificationDestinationConfig(
            arn=self._queue.queue_arn,
            type=s3.BucketNotificationDestinationType.QUEUE,
            dependencies=[self._queue],
        )
