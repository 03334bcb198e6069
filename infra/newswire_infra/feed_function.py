"""One place that decides how every newswire Lambda function runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from newswire_infra.checkov import skip_checks

#: Python and CPU of every function; the dependency layer is built for exactly this pair.
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64

#: Powertools reads these; the metric namespace and service name make up the
#: ``ArticlesRejected`` metric (namespace ``Newswire``, dimension ``service=newswire``).
SERVICE_NAME = "newswire"
METRICS_NAMESPACE = "Newswire"
POWERTOOLS_ENVIRONMENT: Mapping[str, str] = {
    "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
    "POWERTOOLS_LOG_LEVEL": "INFO",
}

#: Function logs double as the publishing audit trail (what was published or rejected, why).
LOG_RETENTION = logs.RetentionDays.ONE_YEAR


class FeedFunction(lambda_.Function):
    """A newswire Lambda function: Python 3.12 on arm64, JSON logs, X-Ray, Powertools settings.

    Every function shares the same code asset (``functions/``, the ``newswire`` package) and the
    dependency layer; only the handler, the limits and the trigger differ. The function writes
    to its own log group, kept for a year and deleted with the stack.

    Args:
        scope: parent construct.
        construct_id: construct id; also the prefix of the log group's id.
        handler: dotted path of the entry point, e.g. ``newswire.handlers.publish.handler``.
        code: the shared code asset.
        layers: the dependency layer(s).
        environment: the function's own variables; the Powertools ones are added here.
        timeout: maximum run time of one invocation.
        memory_size: memory in MiB (CPU grows with it).
        description: what the function does, shown in the console.
        **kwargs: any other ``lambda_.Function`` property (e.g. ``retry_attempts``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        environment: Mapping[str, str],
        timeout: Duration,
        memory_size: int,
        description: str,
        **kwargs: Any,
    ) -> None:
        log_group = logs.LogGroup(
            scope,
            f"{construct_id}Logs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        skip_checks(
            log_group,
            {
                "CKV_AWS_158": "Logs hold article keys and feed names, no secrets or personal "
                "data; CloudWatch encrypts them at rest with its own key.",
            },
        )
        super().__init__(
            scope,
            construct_id,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=code,
            layers=list(layers),
            environment={**environment, **POWERTOOLS_ENVIRONMENT},
            timeout=timeout,
            memory_size=memory_size,
            description=description,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=log_group,
            **kwargs,
        )
        skip_checks(
            self,
            {
                "CKV_AWS_117": "Reaches only S3, DynamoDB, CloudWatch and X-Ray over their public "
                "endpoints with IAM auth; a VPC would add NAT or endpoints and nothing to guard.",
                "CKV_AWS_173": "Environment holds bucket and table names and Powertools settings, "
                "no secrets; Lambda encrypts it at rest with its service key.",
                "CKV_AWS_115": "Concurrency is bounded where the work comes from (SQS event source "
                "max_concurrency, the reindex maps' MaxConcurrency); reserved concurrency fails "
                "to deploy on new accounts whose whole quota is 10.",
            },
        )
