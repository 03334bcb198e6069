"""Alarms and outputs: what an operator sees after `make deploy`."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk.assertions import Match, Template

from tests.infra.stacks import ALARM_EMAIL, BASE_URL, Synthesized

#: Dead letters (articles' and the audience's), rejected articles, a rejected site.yaml, a
#: failed reindex run, and errors of publish, schedule and site-changed.
ALARMS = 8
FIRST_OCCURRENCE = {
    "ComparisonOperator": "GreaterThanThreshold",
    "Threshold": 0,
    "EvaluationPeriods": 1,
    "TreatMissingData": "notBreaching",
}


def test_alarm_on_messages_in_the_dead_letter_queue(
    default_stack: Synthesized, template: Template
) -> None:
    dlq_id = default_stack.logical_id("AWS::SQS::Queue", "PipelineDeadLetterQueue")
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            **FIRST_OCCURRENCE,
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}],
        },
    )


def test_alarm_on_log_files_and_rollups_in_the_audience_dead_letter_queue(
    default_stack: Synthesized, template: Template
) -> None:
    dlq_id = default_stack.logical_id("AWS::SQS::Queue", "AudienceDeadLetterQueue")
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            **FIRST_OCCURRENCE,
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Statistic": "Maximum",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}],
        },
    )


def test_every_failure_of_the_audience_ends_in_its_dead_letter_queue(
    default_stack: Synthesized, template: Template
) -> None:
    """The processor's and the rollup's last failed retries, and a schedule EventBridge could
    not deliver: the alarm on that queue then covers a day whose counts went missing."""
    dlq_arn = {
        "Fn::GetAtt": [
            default_stack.logical_id("AWS::SQS::Queue", "AudienceDeadLetterQueue"),
            "Arn",
        ]
    }
    for prefix in ("PipelineAudienceProcessor", "PipelineAudienceRollup"):
        props = default_stack.properties("AWS::Lambda::Function", prefix)
        assert props["DeadLetterConfig"] == {"TargetArn": dlq_arn}, prefix
    template.has_resource_properties(
        "AWS::Events::Rule",
        {"Targets": [Match.object_like({"DeadLetterConfig": {"Arn": dlq_arn}})]},
    )


def test_alarm_on_errors_of_each_function(default_stack: Synthesized, template: Template) -> None:
    for prefix in ("PipelinePublish", "PipelineSchedule", "PipelineSiteChanged"):
        function_id = default_stack.logical_id("AWS::Lambda::Function", prefix)
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                **FIRST_OCCURRENCE,
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Statistic": "Sum",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function_id}}],
            },
        )


def test_alarm_on_rejected_articles(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            **FIRST_OCCURRENCE,
            "Namespace": "Newswire",
            "MetricName": "ArticlesRejected",
            "Statistic": "Sum",
            "Dimensions": [{"Name": "service", "Value": "newswire"}],
        },
    )


def test_the_reindex_steps_alarm_through_their_run_not_one_by_one(
    default_stack: Synthesized,
) -> None:
    """A step's error that a retry cured is no news; a run that failed is, once."""
    watched = json.dumps(default_stack.resources("AWS::CloudWatch::Alarm"))
    for step in ("Begin", "Index", "Plan", "Render"):
        function_id = default_stack.logical_id("AWS::Lambda::Function", f"PipelineReindex{step}")
        assert function_id not in watched


def test_without_alarm_email_there_is_no_topic(template: Template) -> None:
    template.resource_count_is("AWS::SNS::Topic", 0)
    template.resource_count_is("AWS::CloudWatch::Alarm", ALARMS)


def test_alarm_email_gets_every_alarm(full_stack: Synthesized) -> None:
    topic_id = full_stack.logical_id("AWS::SNS::Topic", "MonitoringAlarmTopic")
    full_stack.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": ALARM_EMAIL, "TopicArn": {"Ref": topic_id}},
    )
    alarms = full_stack.resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == ALARMS
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}], logical_id


def test_outputs_give_feed_urls_on_the_distribution(
    default_stack: Synthesized, template: Template
) -> None:
    distribution_id = default_stack.logical_id("AWS::CloudFront::Distribution", "Delivery")
    for name, file in (("Rss", "rss.xml"), ("Atom", "atom.xml"), ("Json", "feed.json")):
        template.has_output(
            f"{name}FeedUrl",
            {
                "Value": {
                    "Fn::Join": [
                        "",
                        ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}, f"/{file}"],
                    ]
                }
            },
        )


def test_outputs_name_everything_an_operator_needs(template: Template) -> None:
    for output in (
        "ContentBucketName",
        "FeedsBucketName",
        "IndexTableName",
        "QueueUrl",
        "DeadLetterQueueUrl",
        "ReindexStateMachineArn",
        "PublishFunctionName",
        "DistributionId",
        "FeedsUrl",
        "UploadContentCommand",
        "AudienceDeadLetterQueueUrl",  # the audience runbook entry's commands need these
        "AudienceProcessorFunctionName",
        "AudienceRollupFunctionName",
    ):
        template.has_output(output, Match.any_value())


def test_outputs_with_custom_domain_and_base_url(full_stack: Synthesized) -> None:
    full_stack.template.has_output("RssFeedUrl", {"Value": "https://feeds.example.com/rss.xml"})
    full_stack.template.has_output("SiteBaseUrl", {"Value": BASE_URL})
    full_stack.template.has_output("AlarmTopicArn", Match.any_value())


def runbook_entries() -> set[str]:
    """The ``### <alarm>`` headings under ``## Runbook`` in infra/README.md."""
    readme = (Path(__file__).resolve().parents[2] / "infra" / "README.md").read_text()
    runbook = readme.split("\n## Runbook\n", 1)[1].split("\n## ", 1)[0]
    return {line[4:].strip() for line in runbook.splitlines() if line.startswith("### ")}


def test_every_alarm_says_where_its_runbook_entry_is(default_stack: Synthesized) -> None:
    entries = runbook_entries()
    alarms = default_stack.resources("AWS::CloudWatch::Alarm").values()
    assert len(alarms) == ALARMS
    for alarm in alarms:
        description = alarm["Properties"]["AlarmDescription"]
        prefix = "What to do: infra/README.md, section Runbook, "
        assert prefix in description, description
        entry = description.split(prefix)[1].removesuffix(".")
        assert entry in entries, f"no runbook entry '### {entry}' in infra/README.md"
