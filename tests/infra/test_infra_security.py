"""Least privilege: no wildcard actions, writes only where each role needs them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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
    for role in ("PipelinePublishServiceRole", "PipelineReindexServiceRole"):
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
        if "s3:GetObject*" in as_list(statement["Action"])
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
