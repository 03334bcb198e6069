"""Alarms on what needs a person: stuck messages, failing functions, rejected articles."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from newswire.handlers.site_changed import SITE_REJECTED
from newswire_infra.audience import Audience
from newswire_infra.checkov import skip_checks
from newswire_infra.feed_function import METRICS_NAMESPACE, SERVICE_NAME
from newswire_infra.pipeline import Pipeline
from newswire_infra.reindex import Reindex

#: Emitted by the publish handler (Powertools metrics) for each article it refuses to publish.
ARTICLES_REJECTED = "ArticlesRejected"
#: Emitted by the site-changed handler for an uploaded ``site.yaml`` it refuses.
SITE_CONFIG_REJECTED = SITE_REJECTED
PERIOD = Duration.minutes(5)
#: Every alarm's description ends with where its runbook entry is: the notice an operator gets
#: says what to do next.
RUNBOOK = "infra/README.md, section Runbook"


class Monitoring(Construct):
    """One alarm per failure a person must look at, each firing on the first occurrence.

    - a message in the dead-letter queue: an article event failed five times;
    - a message in the audience's dead-letter queue: a log file or a daily rollup failed every
      retry, so a day's counts miss it (a count, not a feed: one notice, no emergency);
    - an error of a pipeline function (the reindex's steps excepted: they fail their run);
    - a reindex run failed or timed out;
    - ``ArticlesRejected`` > 0: an article was refused (its report is under ``_reports/``);
    - ``SiteConfigRejected`` > 0: an uploaded ``site.yaml`` was refused (nothing started).

    Missing data counts as fine (no traffic, no problem). With ``alarm_email``, the alarms
    notify an SNS topic with that address subscribed (the address must confirm once).

    Args:
        scope: parent construct.
        construct_id: construct id.
        pipeline: the queue and functions to watch.
        reindex: the reindex state machine to watch.
        audience: the audience functions' dead-letter queue to watch.
        alarm_email: optional address to notify.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: Pipeline,
        reindex: Reindex,
        audience: Audience,
        alarm_email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarms: list[cloudwatch.Alarm] = []

        self._alarm(
            "DeadLetters",
            pipeline.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            "Article events in the dead-letter queue: they failed every retry.",
        )
        self._alarm(
            "AudienceDeadLetters",
            audience.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            "A CloudFront log file or a daily audience rollup failed every retry: subscriber "
            "counts miss it until it is processed again.",
        )
        for function in pipeline.alarmed_functions:
            self._alarm(
                f"{function.node.id}Errors",
                function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                f"The {function.node.id.lower()} function failed.",
            )
        self._alarm(
            ARTICLES_REJECTED,
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=ARTICLES_REJECTED,
                dimensions_map={"service": SERVICE_NAME},
                period=PERIOD,
                statistic=cloudwatch.Stats.SUM,
            ),
            "Articles were rejected; see the reports under _reports/ in the content bucket.",
        )
        self._alarm(
            SITE_CONFIG_REJECTED,
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=SITE_CONFIG_REJECTED,
                dimensions_map={"service": SERVICE_NAME},
                period=PERIOD,
                statistic=cloudwatch.Stats.SUM,
            ),
            "An uploaded site.yaml was refused and no reindex started; see "
            "_reports/site.yaml.json in the content bucket.",
        )
        machine = reindex.state_machine
        self._alarm(
            "ReindexFailed",
            cloudwatch.MathExpression(
                expression="FILL(failed, 0) + FILL(timedOut, 0)",  # either alone is a failure
                using_metrics={
                    "failed": machine.metric_failed(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                    "timedOut": machine.metric_timed_out(
                        period=PERIOD, statistic=cloudwatch.Stats.SUM
                    ),
                },
                label="Reindex runs failed or timed out",
                period=PERIOD,
            ),
            "A reindex run failed or timed out.",
        )

        self.topic: sns.Topic | None = None
        if alarm_email:
            self.topic = sns.Topic(self, "AlarmTopic", display_name="newswire alarms")
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
            skip_checks(
                self.topic,
                {
                    "CKV_AWS_26": "Alarm notices carry no data beyond the alarm's name; CloudWatch "
                    "cannot publish to a topic under the AWS-managed SNS key, and a customer key "
                    "costs more than the notices are worth protecting.",
                },
            )
            action = cloudwatch_actions.SnsAction(self.topic)
            for alarm in self.alarms:
                alarm.add_alarm_action(action)

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
        self.alarms.append(
            cloudwatch.Alarm(
                self,
                construct_id,
                metric=metric,
                alarm_description=f"{description} What to do: {RUNBOOK}, {construct_id}.",
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
