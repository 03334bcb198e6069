"""Least privilege: no wildcard actions, writes only where each role needs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.stacks import Synthesized

RESOURCE_POLICIES = ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def iam_statements(stack: Synthesized) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every statement of every identity policy: AWS::IAM::Policy and inline role policies."""
    for logical_id, policy in stack.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            yield logical_id, statement
    for logical_id, role in stack.resources("AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            for statement in inline["PolicyDocument"]["Statement"]:
                yield logical_id, statement


def is_wildcard_action(action: str) -> bool:
    """``*`` or a whole service (``s3:*``)."""
    return action == "*" or action.endswith(":*")


def test_no_identity_policy_grants_a_wildcard_action(
    default_stack: Synthesized, full_stack: Synthesized
) -> None:
    for stack in (default_stack, full_stack):
        statements = list(iam_statements(stack))
        assert statements, "the stack has IAM policies"
        for logical_id, statement in statements:
            assert "NotAction" not in statement, logical_id
            for action in as_list(statement["Action"]):
                assert not is_wildcard_action(action), f"{logical_id}: {action}"


def test_resource_policies_use_wildcard_actions_only_to_deny(
    default_stack: Synthesized, full_stack: Synthesized
) -> None:
    for stack in (default_stack, full_stack):
        for resource_type in RESOURCE_POLICIES:
            for logical_id, policy in stack.resources(resource_type).items():
                for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                    if statement["Effect"] == "Allow":
                        for action in as_list(statement["Action"]):
                            assert not is_wildcard_action(action), f"{logical_id}: {action}"


def role_statements(stack: Synthesized, role_prefix: str) -> list[dict[str, Any]]:
    role_id = stack.logical_id("AWS::IAM::Role", role_prefix)
    return [
        statement
        for policy in stack.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def object_resources(statement: dict[str, Any], bucket_id: str) -> list[str]:
    """The object-key patterns (``/articles/*``) a statement grants in one bucket."""
    patterns = []
    for resource in as_list(statement["Resource"]):
        join = resource.get("Fn::Join") if isinstance(resource, dict) else None
        if join and join[1][0] == {"Fn::GetAtt": [bucket_id, "Arn"]}:
            patterns.append(join[1][1])
    return patterns


def test_functions_write_content_bucket_only_under_reports(default_stack: Synthesized) -> None:
    content_id = default_stack.logical_id("AWS::S3::Bucket", "StorageContent")
    for role in ("PipelinePublishServiceRole", "PipelineReindexIndexServiceRole"):
        writes = [
            pattern
            for statement in role_statements(default_stack, role)
            if any(a.startswith(("s3:Put", "s3:Delete")) for a in as_list(statement["Action"]))
            for pattern in object_resources(statement, content_id)
        ]
        assert writes == ["/_reports/*"], role
        # No write on the bucket ARN itself either (bucket configuration).
        for statement in role_statements(default_stack, role):
            if any(a.startswith(("s3:Put", "s3:Delete")) for a in as_list(statement["Action"])):
                assert {"Fn::GetAtt": [content_id, "Arn"]} not in as_list(statement["Resource"])


def test_functions_read_only_articles_and_site_config(default_stack: Synthesized) -> None:
    content_id = default_stack.logical_id("AWS::S3::Bucket", "StorageContent")
    reads = [
        pattern
        for statement in role_statements(default_stack, "PipelinePublishServiceRole")
        if "s3:GetObject" in as_list(statement["Action"])
        for pattern in object_resources(statement, content_id)
    ]
    assert sorted(reads) == ["/articles/*", "/site.yaml"]


def test_every_checkov_suppression_gives_a_reason(
    default_stack: Synthesized, full_stack: Synthesized
) -> None:
    for stack in (default_stack, full_stack):
        for logical_id, resource in stack.json["Resources"].items():
            skips = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
            for skip in skips:
                assert skip["id"].startswith(("CKV_", "CKV2_")), logical_id
                assert len(skip["comment"]) > 20, f"{logical_id} {skip['id']}"


def granted(stack: Synthesized, role_prefix: str) -> dict[str, set[str]]:
    """What a role may do, by target: ``feeds``, ``feeds/*``, ``content/_reports/*``, ``table``."""
    targets = {
        stack.logical_id("AWS::S3::Bucket", "StorageContent"): "content",
        stack.logical_id("AWS::S3::Bucket", "StorageFeeds"): "feeds",
        stack.logical_id("AWS::DynamoDB::Table", "StorageIndex"): "table",
        stack.logical_id("AWS::SQS::Queue", "PipelineArticleEvents"): "queue",
    }
    found: dict[str, set[str]] = {}
    for statement in role_statements(stack, role_prefix):
        assert statement["Effect"] == "Allow"
        for resource in as_list(statement["Resource"]):
            if not isinstance(resource, dict):
                continue  # X-Ray's "*": Lambda's active tracing, not storage
            if "Fn::GetAtt" in resource:
                target = targets[resource["Fn::GetAtt"][0]]
            else:
                bucket, suffix = resource["Fn::Join"][1]
                target = targets[bucket["Fn::GetAtt"][0]] + suffix
            found.setdefault(target, set()).update(as_list(statement["Action"]))
    return found


ITEMS = {
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    # A waiting article's transaction checks the id is still held (ConditionCheck).
    "dynamodb:ConditionCheckItem",
}


#: What Lambda's SQS poller calls for the publish function (CDK's event source grant).
CONSUME = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
}


@pytest.mark.parametrize(
    ("role", "table_actions", "queue_actions"),
    [
        ("PipelinePublishServiceRole", ITEMS, CONSUME),
        ("PipelineScheduleServiceRole", ITEMS, None),
        # The reindex's first and plan steps read every index state: a scan.
        ("PipelineReindexBeginServiceRole", ITEMS | {"dynamodb:Scan"}, None),
        ("PipelineReindexIndexServiceRole", ITEMS, None),
        ("PipelineReindexRenderServiceRole", ITEMS, None),
        ("PipelineReindexDirectoryServiceRole", ITEMS, None),
    ],
)
def test_each_function_may_call_only_what_its_code_calls(
    default_stack: Synthesized,
    role: str,
    table_actions: set[str],
    queue_actions: set[str] | None,
) -> None:
    expected = {
        # HeadObject and GetObject; ListBucket makes a missing key a 404, not a 403.
        "content": {"s3:ListBucket"},
        "content/articles/*": {"s3:GetObject"},
        "content/site.yaml": {"s3:GetObject"},
        "content/_reports/*": {"s3:PutObject", "s3:DeleteObject"},
        "feeds": {"s3:ListBucket"},
        "feeds/*": {"s3:GetObject", "s3:PutObject"},
        "table": table_actions,
    }
    if queue_actions:
        expected["queue"] = queue_actions
    if role == "PipelineReindexRenderServiceRole":  # a partner taken out of site.yaml
        expected["feeds/partners/*/rss.xml"] = {"s3:DeleteObject"}
        expected["content/_reindex/*"] = {"s3:PutObject"}  # its directory listings
    if role == "PipelineReindexDirectoryServiceRole":  # the render groups' listings
        expected["content/_reindex/*"] = {"s3:GetObject"}
    assert granted(default_stack, role) == expected


def test_no_role_may_delete_or_lock_feeds_but_render_a_disabled_partners(
    default_stack: Synthesized,
) -> None:
    feeds_id = default_stack.logical_id("AWS::S3::Bucket", "StorageFeeds")
    render = "PipelineReindexRenderServiceRole"
    for logical_id, statement in iam_statements(default_stack):
        targets = json.dumps(statement["Resource"])
        if feeds_id not in targets:
            continue
        for action in as_list(statement["Action"]):
            if action.startswith("s3:Delete"):
                assert logical_id.startswith(render), f"{logical_id}: {action}"
                assert not isinstance(statement["Resource"], list), targets
                assert targets.endswith('"/partners/*/rss.xml"]]}'), targets
            assert "Retention" not in action and "LegalHold" not in action, logical_id
            assert "Lock" not in action, logical_id


def test_queue_accepts_only_this_accounts_content_bucket(default_stack: Synthesized) -> None:
    queue_id = default_stack.logical_id("AWS::SQS::Queue", "PipelineArticleEvents")
    content_id = default_stack.logical_id("AWS::S3::Bucket", "StorageContent")
    (policy,) = [
        p["Properties"]["PolicyDocument"]
        for p in default_stack.resources("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    ]
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [content_id, "Arn"]}},
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    }
