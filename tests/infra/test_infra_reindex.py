"""The reindex fanned out on Step Functions, and the site.yaml upload that starts it."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from newswire_infra import monitoring, reindex

from newswire import deployed, runtime
from newswire.handlers import site_changed
from tests.infra.stacks import Synthesized

STEPS = {
    "Begin": "newswire.handlers.reindex.begin",
    "Index": "newswire.handlers.reindex.index",
    "Plan": "newswire.handlers.reindex.plan",
    "Render": "newswire.handlers.reindex.render",
    "Directory": "newswire.handlers.reindex.directory",
}
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


def token(value: Any) -> str:
    """A readable stand-in for a CloudFormation reference inside the definition string."""
    if value == {"Ref": "AWS::Partition"}:
        return "aws"
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    return json.dumps(value)  # e.g. the state machine's name cut out of its ARN


def definition(stack: Synthesized) -> dict[str, Any]:
    """The state machine's definition, references written as ``<LogicalId[.Attribute]>``."""
    props = stack.properties("AWS::StepFunctions::StateMachine", "ReindexStateMachine")
    parts = props["DefinitionString"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else token(part) for part in parts)
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def function_ref(stack: Synthesized, step: str) -> str:
    return f"<{stack.logical_id('AWS::Lambda::Function', f'PipelineReindex{step}')}.Arn>"


def invokes(task: dict[str, Any]) -> str:
    assert task["Type"] == "Task"
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    return str(task["Parameters"]["FunctionName"])


def test_phases_run_begin_index_plan_render_directory_in_order(
    default_stack: Synthesized,
) -> None:
    machine = definition(default_stack)
    order = [machine["StartAt"]]
    while "Next" in machine["States"][order[-1]]:
        order.append(machine["States"][order[-1]]["Next"])
    assert order == [*(phase.value for phase in deployed.ReindexPhase), "Done"]
    assert order[-3:] == ["RenderFeeds", "WriteDirectory", "Done"]
    assert machine["States"]["Done"]["Type"] == "Succeed"
    assert machine["TimeoutSeconds"] == 3600
    assert invokes(machine["States"]["Begin"]) == function_ref(default_stack, "Begin")
    plan = machine["States"]["Plan"]
    assert invokes(plan) == function_ref(default_stack, "Plan")
    assert plan["Parameters"]["Payload"] == {"execution.$": "$$.Execution.Name"}
    assert plan["OutputPath"] == "$.Payload"  # {"Bucket", "Key"} for the render map's reader


def test_the_directory_is_written_once_after_the_render_map_from_its_listings(
    default_stack: Synthesized,
) -> None:
    """Render groups leave the feed directory alone (they would all race for its three
    objects); one step after the map writes it, told the run so it finds the listings."""
    states = definition(default_stack)["States"]
    assert states["RenderFeeds"]["Next"] == "WriteDirectory"
    step = states["WriteDirectory"]
    assert invokes(step) == function_ref(default_stack, "Directory")
    assert step["Parameters"]["Payload"] == {"execution.$": "$$.Execution.Name"}
    assert step["ResultPath"] is None
    assert step["Next"] == "Done"
    race = [r for r in step["Retry"] if r["ErrorEquals"] == ["ConcurrentUpdateError"]]
    assert race and race[0]["MaxAttempts"] >= 2  # a publish may win the directory meanwhile


def test_index_map_reads_the_article_listing_in_batches_with_bounded_concurrency(
    default_stack: Synthesized,
) -> None:
    index = definition(default_stack)["States"]["IndexArticles"]
    content = default_stack.logical_id("AWS::S3::Bucket", "StorageContent")
    assert index["Type"] == "Map"
    assert index["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": f"<{content}>", "Prefix": "articles/"},
    }
    assert index["ItemBatcher"] == {"MaxItemsPerBatch": reindex.INDEX_BATCH}
    assert index["MaxConcurrency"] == reindex.MAP_CONCURRENCY
    assert index["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "EXPRESS",
    }
    (task,) = index["ItemProcessor"]["States"].values()
    assert invokes(task) == function_ref(default_stack, "Index")
    assert task["Parameters"]["Payload.$"] == "$"  # the batch, {"Items": [...]}
    # No tolerated failures (AWS's default): one failed batch fails the run.
    assert not {k for k in index if k.startswith("ToleratedFailure")}


