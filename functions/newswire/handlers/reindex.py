"""Reindex handlers: the phases of :mod:`newswire.pipeline.reindex`, one Lambda each.

Trigger:
    The reindex state machine (``infra/newswire_infra/reindex.py``), started by an upload of
    ``site.yaml`` (:mod:`newswire.handlers.site_changed`), ``newswire reindex --deployed`` or
    an operator. Its steps call, in order:

    1. :func:`begin`: the event is ignored. Reads ``site.yaml`` (missing or invalid: raises,
       and the run fails with the message), removes from the index the articles whose file is
       gone. Returns ``{"removed": n}``.
    2. :func:`index`: a Distributed Map batch over the listing of ``articles/``
       (``{"Items": [{"Key": ...}, ...]}``): each article read, validated and indexed again.
       Returns ``{"articles": n, "rejected": n, "skipped": n}``.
    3. :func:`plan`: ``{"execution": name}``: writes the feeds to render, as a JSON array of
       ``{"feed": id, "execution": name}``, to ``_reindex/<name>/feeds.json`` in the content
       bucket; returns its ``{"Bucket": ..., "Key": ...}`` for the next map's item reader.
    4. :func:`render`: a Distributed Map batch of that list (``{"Items": [{"feed": id,
       "execution": name}, ...]}``): the feeds rendered and written where their bytes
       changed, all but the feed directory; the directory listings of the batch's feeds are
       written to ``_reindex/<name>/listings/<digest of the batch>.json``. Returns
       ``{"feeds_written": n}``.
    5. :func:`directory`: ``{"execution": name}``: the feed directory written once, from every
       batch's listings. Returns ``{"feeds_listed": n, "written": n}``.

    Every step is safe to run again (the state machine retries transient failures), and safe
    beside the publish function: index changes are compare-and-set, feed writes conditional.
    An invalid article is no failure: it is logged, counted and reported like in publish.

Environment:
    CONTENT_BUCKET, FEEDS_BUCKET, INDEX_TABLE, SITE_CONFIG_KEY: as for the publish function.
    POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL, POWERTOOLS_TRACE_DISABLED: optional.

Metrics (per invocation, unit Count): ``ArticlesIndexed``, ``ArticlesRejected`` (index),
``FeedsWritten`` (render, directory).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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
from newswire.pipeline import reindex as phases
from newswire.pipeline.directory import RenderedListing, decode_listings, encode_listings
from newswire.pipeline.ports import feed_digest
from newswire.runtime import Settings, aws_client, publisher_from_env

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def begin(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Check ``site.yaml`` and sweep the index of articles whose file is gone."""
    removed = phases.sweep(publisher_from_env())
    logger.info("reindex begun", extra={"removed": removed})
    return {"removed": removed}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def index(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Index again the articles of one batch of the listing."""
    keys = [str(item["Key"]) for item in event.get("Items", [])]
    counts = {INDEXED: 0, REJECTED: 0}
    try:
        report = phases.index_articles(publisher_from_env(), keys)
        for error in report.rejected:
            log_rejected(error)
        counts = {INDEXED: report.articles, REJECTED: len(report.rejected)}
        summary = {
            "articles": report.articles,
            "rejected": len(report.rejected),
            "skipped": report.skipped,
        }
        logger.info("batch indexed", extra=summary)
        return summary
    finally:
        add_counts(counts)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def plan(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """List every feed to render, for the render map to read."""
    from newswire.adapters.s3 import S3ContentStore

    settings = Settings.from_env()
    feeds = phases.feeds_to_render(publisher_from_env(settings))
    execution = str(event["execution"])
    items = [{"feed": feed_id, "execution": execution} for feed_id in feeds]
    body = json.dumps(items, separators=(",", ":"))
    bucket = settings.content_bucket
    key = S3ContentStore(aws_client("s3"), bucket).put_reindex_plan(execution, body.encode())
    logger.info("reindex planned", extra={"feeds": len(feeds), "plan": f"s3://{bucket}/{key}"})
    return {"Bucket": bucket, "Key": key}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def render(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Render and write one batch of feeds; hand their directory listings on to the
    directory step; tell the WebSub hubs what changed."""
    items = event.get("Items", [])
    feed_ids = [str(item["feed"]) for item in items]
    written = 0
    publisher = None
    try:
        settings = Settings.from_env()
        publisher = publisher_from_env(settings)
        rendered = phases.render_feeds(publisher, feed_ids)
        written = rendered.written
        if items and "execution" in items[0]:  # a plan written before the directory step
            _keep_listings(settings, str(items[0]["execution"]), feed_ids, rendered.listings)
        logger.info("feeds rendered", extra={"feeds": len(feed_ids), "written": written})
        return {"feeds_written": written}
    finally:
        if publisher is not None:  # a retry of the batch rewrites only what failed: tell now
            log_announced(publisher)
        add_counts({FEEDS_WRITTEN: written})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def directory(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Write the feed directory once, from the listings of every render batch."""
    from newswire.adapters.s3 import S3ContentStore

    settings = Settings.from_env()
    publisher = publisher_from_env(settings)
    store = S3ContentStore(aws_client("s3"), settings.content_bucket)
    keys = store.reindex_listings(str(event["execution"]))
    listings = [
        listing
        for body in publisher.pool.map(store.read_reindex_file, keys)
        for listing in decode_listings(body)
    ]
    written = 0
    try:
        written = phases.write_directory(publisher, listings)
        summary = {"feeds_listed": len(listings), "written": written}
        logger.info("feed directory written", extra=summary)
        return summary
    finally:
        add_counts({FEEDS_WRITTEN: written})


def _keep_listings(
    settings: Settings, execution: str, feed_ids: list[str], listings: Sequence[RenderedListing]
) -> None:
    """Write a batch's listings where the directory step reads them, named by the batch's
    feeds, so a batch run again replaces its own."""
    from newswire.adapters.s3 import S3ContentStore

    group = feed_digest("\n".join(feed_ids).encode())[:32]
    store = S3ContentStore(aws_client("s3"), settings.content_bucket)
    store.put_reindex_listings(execution, group, encode_listings(listings))
