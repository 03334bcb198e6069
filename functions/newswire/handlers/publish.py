"""Publish handler: an article was written or deleted in the content bucket, update its feeds.

Trigger:
    * SQS queue fed by the content bucket's S3 event notifications (``articles/``), with
      ``ReportBatchItemFailures``. The batch is published as one (see
      :meth:`~newswire.pipeline.publisher.Publisher.publish_batch`): every message's changes
      indexed, then each feed they touch rendered and written once. A message fails alone (AWS
      throttled or failed on its article or on a feed it touches, a write race lost too often,
      an unreadable body): it is returned in ``batchItemFailures``, retried by SQS, then lands
      in the queue's dead-letter queue (when every message failed, Powertools fails the
      invocation instead, so it shows as an error; the feeds written are announced first).
      The ``s3:TestEvent`` S3 sends when the notification is configured, and records that
      are not article changes, are skipped without reading ``site.yaml``. The batch starts
      only while the invocation has time for its worst case and for the WebSub announce
      (:mod:`newswire.handlers.budget`), and starts no AWS call past its deadline; else its
      messages are returned as failures, so a slow batch never times out whole.
    * Direct S3 event notifications or EventBridge ``Object Created`` / ``Object Deleted`` rules
      (asynchronous invoke): published the same way; a failure raises, so Lambda retries the
      event.

    While the content bucket has no ``site.yaml`` (a fresh deploy), article changes cannot be
    published but are not bad: their messages fail (one warning per invocation, no report), so
    SQS retries them and the dead-letter queue keeps them until ``site.yaml`` is uploaded; a
    direct event raises ``SiteConfigMissingError``.

    An invalid article is never a failure: retrying cannot fix it. It is logged (key, field,
    problem, expected), counted in ``ArticlesRejected`` and reported under ``_reports/`` in the
    content bucket; its last good version stays published.

Environment:
    CONTENT_BUCKET: the content bucket (articles, ``site.yaml``, ``_reports/``).
    FEEDS_BUCKET: the bucket feeds are written to.
    INDEX_TABLE: the DynamoDB article index.
    SITE_CONFIG_KEY: optional, the site configuration's key (default ``site.yaml``); read on
        every invocation, so an edit applies to the next change without a redeploy.
    POWERTOOLS_METRICS_NAMESPACE: optional, CloudWatch namespace (default ``Newswire``).
    POWERTOOLS_LOG_LEVEL, POWERTOOLS_TRACE_DISABLED: optional, the usual Powertools switches.

Metrics (per invocation, unit Count): ``ArticlesPublished``, ``ArticlesRejected``,
``FeedsWritten``.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes import SQSEvent, SQSRecord

from newswire.adapters.aws_errors import OutOfTimeError, time_limit
from newswire.handlers.budget import RECORD_DEADLINE_SECONDS, RESERVE_SECONDS
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
from newswire.pipeline.events import (
    Trigger,
    UnsupportedEventError,
    changes_from_event,
    changes_from_sqs_record,
    detect_trigger,
)
from newswire.runtime import SiteConfigMissingError, publisher_from_env

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from newswire.pipeline.changes import ArticleChange
    from newswire.pipeline.outcomes import PublishOutcome

processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Publish every article change the event carries."""
    counts: Counter[str] = Counter()
    try:
        trigger = detect_trigger(event)
        if trigger is Trigger.SQS:
            return publish_sqs_batch(event, context, counts)
        logger.set_correlation_id(_request_id(event, trigger))
        changes = changes_from_event(event)
        if not changes:  # the s3:TestEvent, a key that is not an article: site.yaml not needed
            return {"changes": []}
        # site.yaml re-read each invocation, the articles' first reads with it; clients cached
        publisher = publisher_from_env(changed=[change.key for change in changes])
        # fail (Lambda retries the event) rather than be stopped with the work half done
        with time_limit(_work_seconds(context)):
            batch = publisher.publish_batch(changes)
        counts[FEEDS_WRITTEN] += len(batch.written)
        try:  # what it wrote is told, even before Lambda retries a failed change
            outcomes = []
            for change, result in zip(changes, batch.results, strict=True):
                if isinstance(result, Exception):
                    raise result
                outcomes.append(log_outcome(change, result, counts))
        finally:
            log_announced(publisher)
        return {"changes": [{"key": o.key, "action": o.action} for o in outcomes]}
    finally:  # each metric once per invocation, zero included, so alarms see data
        add_counts({name: counts[name] for name in (PUBLISHED, REJECTED, FEEDS_WRITTEN)})