def test_render_map_reads_the_plans_feed_list_in_batches(default_stack: Synthesized) -> None:
    render = definition(default_stack)["States"]["RenderFeeds"]
    assert render["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket.$": "$.Bucket", "Key.$": "$.Key"},
    }
    assert render["ItemBatcher"] == {"MaxItemsPerBatch": reindex.RENDER_BATCH}
    assert render["MaxConcurrency"] == reindex.MAP_CONCURRENCY
    assert render["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] == "EXPRESS"
    (task,) = render["ItemProcessor"]["States"].values()
    assert invokes(task) == function_ref(default_stack, "Render")
    assert not {k for k in render if k.startswith("ToleratedFailure")}


def test_maps_keep_no_results_in_the_state(default_stack: Synthesized) -> None:
    """A map's results of 100,000 articles would pass the 256 KiB state limit."""
    states = definition(default_stack)["States"]
    assert states["IndexArticles"]["ResultPath"] is None
    assert states["RenderFeeds"]["ResultPath"] is None


def test_every_step_retries_lambda_service_errors_with_jittered_backoff(
    default_stack: Synthesized,
) -> None:
    states = definition(default_stack)["States"]
    tasks = [states["Begin"], states["Plan"], states["WriteDirectory"]] + [
        task
        for name in ("IndexArticles", "RenderFeeds")
        for task in states[name]["ItemProcessor"]["States"].values()
    ]
    for task in tasks:
        service, transient, race = task["Retry"]
        assert set(service["ErrorEquals"]) >= LAMBDA_SERVICE_ERRORS
        assert service["BackoffRate"] == 2 and service["JitterStrategy"] == "FULL"
        assert service["MaxAttempts"] >= 3
        assert transient["ErrorEquals"] == ["TransientStorageError"]
        assert race["ErrorEquals"] == ["ConcurrentUpdateError"]
        assert race["MaxAttempts"] >= 2 and race["JitterStrategy"] == "FULL"
        assert "States.ALL" not in json.dumps(task["Retry"])  # a bad article is no retry


def test_engine_and_infra_agree_on_batches_and_concurrency() -> None:
    if importlib.util.find_spec("newswire.pipeline.reindex") is None:
        pytest.skip("newswire.pipeline.reindex (the engine) is not on this branch yet")
    from newswire.pipeline import reindex as engine  # type: ignore[attr-defined]

    assert (engine.INDEX_BATCH, engine.RENDER_BATCH, engine.MAP_CONCURRENCY) == (
        reindex.INDEX_BATCH,
        reindex.RENDER_BATCH,
        reindex.MAP_CONCURRENCY,
    )


def test_state_machine_is_standard_with_error_logs_and_tracing(template: Template) -> None:
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": {
                "Level": "ERROR",
                "Destinations": [
                    {
                        "CloudWatchLogsLogGroup": {
                            "LogGroupArn": {
                                "Fn::GetAtt": [Match.string_like_regexp("^ReindexLogs"), "Arn"]
                            }
                        }
                    }
                ],
            },
        },
    )


@pytest.mark.parametrize(("step", "handler"), STEPS.items())
def test_each_step_fits_the_limits_of_one_invocation(
    default_stack: Synthesized, template: Template, step: str, handler: str
) -> None:
    props = default_stack.properties("AWS::Lambda::Function", f"PipelineReindex{step}")
    assert props["Handler"] == handler
    assert props["Timeout"] <= 5 * 60
    assert props["MemorySize"] <= 1024
    if step in ("Index", "Render"):  # inside an EXPRESS child (5 min), a retry must fit
        assert 2 * props["Timeout"] <= 5 * 60
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": Match.string_like_regexp(f"^PipelineReindex{step}")},
            "MaximumRetryAttempts": 0,
        },
    )


