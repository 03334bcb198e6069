"""The newswire stack: storage, pipeline, delivery and monitoring, wired together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, CfnResource, Stack
from constructs import Construct

from newswire.deployed import REINDEX_OUTPUT
from newswire_infra.audience import Audience
from newswire_infra.checkov import skip_checks
from newswire_infra.delivery import FEED_FILES, CustomDomain, Delivery
from newswire_infra.monitoring import Monitoring
from newswire_infra.pipeline import Pipeline
from newswire_infra.reindex import Reindex
from newswire_infra.storage import Storage

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
#: Construct ids of the singleton functions behind CDK's custom resources: bucket notifications
#: and ``AwsCustomResource``.
CDK_DEPLOY_TIME_FUNCTIONS = ("BucketNotificationsHandler", "AWS679f53fac002430cb0da5b7982bd2287")


class NewswireStack(Stack):
    """Articles in S3 become RSS, Atom and JSON feeds served by CloudFront.

    The stack is environment-agnostic and makes no AWS call while synthesizing: no lookups,
    the certificate is referenced by ARN.

    Args:
        scope: the app.
        construct_id: stack name.
        layer_dir: folder holding the dependency layer (``python/...``); build it with
            ``infra/build_layer.py``; tests pass a folder with an empty ``python/``.
        functions_dir: the code asset, ``functions/`` of the repository by default.
        base_url: public site root, shown in the outputs.
        custom_domain: serve the feeds on a domain of one's own.
        alarm_email: send alarms to this address.
        audience_metric_feeds: at most this many feeds get CloudWatch metrics of their own
            (None: the rollup's default, ``newswire.handlers.audience.DEFAULT_METRIC_FEEDS``).
        **kwargs: further ``Stack`` properties.

    Raises:
        FileNotFoundError: if ``layer_dir`` or ``functions_dir`` is not what it should be.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layer_dir: Path,
        functions_dir: Path = FUNCTIONS_DIR,
        base_url: str | None = None,
        custom_domain: CustomDomain | None = None,
        alarm_email: str | None = None,
        audience_metric_feeds: int | None = None,
        **kwargs: Any,
    ) -> None:
        if not (layer_dir / "python").is_dir():
            raise FileNotFoundError(
                f"{layer_dir} is not a Lambda layer (no python/ inside): "
                "run `python infra/build_layer.py` or pass -c layer_dir=..."
            )
        if not (functions_dir / "newswire").is_dir():
            raise FileNotFoundError(f"{functions_dir} does not hold the newswire package")
        super().__init__(
            scope,
            construct_id,
            description="newswire: articles in S3 become RSS, Atom and JSON feeds on CloudFront",
            **kwargs,
        )

        storage = Storage(self, "Storage")
        pipeline = Pipeline(
            self, "Pipeline", storage=storage, functions_dir=functions_dir, layer_dir=layer_dir
        )
        reindex = Reindex(self, "Reindex", pipeline=pipeline, storage=storage)
        audience = Audience(
            self,
            "Audience",
            storage=storage,
            pipeline=pipeline,
            metric_feeds=audience_metric_feeds,
        )
        delivery = Delivery(
            self,
            "Delivery",
            feeds_bucket=storage.feeds_bucket,
            log_bucket=audience.log_bucket,
            custom_domain=custom_domain,
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            pipeline=pipeline,
            reindex=reindex,
            audience=audience,
            alarm_email=alarm_email,
        )
        self._explain_cdk_internals()

        for name, file in FEED_FILES.items():
            CfnOutput(self, f"{name}FeedUrl", value=delivery.url(file), description=f"{file} feed")
        CfnOutput(
            self,
            "FeedsUrl",
            value=delivery.url(),
            description="Where the feeds are served: set feeds_url in site.yaml to this",
        )
        CfnOutput(self, "DistributionId", value=delivery.distribution.distribution_id)
        CfnOutput(
            self, "DistributionDomainName", value=delivery.distribution.distribution_domain_name
        )
        CfnOutput(self, "ContentBucketName", value=storage.content_bucket.bucket_name)
        CfnOutput(
            self,
            "UploadContentCommand",
            value=f"aws s3 sync content/ s3://{storage.content_bucket.bucket_name}/",
            description="Publish the site config and articles of content/",
        )
        CfnOutput(self, "FeedsBucketName", value=storage.feeds_bucket.bucket_name)
        CfnOutput(self, "IndexTableName", value=storage.index_table.table_name)
        CfnOutput(self, "QueueUrl", value=pipeline.queue.queue_url)
        CfnOutput(self, "DeadLetterQueueUrl", value=pipeline.dead_letter_queue.queue_url)
        CfnOutput(self, "PublishFunctionName", value=pipeline.publish.function_name)
        CfnOutput(
            self,
            REINDEX_OUTPUT,
            value=reindex.state_machine.state_machine_arn,
            description="Start to rebuild the index and every feed: make reindex",
        )
        CfnOutput(
            self,
            "AudienceBucketName",
            value=audience.aggregates_bucket.bucket_name,
            description="Private: subscriber snapshots (snapshots/latest.json)",
        )
        CfnOutput(self, "AudienceDeadLetterQueueUrl", value=audience.dead_letter_queue.queue_url)
        CfnOutput(self, "AudienceProcessorFunctionName", value=audience.processor.function_name)
        CfnOutput(self, "AudienceRollupFunctionName", value=audience.rollup.function_name)
        if base_url:
            CfnOutput(self, "SiteBaseUrl", value=base_url, description="base_url of site.yaml")
        if monitoring.topic is not None:
            CfnOutput(self, "AlarmTopicArn", value=monitoring.topic.topic_arn)

    def _explain_cdk_internals(self) -> None:
        """Suppress, with reasons, checks on the resources CDK adds on its own.

        ``add_event_notification`` deploys a singleton Lambda function (a CloudFormation
        custom resource) that calls ``PutBucketNotificationConfiguration`` once per deploy;
        ``AwsCustomResource`` another, which writes the 404 page into the feeds bucket.
        """
        for construct in self.node.find_all():
            if not isinstance(construct, CfnResource):
                continue
            # The function's own resource, or one inside it (its log group).
            ids = [scope.node.id for scope in construct.node.scopes]
            if not any(i.startswith(CDK_DEPLOY_TIME_FUNCTIONS) for i in ids):
                continue
            if construct.cfn_resource_type == "AWS::Lambda::Function":
                skip_checks(
                    construct,
                    dict.fromkeys(
                        ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"),
                        "A CDK custom resource (bucket notifications, the 404 page), run only "
                        "by CloudFormation during a deploy; not part of the article pipeline.",
                    ),
                )
            elif construct.cfn_resource_type == "AWS::Logs::LogGroup":
                skip_checks(
                    construct,
                    {
                        "CKV_AWS_158": "Logs of a CDK deploy-time custom resource (the 404 "
                        "page's S3 call): no secrets; CloudWatch's own encryption at rest.",
                    },
                )