def publish_sqs_batch(
    event: dict[str, Any], context: LambdaContext, counts: Counter[str]
) -> dict[str, Any]:
    """Publish an SQS batch as one: every message's changes indexed, then each feed they
    touch rebuilt once; ``site.yaml`` is read only if a message needs it. Each message
    then succeeds or fails (is retried) on its own, reported through Powertools' partial
    batch response."""
    parsed = {record.message_id: _changes_of(record) for record in SQSEvent(event).records}
    waiting = [message_id for message_id, changes in parsed.items() if changes]
    if not waiting:
        return {"batchItemFailures": []}
    keys = [c.key for changes in parsed.values() if isinstance(changes, list) for c in changes]
    try:  # site.yaml re-read each invocation, the articles' first reads with it
        publisher = publisher_from_env(changed=keys)
    except SiteConfigMissingError as e:
        logger.warning(
            "no site configuration yet: article changes wait in the queue until it is uploaded",
            extra={"error": str(e), "waiting": len(waiting)},
        )
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in waiting]}
    if context.get_remaining_time_in_millis() < RESERVE_SECONDS * 1000:
        logger.warning(
            "batch left for SQS to deliver again: too little time left in this invocation",
            extra={"waiting": len(waiting)},
        )
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in parsed]}
    todo = [
        (message_id, change)
        for message_id, changes in parsed.items()
        if isinstance(changes, list)
        for change in changes
    ]
    with time_limit(_work_seconds(context)):
        batch = publisher.publish_batch([change for _, change in todo])
    counts[FEEDS_WRITTEN] += len(batch.written)
    settled: dict[str, list[PublishOutcome | Exception]] = {}
    for (message_id, _change), result in zip(todo, batch.results, strict=True):
        settled.setdefault(message_id, []).append(result)
    record_handler = partial(settle_sqs_record, counts, parsed, settled)
    try:  # Powertools raises when every message failed: Lambda then retries the batch
        return dict(
            process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )
        )
    finally:  # what the batch wrote is told either way (a retry writes nothing unchanged)
        log_announced(publisher)


@tracer.capture_method
def settle_sqs_record(
    counts: Counter[str],
    parsed: Mapping[str, list[ArticleChange] | UnsupportedEventError],
    settled: Mapping[str, list[PublishOutcome | Exception]],
    record: SQSRecord,
) -> None:
    """Log and count what the batch did for one SQS message (``parsed``: its changes;
    ``settled``: what each did); raising marks the message failed (retried).

    Raises:
        OutOfTimeError: the batch's deadline passed before this message's work was done:
            SQS delivers it again.
    """
    logger.set_correlation_id(record.message_id)
    try:
        changes = parsed[record.message_id]
        if isinstance(changes, UnsupportedEventError):
            raise changes
        for change, result in zip(changes, settled.get(record.message_id, []), strict=True):
            if isinstance(result, Exception):
                raise result
            log_outcome(change, result, counts)
    except OutOfTimeError as e:
        logger.warning(
            "message left for SQS to deliver again",
            extra={"error": str(e), "receive_count": record.attributes.approximate_receive_count},
        )
        raise
    except Exception:
        logger.exception(
            "message failed, SQS will retry it",
            extra={"receive_count": record.attributes.approximate_receive_count},
        )
        raise


def log_outcome(
    change: ArticleChange, outcome: PublishOutcome, counts: Counter[str]
) -> PublishOutcome:
    """Log what one change did, and count it (and so for every other article it moved: one
    woken when this one let its id go, or an id holder whose file is gone)."""
    tracer.put_annotation("article_key", change.key)
    for moved in (outcome, *outcome.others):
        if moved.error is not None:
            counts[REJECTED] += 1
            log_rejected(moved.error)
            continue
        if moved.action is PublishAction.PUBLISHED:
            counts[PUBLISHED] += 1
        details = {"deleted": change.deleted} if moved is outcome else {"moved_by": change.key}
        logger.info(
            "article change applied",
            extra={
                "key": moved.key,
                **details,
                "action": moved.action,
                "feeds_written": list(moved.feeds_written),
            },
        )
    return outcome


def _work_seconds(context: LambdaContext) -> float:
    """How long the batch may start AWS calls for: what is left of the invocation, less
    the call under way at the deadline, the work no deadline stops and the hubs."""
    left_ms: int = context.get_remaining_time_in_millis()
    return float(left_ms / 1000 - (RESERVE_SECONDS - RECORD_DEADLINE_SECONDS))


def _changes_of(record: SQSRecord) -> list[ArticleChange] | UnsupportedEventError:
    """A message's article changes, or why it cannot be read (it then fails on its own)."""
    try:
        return changes_from_sqs_record(record)
    except UnsupportedEventError as e:
        return e


def _request_id(event: dict[str, Any], trigger: Trigger) -> str | None:
    """The id that ties a direct invocation's logs to its S3 request / EventBridge event."""
    if trigger is Trigger.EVENTBRIDGE:
        return str(event.get("id", "")) or None
    records = event.get("Records") or [{}]
    request_id = records[0].get("responseElements", {}).get("x-amz-request-id")
    return str(request_id) if request_id else None