def policy_statements(stack: Synthesized, prefix: str) -> list[dict[str, Any]]:
    return [
        statement
        for logical_id, policy in stack.resources("AWS::IAM::Policy").items()
        if logical_id.startswith(prefix)
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def readable(resource: Any) -> str:
    """``<Logical.Arn>/suffix`` for a Join of an ARN and a suffix, ``<Logical>`` for a Ref."""
    if isinstance(resource, str):
        return resource
    if "Fn::Join" in resource:
        return "".join(p if isinstance(p, str) else token(p) for p in resource["Fn::Join"][1])
    return token(resource)


def grants(stack: Synthesized, prefix: str) -> dict[str, set[str]]:
    """Actions by resource, for every policy whose logical id starts with ``prefix``."""
    found: dict[str, set[str]] = {}
    for statement in policy_statements(stack, prefix):
        assert statement["Effect"] == "Allow"
        for resource in as_list(statement["Resource"]):
            found.setdefault(readable(resource), set()).update(as_list(statement["Action"]))
    return found


def test_state_machine_may_invoke_its_steps_list_articles_and_read_feed_lists(
    default_stack: Synthesized,
) -> None:
    content = default_stack.logical_id("AWS::S3::Bucket", "StorageContent")
    granted = grants(default_stack, "ReindexStateMachineRoleDefaultPolicy")
    logs_and_xray = granted.pop("*")  # log delivery and X-Ray: CDK's, resource-less by AWS
    assert {a.split(":")[0] for a in logs_and_xray} == {"logs", "xray"}
    expected = {
        f"<{content}.Arn>": {"s3:ListBucket"},
        f"<{content}.Arn>/_reindex/*": {"s3:GetObject"},
    }
    for step in STEPS:
        function = function_ref(default_stack, step)
        expected[function] = expected[f"{function}:*"] = {"lambda:InvokeFunction"}
    assert granted == expected


def test_state_machine_may_run_its_own_map_children_only(default_stack: Synthesized) -> None:
    machine = default_stack.logical_id("AWS::StepFunctions::StateMachine", "ReindexStateMachine")
    granted = grants(default_stack, "ReindexStateMachineDistributedMapPolicy")
    assert granted.pop(f"<{machine}>") == {"states:StartExecution"}
    for resource, actions in granted.items():
        assert machine in resource and ":execution:" in resource, resource
        assert actions <= {
            "states:DescribeExecution",
            "states:StopExecution",
            "states:RedriveExecution",
        }


def test_plan_and_render_write_the_runs_files_and_the_directory_step_reads_them(
    default_stack: Synthesized,
) -> None:
    content = default_stack.logical_id("AWS::S3::Bucket", "StorageContent")
    expected = {"Plan": {"s3:PutObject"}, "Render": {"s3:PutObject"}, "Directory": {"s3:GetObject"}}
    for step in STEPS:
        granted = grants(default_stack, f"PipelineReindex{step}ServiceRole")
        found = granted.get(f"<{content}.Arn>/_reindex/*", set())
        assert found == expected.get(step, set()), step


def test_site_yaml_uploads_invoke_the_site_changed_function(
    default_stack: Synthesized, template: Template
) -> None:
    function = default_stack.logical_id("AWS::Lambda::Function", "PipelineSiteChanged")
    content = default_stack.logical_id("AWS::S3::Bucket", "StorageContent")
    (notification,) = [
        n
        for n in default_stack.resources("Custom::S3BucketNotifications").values()
        if n["Properties"]["BucketName"] == {"Ref": content}
    ]
    (config,) = notification["Properties"]["NotificationConfiguration"][
        "LambdaFunctionConfigurations"
    ]
    assert config == {
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "site.yaml"}]}},
        "LambdaFunctionArn": {"Fn::GetAtt": [function, "Arn"]},
    }
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [function, "Arn"]},
            "Principal": "s3.amazonaws.com",
            "SourceAccount": {"Ref": "AWS::AccountId"},
            "SourceArn": {"Fn::GetAtt": [content, "Arn"]},
        },
    )
    props = default_stack.properties("AWS::Lambda::Function", "PipelineSiteChanged")
    assert props["Handler"] == "newswire.handlers.site_changed.handler"
    machine = default_stack.logical_id("AWS::StepFunctions::StateMachine", "ReindexStateMachine")
    variables = props["Environment"]["Variables"]
    assert variables[runtime.STATE_MACHINE_VARIABLE] == {"Ref": machine}


def test_site_changed_may_read_site_yaml_report_it_and_start_the_reindex_only(
    default_stack: Synthesized,
) -> None:
    content = default_stack.logical_id("AWS::S3::Bucket", "StorageContent")
    machine = default_stack.logical_id("AWS::StepFunctions::StateMachine", "ReindexStateMachine")
    granted = grants(default_stack, "PipelineSiteChangedServiceRole")
    granted.pop("*")  # X-Ray
    assert granted == {
        f"<{content}.Arn>": {"s3:ListBucket"},
        f"<{content}.Arn>/site.yaml": {"s3:GetObject"},
        f"<{content}.Arn>/_reports/site.yaml.json": {"s3:PutObject", "s3:DeleteObject"},
        f"<{machine}>": {"states:StartExecution", "states:ListExecutions"},
    }


def test_alarm_on_failed_or_timed_out_runs(default_stack: Synthesized) -> None:
    machine = default_stack.logical_id("AWS::StepFunctions::StateMachine", "ReindexStateMachine")
    props = default_stack.properties("AWS::CloudWatch::Alarm", "MonitoringReindexFailed")
    assert props["Threshold"] == 0 and props["ComparisonOperator"] == "GreaterThanThreshold"
    (expression,) = [m for m in props["Metrics"] if "Expression" in m]
    inputs = [m for m in props["Metrics"] if "MetricStat" in m]
    assert all(m["ReturnData"] is False for m in inputs)  # the sum alone is alarmed on
    stats = {m["Id"]: m["MetricStat"] for m in inputs}
    assert {s["Metric"]["MetricName"] for s in stats.values()} == {
        "ExecutionsFailed",
        "ExecutionsTimedOut",
    }
    for stat in stats.values():
        assert stat["Metric"]["Namespace"] == "AWS/States" and stat["Stat"] == "Sum"
        assert stat["Metric"]["Dimensions"] == [
            {"Name": "StateMachineArn", "Value": {"Ref": machine}}
        ]
    # a period with failures and no time-outs (no data points) must still breach
    for metric_id in stats:
        assert f"FILL({metric_id}, 0)" in expression["Expression"]


def test_alarm_on_a_rejected_site_yaml(template: Template) -> None:
    assert monitoring.SITE_CONFIG_REJECTED == site_changed.SITE_REJECTED
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "Newswire",
            "MetricName": "SiteConfigRejected",
            "Statistic": "Sum",
            "Threshold": 0,
            "Dimensions": [{"Name": "service", "Value": "newswire"}],
        },
    )


def test_output_names_the_state_machine_for_make_reindex(
    default_stack: Synthesized, template: Template
) -> None:
    machine = default_stack.logical_id("AWS::StepFunctions::StateMachine", "ReindexStateMachine")
    template.has_output(deployed.REINDEX_OUTPUT, {"Value": {"Ref": machine}})
