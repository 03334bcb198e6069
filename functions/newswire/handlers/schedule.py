"""Schedule handler: publish the scheduled articles whose time has come.

Trigger:
    An EventBridge rule every minute (``infra/``), or the timer of ``newswire serve``. The
    event's content is ignored. Articles whose ``published`` time is now past enter their
    feeds in the order they were scheduled, each exactly once (the index's compare-and-set
    lets one run win); those whose ``expires`` time is past leave them, and tombstones older
    than 30 days leave the Atom feeds. Storage failures raise; the next minute's run picks
    up what is left.
    While the content bucket has no ``site.yaml`` (a fresh deploy) a run does nothing; it says
    so in one info line per cold start, and again only if ``site.yaml`` appears and vanishes.

Environment:
    CONTENT_BUCKET: the content bucket (articles, ``site.yaml``, ``_reports/``).
    FEEDS_BUCKET: the bucket feeds are written to.
    INDEX_TABLE: the DynamoDB article index.
    SITE_CONFIG_KEY: optional, the site configuration's key (default ``site.yaml``).
    POWERTOOLS_METRICS_NAMESPACE: optional, CloudWatch namespace (default ``Newswire``).

Returns ``{"published": [key, ...], "rejected": [message, ...]}`` (and ``"expired": [key,
...]`` when articles expired); metrics (unit Count):
``ArticlesPublished``, ``ArticlesRejected``, ``FeedsWritten``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from newswire.handlers.observability import (
    FEEDS_WRITTEN,
    PUBLISHED,
    REJECTED,
    add_counts,
    log_announced,
    log_rejected,
    logger,
    metrics,
    tracer,
)
from newswire.pipeline.changes import PublishAction
from newswire.runtime import SiteConfigMissingError, publisher_from_env

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class SiteWatch:
    """What this execution environment has said about ``site.yaml``: a missing one is worth
    one line, not one a minute."""

    def __init__(self) -> None:
        self.missing_said = False

    def missing(self, error: SiteConfigMissingError) -> None:
        """Log the missing ``site.yaml`` unless it was already said since it was last seen."""
        if not self.missing_said:
            logger.info(
                "no site configuration yet: nothing to publish", extra={"error": str(error)}
            )
            self.missing_said = True

    def found(self) -> None:
        """``site.yaml`` is there: should it vanish, say so again."""
        self.missing_said = False


#: Kept across the invocations of one execution environment (from cold start to its end).
site_watch = SiteWatch()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Publish what has come due; return a JSON summary."""
    counts = dict.fromkeys((PUBLISHED, REJECTED, FEEDS_WRITTEN), 0)
    try:
        publisher = publisher_from_env()
    except SiteConfigMissingError as e:
        site_watch.missing(e)
        add_counts(counts)
        return {"published": [], "rejected": []}
    except Exception:  # an invalid site.yaml, AWS: the run fails, its metrics still say 0
        add_counts(counts)
        raise
    site_watch.found()
    try:  # a run that fails (its feeds not all written) is finished by the next minute's
        outcomes = publisher.publish_due()
        published = [o.key for o in outcomes if o.action is PublishAction.PUBLISHED]
        expired = [o.key for o in outcomes if o.action is PublishAction.EXPIRED]
        rejected = [o.error for o in outcomes if o.error is not None]
        for error in rejected:
            log_rejected(error)
        written = sum(len(o.feeds_written) for o in outcomes)
        counts.update({PUBLISHED: len(published), REJECTED: len(rejected), FEEDS_WRITTEN: written})
    finally:  # each metric once per invocation, zero included, so alarms see data
        log_announced(publisher)
        add_counts(counts)
    summary = {"published": published, "rejected": [str(e) for e in rejected]}
    if expired:
        summary["expired"] = expired
    if published or rejected or expired:
        logger.info("scheduled articles published", extra=summary)
    return summary
