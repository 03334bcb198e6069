"""Who reads the feeds, in AWS: a private log bucket, its processor, the rollup, a dashboard."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from newswire_infra import Settings

from tests.infra.stacks import AUDIENCE_METRIC_FEEDS, Synthesized

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}
SSE_S3 = {
    "ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
}


def function_id(stack: Synthesized, handler: str) -> str:
    (found,) = [
        logical_id
        for logical_id, f in stack.resources("AWS::Lambda::Function").items()
        if f["Properties"].get("Handler") == handler
    ]
    return found


def policy_statements(stack: Synthesized, function: str) -> list[dict[str, Any]]:
    role = stack.resources("AWS::Lambda::Function")[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in stack.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def object_actions(stack: Synthesized, function: str) -> dict[str, set[str]]:
    """Each S3 action of a function's role, with the key patterns it is allowed on."""
    found: dict[str, set[str]] = {}
    for statement in policy_statements(stack, function):
        actions = statement["Action"]
        resources = statement["Resource"]
        for action in actions if isinstance(actions, list) else [actions]:
            for resource in resources if isinstance(resources, list) else [resources]:
                parts = (
                    resource.get("Fn::Join", ["", [""]])[1] if isinstance(resource, dict) else []
                )
                pattern = parts[-1] if parts and isinstance(parts[-1], str) else str(resource)
                found.setdefault(action, set()).add(pattern)
    return found


def test_cloudfront_logs_to_a_private_bucket_that_deletes_them_after_two_days(
    default_stack: Synthesized, template: Template
) -> None:
    bucket = default_stack.logical_id("AWS::S3::Bucket", "AudienceLogs")
    props = default_stack.properties("AWS::S3::Bucket", "AudienceLogs")
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL
    assert props["BucketEncryption"] == SSE_S3
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    assert props["LifecycleConfiguration"]["Rules"] == [
        {
            "ExpirationInDays": 2,
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            "Status": "Enabled",
        }
    ]
    template.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": Match.object_like(
                {
                    "Logging": {
                        "Bucket": {"Fn::GetAtt": [bucket, "RegionalDomainName"]},
                        "Prefix": "cloudfront/",
                    }
                }
            )
        },
    )


def test_aggregates_are_private_and_expire_with_their_window(default_stack: Synthesized) -> None:
    props = default_stack.properties("AWS::S3::Bucket", "AudienceAggregates")
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL
    assert props["BucketEncryption"] == SSE_S3
    expiry = {r["Prefix"]: r["ExpirationInDays"] for r in props["LifecycleConfiguration"]["Rules"]}
    # a window is counted until two days after it ends, from partials up to 7 days older
    assert expiry == {"partials/": 10, "keys/": 10, "snapshots/": 400}


def test_each_new_log_object_invokes_the_processor(
    default_stack: Synthesized, template: Template
) -> None:
    processor = function_id(default_stack, "newswire.handlers.audience.process_log")
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "BucketName": {"Ref": default_stack.logical_id("AWS::S3::Bucket", "AudienceLogs")},
            "NotificationConfiguration": {
                "LambdaFunctionConfigurations": [
                    {
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {
                            "Key": {"FilterRules": [{"Name": "prefix", "Value": "cloudfront/"}]}
                        },
                        "LambdaFunctionArn": {"Fn::GetAtt": [processor, "Arn"]},
                    }
                ]
            },
        },
    )
    props = default_stack.resources("AWS::Lambda::Function")[processor]["Properties"]
    assert "AUDIENCE_BUCKET" in props["Environment"]["Variables"]
    assert "DeadLetterConfig" in props
    assert props["MemorySize"] == 1024  # a log object of a few hundred thousand readers fits
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {"FunctionName": {"Ref": processor}, "MaximumRetryAttempts": 2},
    )
    actions = {
        action
        for statement in policy_statements(default_stack, processor)
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert "cloudwatch:PutMetricData" not in actions
    # it may delete only a window key (one it made as the rollup closed the window)
    assert object_actions(default_stack, processor)["s3:DeleteObject"] == {"/keys/*.key"}


def test_the_rollup_runs_daily_and_may_only_write_its_own_metrics(
    default_stack: Synthesized, template: Template
) -> None:
    rollup = function_id(default_stack, "newswire.handlers.audience.rollup")
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "cron(30 2 * * ? *)",
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [rollup, "Arn"]}})],
        },
    )
    (metrics,) = [
        s
        for s in policy_statements(default_stack, rollup)
        if s["Action"] == "cloudwatch:PutMetricData"
    ]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Newswire/Audience"}}
    allowed = object_actions(default_stack, rollup)
    assert "/keys/*.closed" in allowed["s3:PutObject"]  # the closed marker, never a key
    assert allowed["s3:DeleteObject"] == {"/keys/*.key"}  # never a closed marker


