"""The reindex fanned out on Step Functions, and the ``site.yaml`` upload that starts it.

A STANDARD state machine runs the phases of ``newswire.pipeline.reindex``, each step a Lambda
function on the shared code (``newswire.handlers.reindex``):

``Begin`` (read ``site.yaml``, sweep index states whose article is gone) → ``IndexArticles``,
a Distributed Map over the listing of ``articles/`` in batches of :data:`INDEX_BATCH` →
``Plan`` (write the feed list to ``_reindex/<execution>/feeds.json``) → ``RenderFeeds``, a
Distributed Map over that list in batches of :data:`RENDER_BATCH`, each batch leaving the feed
directory alone and its listings under ``_reindex/<execution>/listings/`` →
``WriteDirectory`` (the feed directory written once, from those listings: were each batch to
write it, all would race for the same three objects).

The maps' child workflows are EXPRESS: each is one idempotent Lambda call (indexing an article
again, or rendering a feed again, changes nothing), so Express's at-least-once start is
harmless; they end well within Express's limit (:data:`BATCH_TIMEOUT`) and cost a
request each, where STANDARD children would be billed per state transition and kept in history
nobody reads (a failed item shows in its Map Run and in the function's logs).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3_notifications
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from newswire.deployed import ReindexPhase
from newswire.errors import ConcurrentUpdateError, TransientStorageError
from newswire.pipeline.reindex import INDEX_BATCH, MAP_CONCURRENCY, RENDER_BATCH
from newswire.runtime import STATE_MACHINE_VARIABLE
from newswire_infra.checkov import skip_checks
from newswire_infra.feed_function import LOG_RETENTION
from newswire_infra.pipeline import Pipeline
from newswire_infra.storage import ARTICLES_PREFIX, REINDEX_PREFIX, SITE_CONFIG_KEY, Storage

BEGIN_HANDLER = "newswire.handlers.reindex.begin"
INDEX_HANDLER = "newswire.handlers.reindex.index"
PLAN_HANDLER = "newswire.handlers.reindex.plan"
RENDER_HANDLER = "newswire.handlers.reindex.render"
DIRECTORY_HANDLER = "newswire.handlers.reindex.directory"
SITE_CHANGED_HANDLER = "newswire.handlers.site_changed.handler"


#: Begin and Plan each read the whole index once, WriteDirectory every feed's listing; a
#: map's batch is small. Every step stays
#: within the longest we let one invocation run, and a map's step within half an EXPRESS
#: child's limit, so one retry after a slow failure still fits.
WHOLE_INDEX_TIMEOUT = Duration.minutes(5)
BATCH_TIMEOUT = Duration.minutes(2)
STEP_MEMORY_MB = 1024
SITE_CHANGED_TIMEOUT = Duration.seconds(30)
#: A run of the whole archive takes minutes (``benchmarks/RESULTS.md``); an hour means
#: something is stuck.
EXECUTION_TIMEOUT = Duration.hours(1)

#: Lambda's own failures to run the function (not the function's errors): throttling and
#: service faults, which a wait cures.
LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
]


class Reindex(Construct):
    """The reindex state machine, its five step functions and the ``site.yaml`` trigger.

    The ``site.yaml`` trigger is an S3 event notification of the content bucket (prefix
    ``site.yaml``, object created) invoking the site-changed function, which validates the
    file and starts the state machine under a name derived from the file's ETag: two
    deliveries of one event, or two uploads of the same bytes, start one execution.

    Args:
        scope: parent construct.
        construct_id: construct id.
        pipeline: where the functions are made (shared code, layer, environment, grants).
        storage: the content bucket the maps read.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, pipeline: Pipeline, storage: Storage
    ) -> None:
        super().__init__(scope, construct_id)
        self.begin = self._step(pipeline, "ReindexBegin", BEGIN_HANDLER, WHOLE_INDEX_TIMEOUT)
        self.index = self._step(pipeline, "ReindexIndex", INDEX_HANDLER, BATCH_TIMEOUT)
        self.plan = self._step(pipeline, "ReindexPlan", PLAN_HANDLER, WHOLE_INDEX_TIMEOUT)
        self.render = self._step(pipeline, "ReindexRender", RENDER_HANDLER, BATCH_TIMEOUT)
        self.directory = self._step(
            pipeline, "ReindexDirectory", DIRECTORY_HANDLER, WHOLE_INDEX_TIMEOUT
        )
        storage.grant_reindex_write(self.plan)
        storage.grant_reindex_write(self.render)
        storage.grant_reindex_read(self.directory)
        storage.grant_partner_feed_removal(self.render)

        index_articles = sfn.DistributedMap(
            self,
            ReindexPhase.INDEX,
            comment="Index every article again, in batches, in parallel.",
            item_reader=sfn.S3ObjectsItemReader(
                bucket=storage.content_bucket, prefix=ARTICLES_PREFIX
            ),
            item_batcher=sfn.ItemBatcher(max_items_per_batch=INDEX_BATCH),
            max_concurrency=MAP_CONCURRENCY,
            map_execution_type=sfn.StateMachineType.EXPRESS,
            tolerated_failure_count=0,
            label=ReindexPhase.INDEX,
            result_path=sfn.JsonPath.DISCARD,
        )
        index_articles.item_processor(self._invoke("IndexBatch", self.index))
        render_feeds = sfn.DistributedMap(
            self,
            ReindexPhase.RENDER,
            comment="Render every feed the plan lists, in batches, in parallel.",
            item_reader=sfn.S3JsonItemReader(
                bucket_name_path=sfn.JsonPath.string_at("$.Bucket"),
                key=sfn.JsonPath.string_at("$.Key"),
            ),
            item_batcher=sfn.ItemBatcher(max_items_per_batch=RENDER_BATCH),
            max_concurrency=MAP_CONCURRENCY,
            map_execution_type=sfn.StateMachineType.EXPRESS,
            tolerated_failure_count=0,
            label=ReindexPhase.RENDER,
            result_path=sfn.JsonPath.DISCARD,
        )
        render_feeds.item_processor(self._invoke("RenderBatch", self.render))
        # plan and the directory step name the run their files are kept under
        execution = sfn.TaskInput.from_object(
            {"execution": sfn.JsonPath.string_at("$$.Execution.Name")}
        )
        definition = (
            self._invoke(ReindexPhase.BEGIN, self.begin, result_path=sfn.JsonPath.DISCARD)
            .next(index_articles)
            .next(
                self._invoke(
                    ReindexPhase.PLAN,
                    self.plan,
                    payload=execution,
                )
            )
            .next(render_feeds)
            .next(
                self._invoke(
                    ReindexPhase.DIRECTORY,
                    self.directory,
                    payload=execution,
                    result_path=sfn.JsonPath.DISCARD,
                )
            )
            .next(sfn.Succeed(self, "Done"))
        )

        log_group = logs.LogGroup(
            self, "Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
        )
        skip_checks(
            log_group,
            {
                "CKV_AWS_158": "Errors of reindex runs (state names, error names and causes), "
                "no secrets; CloudWatch encrypts them at rest with its own key.",
            },
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment="newswire reindex: the index and every feed rebuilt from the content bucket",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=EXECUTION_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ERROR),
        )
        # The render map's reader gets its bucket and key from the plan at run time, so CDK
        # grants nothing for it: the feed lists, and only they, may be read.
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[storage.content_bucket.arn_for_objects(f"{REINDEX_PREFIX}*")],
            )
        )

        self.site_changed = pipeline.add_feed_function(
            "SiteChanged",
            handler=SITE_CHANGED_HANDLER,
            timeout=SITE_CHANGED_TIMEOUT,
            memory_size=512,
            description="Validates an uploaded site.yaml and starts the reindex once for it.",
            builds_feeds=False,
        )
        storage.grant_site_check(self.site_changed)
        self.site_changed.add_environment(
            STATE_MACHINE_VARIABLE, self.state_machine.state_machine_arn
        )
        # StartExecution, and ListExecutions to tell whether its finished namesake was the
        # last run (see the handler); nothing else on the state machine.
        self.state_machine.grant_start_execution(self.site_changed)
        self.state_machine.grant(self.site_changed, "states:ListExecutions")
        storage.content_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3_notifications.LambdaDestination(self.site_changed),
            s3.NotificationKeyFilter(prefix=SITE_CONFIG_KEY),
        )
        skip_checks(
            self.site_changed,
            {
                "CKV_AWS_116": "Invoked by S3 asynchronously with Lambda's two retries; an event "
                "that still fails raises the error alarm, and `make reindex` does what it would.",
            },
        )

    @staticmethod
    def _step(
        pipeline: Pipeline, construct_id: str, handler: str, timeout: Duration
    ) -> lambda_.Function:
        function = pipeline.add_feed_function(
            construct_id,
            handler=handler,
            timeout=timeout,
            memory_size=STEP_MEMORY_MB,
            description=f"Reindex step {handler.rsplit('.', 1)[1]}, run by the state machine.",
            # Begin sweeps and Plan lists feeds from a full read of the index.
            scans_index=handler in (BEGIN_HANDLER, PLAN_HANDLER),
            # A failed step fails the execution, whose alarm says so once.
            alarm_on_errors=False,
            retry_attempts=0,
        )
        skip_checks(
            function,
            {
                "CKV_AWS_116": "Invoked synchronously by the reindex state machine, which "
                "retries it and fails the execution (alarmed) when it cannot succeed.",
            },
        )
        return function

    def _invoke(
        self,
        construct_id: str,
        function: lambda_.IFunction,
        *,
        payload: sfn.TaskInput | None = None,
        result_path: str | None = None,
    ) -> tasks.LambdaInvoke:
        """A Lambda task whose output is the function's result, retried while a wait may help:
        Lambda's service errors and throttling, and newswire's own transient storage errors
        (each step is idempotent, so running it again is safe)."""
        task = tasks.LambdaInvoke(
            self,
            construct_id,
            lambda_function=function,
            payload=payload,
            # the function's result alone, unless the step's result is not kept at all
            output_path=None if result_path == sfn.JsonPath.DISCARD else "$.Payload",
            result_path=result_path,
            retry_on_service_exceptions=False,
        )
        task.add_retry(
            errors=LAMBDA_SERVICE_ERRORS,
            interval=Duration.seconds(2),
            backoff_rate=2,
            max_attempts=6,
            jitter_strategy=sfn.JitterType.FULL,
        )
        task.add_retry(
            errors=[TransientStorageError.__name__],
            interval=Duration.seconds(5),
            backoff_rate=2,
            max_attempts=1,
            jitter_strategy=sfn.JitterType.FULL,
        )
        # a step that kept losing write races to publishes (the directory step: every
        # publish updates the directory too) runs again; what it wrote is found unchanged
        task.add_retry(
            errors=[ConcurrentUpdateError.__name__],
            interval=Duration.seconds(1),
            backoff_rate=2,
            max_attempts=3,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task
