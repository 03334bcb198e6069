"""Who reads the feeds, in AWS: a private log bucket, its processor, the rollup, a dashboard."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from tests.infra.stacks import Synthesized

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
    assert expiry == {"partials/": 9, "keys/": 9, "snapshots/": 400}


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
    assert "s3:DeleteObject" not in actions and "cloudwatch:PutMetricData" not in actions


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


def test_the_dashboard_charts_each_feed_and_the_processor(default_stack: Synthesized) -> None:
    (dashboard,) = default_stack.resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = "".join(part for part in parts if isinstance(part, str))
    for metric in ("Subscribers", "IndividualReaders", "Requests"):
        assert f'SEARCH(\'{{Newswire/Audience,Feed}} MetricName=\\"{metric}\\"' in body
    assert "LogLinesMalformed" in body
