"""Reindex handler: rebuild the index and every feed from the content bucket.

Trigger:
    Invoked on demand (``aws lambda invoke``, a deploy step, or an operator) after ``site.yaml``
    changed or to recover from lost events. The event's content is ignored. The content bucket
    is the source of truth: every article is read and validated again, index entries whose
    article is gone are removed, and every feed is re-rendered (unchanged feeds are not
    rewritten). Storage failures raise; running it again is safe. Without ``site.yaml`` in the
    content bucket (a fresh deploy) it does nothing, logs a warning and says why in ``skipped``.

Environment:
    CONTENT_BUCKET: the content bucket (articles, ``site.yaml``, ``_reports/``).
    FEEDS_BUCKET: the bucket feeds are written to.
    INDEX_TABLE: the DynamoDB article index.
    SITE_CONFIG_KEY: optional, the site configuration's key (default ``site.yaml``).
    POWERTOOLS_METRICS_NAMESPACE: optional, CloudWatch namespace (default ``Newswire``).
    POWERTOOLS_LOG_LEVEL, POWERTOOLS_TRACE_DISABLED: optional, the usual Powertools switches.

Returns ``{"articles": n, "rejected": [message, ...], "feeds_written": n}`` (and
``"skipped": message`` when nothing was done); metrics (unit Count): ``ArticlesIndexed``,
``ArticlesRejected``, ``FeedsWritten``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from newswire.handlers.observability import (
    FEEDS_WRITTEN,
    INDEXED,
    REJECTED,
    add_counts,
    log_announced,
    log_rejected,
    logger,
    metrics,
    tracer,
)
from newswire.runtime import SiteConfigMissingError, publisher_from_env

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Rebuild everything; return a JSON summary."""
    try:
        publisher = publisher_from_env()
    except SiteConfigMissingError as e:
        logger.warning("no site configuration yet: nothing to reindex", extra={"error": str(e)})
        add_counts({INDEXED: 0, REJECTED: 0, FEEDS_WRITTEN: 0})
        return {"articles": 0, "rejected": [], "feeds_written": 0, "skipped": str(e)}
    report = publisher.reindex()
    log_announced(publisher)
    for error in report.rejected:
        log_rejected(error)
    add_counts(
        {
            INDEXED: report.articles,
            REJECTED: len(report.rejected),
            FEEDS_WRITTEN: report.feeds_written,
        }
    )
    summary = {
        "articles": report.articles,
        "rejected": [str(error) for error in report.rejected],
        "feeds_written": report.feeds_written,
    }
    logger.info("reindex done", extra=summary)
    return summary
