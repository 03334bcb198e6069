"""Buckets and table: private, encrypted, TLS-only, versioned where articles live."""

from __future__ import annotations

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


def test_content_bucket_is_private_encrypted_versioned_and_expires_only_old_versions(
    template: Template,
) -> None:
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    "BucketEncryption": SSE_S3,
                    "PublicAccessBlockConfiguration": BLOCK_ALL,
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "LifecycleConfiguration": {
                        "Rules": [
                            {
                                "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
                                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                                "Status": "Enabled",
                            },
                            {
                                "Prefix": "_reindex/",
                                "ExpirationInDays": 3,
                                "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                                "Status": "Enabled",
                            },
                        ]
                    },
                    "LoggingConfiguration": Match.object_like({"LogFilePrefix": "s3/content/"}),
                }
            ),
            # An article must survive a stack deletion.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_no_lifecycle_rule_ever_expires_a_current_article(default_stack: Synthesized) -> None:
    content = default_stack.properties("AWS::S3::Bucket", "StorageContent")
    for rule in content["LifecycleConfiguration"]["Rules"]:
        if rule.get("Prefix") == "_reindex/":  # a reindex's work files, not articles
            continue
        assert "ExpirationInDays" not in rule
        assert "ExpirationDate" not in rule


def test_every_bucket_blocks_public_access_and_is_encrypted(default_stack: Synthesized) -> None:
    buckets = default_stack.resources("AWS::S3::Bucket")
    assert len(buckets) == 5  # content, feeds, access logs; CloudFront's logs, audience
    for logical_id, bucket in buckets.items():
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == BLOCK_ALL, logical_id
        assert bucket["Properties"]["BucketEncryption"] == SSE_S3, logical_id


def test_every_bucket_refuses_plain_http(default_stack: Synthesized) -> None:
    policies = default_stack.resources("AWS::S3::BucketPolicy").values()
    for logical_id in default_stack.resources("AWS::S3::Bucket"):
        statements = [
            statement
            for policy in policies
            if policy["Properties"]["Bucket"] == {"Ref": logical_id}
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert {
            "Effect": "Deny",
            "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }.items() <= next(s for s in statements if s["Effect"] == "Deny").items(), logical_id


def test_feeds_bucket_is_private_and_keeps_old_feeds_a_week(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": SSE_S3,
            "PublicAccessBlockConfiguration": BLOCK_ALL,
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {
                "Rules": [Match.object_like({"NoncurrentVersionExpiration": {"NoncurrentDays": 7}})]
            },
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "s3/feeds/"}),
        },
    )


def test_access_log_bucket_expires_its_logs_and_cloudfronts_former_ones_in_two_days(
    default_stack: Synthesized,
) -> None:
    bucket = default_stack.resources("AWS::S3::Bucket")[
        default_stack.logical_id("AWS::S3::Bucket", "StorageAccessLogs")
    ]
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert {(rule.get("Prefix"), rule["ExpirationInDays"]) for rule in rules} == {
        (None, 365),  # S3 server access logs
        ("cloudfront/", 2),  # CloudFront's logs from before they had their own bucket: addresses
    }


def test_article_events_only_for_articles_prefix(default_stack: Synthesized) -> None:
    content_id = default_stack.logical_id("AWS::S3::Bucket", "StorageContent")
    (notification,) = [  # the other one is CloudFront's log bucket's (test_infra_audience)
        n
        for n in default_stack.resources("Custom::S3BucketNotifications").values()
        if n["Properties"]["BucketName"] == {"Ref": content_id}
    ]
    configuration = notification["Properties"]["NotificationConfiguration"]
    queue_configs = configuration["QueueConfigurations"]
    assert sorted(c["Events"][0] for c in queue_configs) == [
        "s3:ObjectCreated:*",
        "s3:ObjectRemoved:*",
    ]
    for config in queue_configs:
        assert config["Filter"] == {
            "Key": {"FilterRules": [{"Name": "prefix", "Value": "articles/"}]}
        }
        queue_id = default_stack.logical_id("AWS::SQS::Queue", "PipelineArticleEvents")
        assert config["QueueArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert set(configuration) == {"QueueConfigurations", "LambdaFunctionConfigurations"}
    (site_changed,) = configuration["LambdaFunctionConfigurations"]  # no other destination
    assert site_changed["Filter"] == {
        "Key": {"FilterRules": [{"Name": "prefix", "Value": "site.yaml"}]}
    }


def test_index_table_on_demand_with_pitr_and_encryption(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": Match.array_with(
                [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ]
            ),
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
        },
    )
