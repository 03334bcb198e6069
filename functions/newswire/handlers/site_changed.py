"""Site-changed handler: ``site.yaml`` was uploaded; validate it and start the reindex, once.

Trigger:
    The content bucket's S3 event notification for objects created under the prefix
    ``site.yaml`` (asynchronous invoke: Lambda retries a failed one twice). Other keys with
    that prefix, and the ``s3:TestEvent`` S3 sends when the notification is set up, are
    ignored. A site change touches every feed and no article event says so: the reindex state
    machine rebuilds them all.

    For each upload the file is read; if its ETag is no longer the event's, a newer upload
    has its own event and this one does nothing. A valid file starts the state machine
    under the name ``site-yaml-<ETag>``, with the same input for the same bytes: a second
    delivery of the event, or a second upload of the same bytes while the first run goes on,
    gets that run back (Step Functions' idempotent start). If a finished run has the name,
    these bytes were reindexed already, and nothing starts when it was the last run;
    otherwise (a revert to an earlier ``site.yaml``) a run named after this upload's
    ``sequencer`` starts.

    An invalid ``site.yaml`` starts nothing and is not an error: retrying cannot fix it. Every
    problem is logged, counted in ``SiteConfigRejected`` and written to
    ``_reports/site.yaml.json`` in the content bucket (removed once a valid one is uploaded).
    Storage and Step Functions failures raise, so Lambda retries the event.

Environment:
    CONTENT_BUCKET: the content bucket (``site.yaml``, ``_reports/``).
    REINDEX_STATE_MACHINE_ARN: the reindex state machine.
    SITE_CONFIG_KEY: optional, the site configuration's key (default ``site.yaml``).
    POWERTOOLS_METRICS_NAMESPACE: optional, CloudWatch namespace (default ``Newswire``).

Returns ``{"changes": [{"key": ..., "reaction": ..., "execution": name or null}, ...]}``;
metric (unit Count): ``SiteConfigRejected``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event

from newswire.adapters.s3 import S3ContentStore
from newswire.adapters.stepfunctions import ExecutionExistsError, StateMachine
from newswire.content.site import SITE_CONFIG_KEY, parse_site
from newswire.errors import ArticleNotFoundError, SiteConfigError, report_body
from newswire.handlers.observability import add_counts, logger, metrics, tracer
from newswire.runtime import STATE_MACHINE_VARIABLE, aws_client

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

SITE_REJECTED = "SiteConfigRejected"
#: Step Functions' longest execution name.
MAX_EXECUTION_NAME = 80


class Reaction(StrEnum):
    """What one ``site.yaml`` upload led to."""

    STARTED = "started"  # a reindex run was started (or the running one for it returned)
    ALREADY_RAN = "already-ran"  # the last run was for these same bytes
    REJECTED = "rejected"  # invalid: reported, nothing started
    SUPERSEDED = "superseded"  # a newer upload is current; its own event handles it
    GONE = "gone"  # deleted since the event


@dataclass(frozen=True, slots=True)
class Outcome:
    """One upload's reaction, and the run it started or found."""

    key: str
    reaction: Reaction
    execution: str | None = None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """React to every ``site.yaml`` upload in the event."""
    site_key = os.environ.get("SITE_CONFIG_KEY") or SITE_CONFIG_KEY
    records = [
        record
        for record in (S3Event(event).records if "Records" in event else ())
        if unquote_plus(record.s3.get_object.key) == site_key
    ]
    outcomes: list[Outcome] = []
    try:
        if records:
            content = S3ContentStore(aws_client("s3"), os.environ["CONTENT_BUCKET"])
            machine = StateMachine(aws_client("stepfunctions"), os.environ[STATE_MACHINE_VARIABLE])
            outcomes = [react(record, site_key, content, machine) for record in records]
    finally:  # once per invocation, zero included, so the alarm sees data
        add_counts({SITE_REJECTED: sum(o.reaction is Reaction.REJECTED for o in outcomes)})
    return {
        "changes": [
            {"key": o.key, "reaction": o.reaction, "execution": o.execution} for o in outcomes
        ]
    }


def react(
    record: S3EventRecord, site_key: str, content: S3ContentStore, machine: StateMachine
) -> Outcome:
    """Validate the uploaded ``site.yaml`` and start the reindex for it, at most once.

    Raises:
        StorageError: S3 or Step Functions failed (Lambda retries the event).
    """
    uploaded = record.s3.get_object
    etag = uploaded.etag.strip('"')
    try:
        stored = content.get(site_key)
    except ArticleNotFoundError:
        logger.info("site.yaml deleted since it was uploaded: nothing to do")
        return Outcome(site_key, Reaction.GONE)
    except SiteConfigError as e:  # refused by its size, unread
        return reject(content, e, etag)
    if stored.etag.strip('"') != etag:
        logger.info(
            "site.yaml replaced since this upload: its own event reindexes",
            extra={"event_etag": etag, "current_etag": stored.etag.strip('"')},
        )
        return Outcome(site_key, Reaction.SUPERSEDED)
    try:
        parse_site(site_key, stored.body)
    except SiteConfigError as e:
        return reject(content, e, etag)
    content.delete_report(site_key)
    name = execution_name(etag)
    payload = {"trigger": site_key, "etag": etag}
    try:
        return started(site_key, machine.start(name, payload), name)
    except ExecutionExistsError:
        latest = machine.latest_execution_name()
        if latest is not None and (latest == name or latest.startswith(f"{name}-")):
            logger.info(
                "site.yaml: these bytes were the last reindexed: nothing to do",
                extra={"execution": latest},
            )
            return Outcome(site_key, Reaction.ALREADY_RAN, latest)
    # Another run came since these bytes were reindexed (a revert): run again, under a name
    # of this upload's own, so a second delivery of its event still starts nothing new.
    again = execution_name(etag, uploaded.sequencer or uploaded.version_id or "")
    try:
        return started(site_key, machine.start(again, payload), again)
    except ExecutionExistsError:
        logger.info("site.yaml: this upload was reindexed already", extra={"execution": again})
        return Outcome(site_key, Reaction.ALREADY_RAN, again)


def execution_name(etag: str, upload: str = "") -> str:
    """``site-yaml-<ETag>[-<upload>]``: the same bytes (and upload) give the same name.

    ETags and S3 sequencers are hexadecimal (a multipart ETag adds ``-<parts>``), which Step
    Functions accepts in names; anything else is dropped, and the name cut to 80 characters.
    """
    parts = [part for part in ("site-yaml", etag, upload) if part]
    name = "-".join(parts)
    return "".join(c for c in name if c.isascii() and (c.isalnum() or c in "-_"))[
        :MAX_EXECUTION_NAME
    ]


def started(key: str, execution_arn: str, name: str) -> Outcome:
    """Log the run a valid ``site.yaml`` started (or found running for it)."""
    logger.info("site.yaml changed: reindex started", extra={"execution_arn": execution_arn})
    return Outcome(key, Reaction.STARTED, name)


def reject(content: S3ContentStore, error: SiteConfigError, etag: str) -> Outcome:
    """Report an invalid ``site.yaml`` (log, report file) without starting anything."""
    logger.warning(
        "site.yaml rejected: fix it and upload it again; no reindex started",
        extra={"key": error.key, "etag": etag, "problems": [str(p) for p in error.problems]},
    )
    content.put_report(error.key, report_body(error.key, error))
    return Outcome(error.key, Reaction.REJECTED)