def test_how_many_feeds_get_metrics_is_a_stack_setting(
    default_stack: Synthesized, full_stack: Synthesized
) -> None:
    """Every feed with readers, up to a cap: 100 by default, ``-c audience_metric_feeds=N``."""
    for stack, cap in ((default_stack, "100"), (full_stack, str(AUDIENCE_METRIC_FEEDS))):
        rollup = function_id(stack, "newswire.handlers.audience.rollup")
        props = stack.resources("AWS::Lambda::Function")[rollup]["Properties"]
        assert props["Environment"]["Variables"]["AUDIENCE_METRIC_FEEDS"] == cap


def test_the_metric_cap_is_read_from_context() -> None:
    app = cdk.App(context={"audience_metric_feeds": "250"})
    assert Settings.from_context(app.node).audience_metric_feeds == 250
    assert Settings.from_context(cdk.App().node).audience_metric_feeds is None
    for wrong in ("-1", "lots", "2.5"):
        app = cdk.App(context={"audience_metric_feeds": wrong})
        with pytest.raises(ValueError, match="audience_metric_feeds"):
            Settings.from_context(app.node)


def test_the_dashboard_charts_each_feed_and_the_processor(default_stack: Synthesized) -> None:
    (dashboard,) = default_stack.resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = "".join(part for part in parts if isinstance(part, str))
    for metric in ("Subscribers", "IndividualReaders", "Requests"):
        assert f'SEARCH(\'{{Newswire/Audience,Feed}} MetricName=\\"{metric}\\"' in body
    for metric in ("LogLinesMalformed", "LateLogLines", "LogObjectsMissing"):
        assert metric in body


def audience_grants(stack: Synthesized, function: str) -> dict[str, set[str]]:
    """What a function's role may do, by target: ``logs/cloudfront/*``, ``aggregates``,
    ``aggregates/keys/*``, ``dead letters``, ``*`` (with its condition, if any)."""
    targets = {
        stack.logical_id("AWS::S3::Bucket", "AudienceLogs"): "logs",
        stack.logical_id("AWS::S3::Bucket", "AudienceAggregates"): "aggregates",
        stack.logical_id("AWS::SQS::Queue", "AudienceDeadLetterQueue"): "dead letters",
    }
    found: dict[str, set[str]] = {}
    for statement in policy_statements(stack, function):
        assert statement["Effect"] == "Allow"
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            if isinstance(resource, str):
                target = resource + str(statement.get("Condition", ""))
            elif "Fn::GetAtt" in resource:
                target = targets[resource["Fn::GetAtt"][0]]
            else:
                bucket, suffix = resource["Fn::Join"][1]
                target = targets[bucket["Fn::GetAtt"][0]] + suffix
            actions = statement["Action"]
            found.setdefault(target, set()).update(
                actions if isinstance(actions, list) else [actions]
            )
    return found


#: Lambda's active tracing and the dead-letter queue of failed invocations (CDK's own grants).
LAMBDA_OWN = {
    "*": {"xray:PutTelemetryRecords", "xray:PutTraceSegments"},
    "dead letters": {"sqs:SendMessage"},
}


def test_the_processor_may_call_only_what_its_code_calls(default_stack: Synthesized) -> None:
    """Exact grants: CDK's ``grant_read``/``grant_put`` would add ``GetObject*``,
    ``GetBucket*``, ``List*``, object lock and tagging on a bucket of readers' addresses."""
    processor = function_id(default_stack, "newswire.handlers.audience.process_log")
    assert audience_grants(default_stack, processor) == {
        **LAMBDA_OWN,
        "logs/cloudfront/*": {"s3:GetObject"},
        # a log expired by the lifecycle rule is NoSuchKey (reported once), not AccessDenied
        "logs": {"s3:ListBucket"},
        "aggregates": {"s3:ListBucket"},
        "aggregates/keys/*": {"s3:GetObject"},
        "aggregates/keys/*.key": {"s3:PutObject", "s3:DeleteObject"},
        "aggregates/partials/*": {"s3:PutObject"},
    }


def test_the_rollup_may_call_only_what_its_code_calls(default_stack: Synthesized) -> None:
    rollup = function_id(default_stack, "newswire.handlers.audience.rollup")
    namespace = {"StringEquals": {"cloudwatch:namespace": "Newswire/Audience"}}
    assert audience_grants(default_stack, rollup) == {
        **LAMBDA_OWN,
        f"*{namespace}": {"cloudwatch:PutMetricData"},
        "aggregates": {"s3:ListBucket"},
        "aggregates/partials/*": {"s3:GetObject"},
        "aggregates/snapshots/*": {"s3:GetObject", "s3:PutObject"},
        "aggregates/keys/*.closed": {"s3:PutObject"},
        "aggregates/keys/*.key": {"s3:DeleteObject"},
    }
