"""Queue, dead-letter queue, functions and the event source between them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from newswire_infra import NewswireStack, pipeline

from newswire.adapters import aws_errors, websub
from newswire.handlers import budget
from tests.infra.stacks import Synthesized

PUBLISH = "newswire.handlers.publish.handler"
REINDEX = "newswire.handlers.reindex.index"
SCHEDULE = "newswire.handlers.schedule.handler"


def function(stack: Synthesized, handler: str) -> dict[str, Any]:
    props: dict[str, Any]
    (props,) = [
        f["Properties"]
        for f in stack.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == handler
    ]
    return props


def test_queue_is_encrypted_with_dead_letter_queue_after_five_receives(
    default_stack: Synthesized,
) -> None:
    queue = default_stack.properties("AWS::SQS::Queue", "PipelineArticleEvents")
    dlq_id = default_stack.logical_id("AWS::SQS::Queue", "PipelineDeadLetterQueue")
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 10,
    }


def test_dead_letter_queue_keeps_messages_14_days_encrypted(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {"MessageRetentionPeriod": 14 * 24 * 3600, "SqsManagedSseEnabled": True},
    )


def test_publish_timeout_covers_a_batch_and_slow_hubs(default_stack: Synthesized) -> None:
    batch_size = default_stack.properties("AWS::Lambda::EventSourceMapping", "PipelinePublish")[
        "BatchSize"
    ]
    timeout = function(default_stack, PUBLISH)["Timeout"]
    # the figures the code keeps to, not copies of them
    assert pipeline.RECORD_BUDGET.to_seconds() == budget.RECORD_DEADLINE_SECONDS
    assert pipeline.HUB_WORST_CASE_SECONDS == websub.DEADLINE >= websub.HUB_WORST_CASE_SECONDS
    # every record at its deadline, then the call under way at the last one's, then the hubs
    assert timeout >= batch_size * budget.RECORD_DEADLINE_SECONDS + budget.RESERVE_SECONDS
    assert budget.RESERVE_SECONDS == (
        budget.RECORD_DEADLINE_SECONDS
        + aws_errors.SDK_CALL_WORST_CASE_SECONDS
        + budget.UNBOUNDED_WORK_SECONDS
        + websub.HUB_WORST_CASE_SECONDS
    )


def test_visibility_timeout_is_six_publish_timeouts(default_stack: Synthesized) -> None:
    queue = default_stack.properties("AWS::SQS::Queue", "PipelineArticleEvents")
    publish = function(default_stack, PUBLISH)
    assert queue["VisibilityTimeout"] == 6 * publish["Timeout"]


@pytest.mark.parametrize("handler", [PUBLISH, REINDEX])
def test_function_runs_python_312_on_arm64_with_tracing_and_json_logs(
    template: Template, handler: str
) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": handler,
            "Runtime": "python3.12",
            "Architectures": ["arm64"],
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": Match.object_like({"LogFormat": "JSON"}),
            "Layers": [{"Ref": Match.string_like_regexp("^PipelineDependencies")}],
        },
    )


@pytest.mark.parametrize("handler", [PUBLISH, REINDEX])
def test_function_finds_storage_and_powertools_settings_in_env(
    default_stack: Synthesized, handler: str
) -> None:
    variables = function(default_stack, handler)["Environment"]["Variables"]
    assert variables == {
        "CONTENT_BUCKET": {"Ref": default_stack.logical_id("AWS::S3::Bucket", "StorageContent")},
        "FEEDS_BUCKET": {"Ref": default_stack.logical_id("AWS::S3::Bucket", "StorageFeeds")},
        "INDEX_TABLE": {"Ref": default_stack.logical_id("AWS::DynamoDB::Table", "StorageIndex")},
        "SITE_CONFIG_KEY": "site.yaml",
        "POWERTOOLS_SERVICE_NAME": "newswire",
        "POWERTOOLS_METRICS_NAMESPACE": "Newswire",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


@pytest.mark.parametrize("handler", [PUBLISH, REINDEX])
def test_function_logs_go_to_a_log_group_with_retention(
    default_stack: Synthesized, handler: str
) -> None:
    log_group_ref = function(default_stack, handler)["LoggingConfig"]["LogGroup"]
    log_group = default_stack.json["Resources"][log_group_ref["Ref"]]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == 365


def test_publish_consumes_queue_with_partial_batch_responses(
    default_stack: Synthesized, template: Template
) -> None:
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {
                "Fn::GetAtt": [
                    default_stack.logical_id("AWS::SQS::Queue", "PipelineArticleEvents"),
                    "Arn",
                ]
            },
            "FunctionName": {"Ref": Match.string_like_regexp("^PipelinePublish")},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": 10,
            "MaximumBatchingWindowInSeconds": 5,
            "ScalingConfig": {"MaximumConcurrency": 2},
        },
    )
    template.resource_count_is("AWS::Lambda::EventSourceMapping", 1)


def test_layer_is_for_python_312_arm64(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.12"], "CompatibleArchitectures": ["arm64"]},
    )


def test_code_asset_is_the_newswire_package_without_caches(default_stack: Synthesized) -> None:
    s3_key = function(default_stack, PUBLISH)["Code"]["S3Key"]
    asset = default_stack.outdir / f"asset.{s3_key.removesuffix('.zip')}"
    top_level = {p.name for p in asset.iterdir()}
    assert "newswire" in top_level
    assert (asset / "newswire" / "__init__.py").is_file()
    assert not any(name.endswith(".egg-info") for name in top_level)
    leftovers = [p for p in asset.rglob("*") if p.name == "__pycache__" or p.suffix == ".pyc"]
    assert leftovers == []


def test_scheduled_articles_are_published_every_minute(
    default_stack: Synthesized, template: Template
) -> None:
    schedule = function(default_stack, SCHEDULE)
    assert schedule["Timeout"] <= 60
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(1 minute)",
            "State": "ENABLED",
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {
                            "Fn::GetAtt": [Match.string_like_regexp("^PipelineSchedule"), "Arn"]
                        },
                        "RetryPolicy": {"MaximumRetryAttempts": 0},
                    }
                )
            ],
        },
    )


def test_every_function_shares_one_code_asset(default_stack: Synthesized) -> None:
    keys = {function(default_stack, h)["Code"]["S3Key"] for h in (PUBLISH, REINDEX, SCHEDULE)}
    assert len(keys) == 1


def test_stack_refuses_a_layer_folder_without_python(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="build_layer"):
        NewswireStack(cdk.App(), "Newswire", layer_dir=tmp_path)
