"""Who reads the feeds: CloudFront's logs counted privately into per-feed subscriber metrics.

CloudFront writes its standard logs to a private log bucket that deletes them after
:data:`LOG_RETENTION` (they hold readers' addresses). Each new log object invokes the
processor, which streams it and writes per-day partial aggregates (hashed readers only) to
the aggregates bucket; once a day the rollup counts the last seven days (and again the
windows of the two days before, if late logs changed them), writes a JSON snapshot there,
publishes per-feed metrics and deletes the hashing keys of the windows whose count is final
(``newswire.handlers.audience``). A dashboard shows the metrics; the audience's dead-letter
queue raises an alarm (``monitoring.py``).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from newswire.adapters.audience import (
    KEYS_PREFIX,
    METRICS_NAMESPACE,
    PARTIALS_PREFIX,
    SNAPSHOTS_PREFIX,
)
from newswire.audience import WINDOW_DAYS
from newswire.handlers.audience import (
    DEFAULT_METRIC_FEEDS,
    LATE_DAYS,
    PARTIALS_KEPT_DAYS,
    ROLLUP_HOUR,
    ROLLUP_MINUTE,
)
from newswire_infra.checkov import skip_checks
from newswire_infra.feed_function import METRICS_NAMESPACE as PIPELINE_NAMESPACE
from newswire_infra.feed_function import SERVICE_NAME, FeedFunction
from newswire_infra.grants import BUCKET_LIST, OBJECT_READ, allow
from newswire_infra.pipeline import Pipeline
from newswire_infra.storage import Storage

PROCESS_HANDLER = "newswire.handlers.audience.process_log"
ROLLUP_HANDLER = "newswire.handlers.audience.rollup"
#: Where CloudFront writes its logs in the log bucket.
LOG_PREFIX = "cloudfront/"
#: Raw logs hold addresses: kept long enough to be processed (and retried), no longer.
LOG_RETENTION = Duration.days(2)
#: A partial holds hashes for the windows ending on its day and the six after, each counted
#: until :data:`LATE_DAYS` after it ends (a day more for S3's clock); a key is deleted by the
#: rollup then, or expires here if no rollup ran.
PARTIALS_RETENTION = Duration.days(PARTIALS_KEPT_DAYS)
KEYS_RETENTION = Duration.days(WINDOW_DAYS + LATE_DAYS + 1)
SNAPSHOT_RETENTION = Duration.days(400)
#: A log file of a busy hour streams through in seconds; the margin covers a slow S3.
PROCESS_TIMEOUT = Duration.minutes(5)
#: Memory follows a log object's distinct readers (about 1 KB each: seven hashes): room for a
#: few hundred thousand in one object.
PROCESS_MEMORY_MB = 1024
ROLLUP_TIMEOUT = Duration.minutes(10)
#: A window key is made (conditionally) and, when the rollup closed its window meanwhile,
#: deleted again by the processor: on ``keys/*.key`` only, never a closed marker (deleting one
#: would let a window be reopened); both are read.
KEY_WRITE = ("s3:PutObject", "s3:DeleteObject")
#: The rollup writes ``keys/*.closed`` markers and deletes ``keys/*.key``, nothing else there.
KEY_FILES, CLOSED_MARKERS = f"{KEYS_PREFIX}*.key", f"{KEYS_PREFIX}*.closed"
#: The rollup counts the day before; CloudFront delivers most of a day's logs within an hour.
ROLLUP_SCHEDULE = events.Schedule.cron(minute=str(ROLLUP_MINUTE), hour=str(ROLLUP_HOUR))


class Audience(Construct):
    """The log bucket, the aggregates bucket, the processor, the daily rollup, a dashboard.

    Args:
        scope: parent construct.
        construct_id: construct id.
        storage: where the buckets' own access logs go.
        pipeline: makes the functions (shared code, layer, alarms on errors).
        metric_feeds: at most this many feeds get metrics of their own (None: the default).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        pipeline: Pipeline,
        metric_feeds: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_bucket = _private_bucket(
            self,
            "Logs",
            # CloudFront standard logs are delivered with an ACL grant.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            server_access_logs_bucket=storage.access_logs,
            server_access_logs_prefix="s3/cloudfront-logs/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=LOG_RETENTION,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        self.aggregates_bucket = _private_bucket(
            self,
            "Aggregates",
            server_access_logs_bucket=storage.access_logs,
            server_access_logs_prefix="s3/audience/",
            lifecycle_rules=[
                s3.LifecycleRule(prefix=PARTIALS_PREFIX, expiration=PARTIALS_RETENTION),
                s3.LifecycleRule(prefix=KEYS_PREFIX, expiration=KEYS_RETENTION),
                s3.LifecycleRule(prefix=SNAPSHOTS_PREFIX, expiration=SNAPSHOT_RETENTION),
            ],
        )
        for bucket in (self.log_bucket, self.aggregates_bucket):
            skip_checks(
                bucket,
                {
                    "CKV_AWS_21": "Short-lived logs and derived aggregates, expired by lifecycle "
                    "rule: old versions would keep what must expire.",
                },
            )
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        skip_checks(
            self.dead_letter_queue,
            {
                "CKV_AWS_27": "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), "
                "which this check does not recognize.",
            },
        )
        self.processor = self._processor(pipeline)
        self.rollup = self._rollup(pipeline)
        self.rollup.add_environment(
            "AUDIENCE_METRIC_FEEDS",
            str(DEFAULT_METRIC_FEEDS if metric_feeds is None else metric_feeds),
        )
        self.dashboard = self._dashboard()

    def _processor(self, pipeline: Pipeline) -> FeedFunction:
        function = pipeline.add_feed_function(
            "AudienceProcessor",
            handler=PROCESS_HANDLER,
            timeout=PROCESS_TIMEOUT,
            memory_size=PROCESS_MEMORY_MB,
            description="Counts each new CloudFront log object into private per-day aggregates.",
            builds_feeds=False,
            alarm_on_errors=False,  # counts, not publishing: the dashboard shows its errors
            retry_attempts=2,
            dead_letter_queue=self.dead_letter_queue,
        )
        function.add_environment("AUDIENCE_BUCKET", self.aggregates_bucket.bucket_name)
        self.log_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(function),
            s3.NotificationKeyFilter(prefix=LOG_PREFIX),
        )
        logs, aggregates = self.log_bucket, self.aggregates_bucket
        allow(function, OBJECT_READ, [logs.arn_for_objects(f"{LOG_PREFIX}*")])
        # ListBucket: a log the lifecycle rule expired is then NoSuchKey, reported once as
        # missing, not AccessDenied retried into the dead-letter queue
        allow(function, BUCKET_LIST, [logs.bucket_arn, aggregates.bucket_arn])
        # DeleteObject: a key it made as the rollup closed the window is deleted again
        allow(function, OBJECT_READ, [aggregates.arn_for_objects(f"{KEYS_PREFIX}*")])
        allow(function, KEY_WRITE, [aggregates.arn_for_objects(KEY_FILES)])
        allow(function, ("s3:PutObject",), [aggregates.arn_for_objects(f"{PARTIALS_PREFIX}*")])
        return function

    def _rollup(self, pipeline: Pipeline) -> FeedFunction:
        function = pipeline.add_feed_function(
            "AudienceRollup",
            handler=ROLLUP_HANDLER,
            timeout=ROLLUP_TIMEOUT,
            memory_size=1024,
            description="Counts each feed's subscribers of the last seven days, once a day.",
            builds_feeds=False,
            alarm_on_errors=False,  # counts, not publishing: the dashboard shows its errors
            retry_attempts=2,
            dead_letter_queue=self.dead_letter_queue,
        )
        function.add_environment("AUDIENCE_BUCKET", self.aggregates_bucket.bucket_name)
        events.Rule(
            self,
            "Daily",
            description="Rolls up newswire's feed subscribers of the last seven days.",
            schedule=ROLLUP_SCHEDULE,
            # A delivery EventBridge gave up on lands beside the function's own failures, so
            # the one alarm on the dead-letter queue covers a rollup that never ran.
            targets=[
                events_targets.LambdaFunction(
                    function, retry_attempts=2, dead_letter_queue=self.dead_letter_queue
                )
            ],
        )
        bucket = self.aggregates_bucket
        allow(function, BUCKET_LIST, [bucket.bucket_arn])
        allow(function, OBJECT_READ, [bucket.arn_for_objects(f"{PARTIALS_PREFIX}*")])
        # GetObject: a snapshot's HEAD says which partials it was counted from
        snapshots = bucket.arn_for_objects(f"{SNAPSHOTS_PREFIX}*")
        allow(function, ("s3:GetObject", "s3:PutObject"), [snapshots])
        # the closed marker written, then the key deleted
        allow(function, ("s3:PutObject",), [bucket.arn_for_objects(CLOSED_MARKERS)])
        allow(function, ("s3:DeleteObject",), [bucket.arn_for_objects(KEY_FILES)])
        allow(
            function,
            ("cloudwatch:PutMetricData",),
            ["*"],  # PutMetricData has no resource type; the namespace is pinned
            conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
        )
        return function

    def _dashboard(self) -> cloudwatch.Dashboard:
        """Per-feed counts (found by search: feeds come and go) and the functions' health."""
        day = Duration.days(1)

        def per_feed(metric: str, label: str) -> cloudwatch.GraphWidget:
            search = cloudwatch.MathExpression(
                expression=(
                    f"SEARCH('{{{METRICS_NAMESPACE},Feed}} MetricName=\"{metric}\"', "
                    f"'Maximum', {int(day.to_seconds())})"
                ),
                label="",
                period=day,
            )
            return cloudwatch.GraphWidget(title=label, left=[search], width=12, height=6)

        def lines(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=PIPELINE_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": SERVICE_NAME},
                statistic="Sum",
                period=Duration.hours(1),
            )

        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            default_interval=Duration.days(35),
        )
        dashboard.add_widgets(
            per_feed("Subscribers", "Subscribers per feed (last 7 days)"),
            per_feed("IndividualReaders", "Individual readers per feed"),
        )
        dashboard.add_widgets(per_feed("Requests", "Feed requests per feed (last 7 days)"))
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Log lines read, malformed and late (per hour)",
                left=[lines("LogLinesRead"), lines("FeedRequestsCounted")],
                right=[
                    lines("LogLinesMalformed"),
                    lines("LateLogLines"),
                    lines("LogObjectsMissing"),
                ],
                width=12,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Processor and rollup errors",
                left=[
                    self.processor.metric_errors(period=Duration.hours(1)),
                    self.rollup.metric_errors(period=Duration.hours(1)),
                    self.dead_letter_queue.metric_approximate_number_of_messages_visible(),
                ],
                right=[self.processor.metric_duration(period=Duration.hours(1))],
                width=12,
                height=6,
            ),
        )
        return dashboard


def _private_bucket(scope: Construct, construct_id: str, **kwargs: Any) -> s3.Bucket:
    """A bucket as every newswire bucket is: no public access, SSE-S3, TLS only, retained."""
    return s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        removal_policy=RemovalPolicy.RETAIN,
        **kwargs,
    )
