"""Reading Lambda trigger events into :class:`ArticleChange` lists.

Three triggers carry article changes, all parsed with Powertools event source data classes:

* an SQS message whose body is an S3 event notification (``{"Records": [...]}``, possibly
  several records per body), or the ``s3:TestEvent`` S3 sends when a notification is first
  configured (no changes);
* a direct S3 event notification (``{"Records": [{"eventSource": "aws:s3", ...}]}``), or an
  ``s3:TestEvent`` sent straight to the function (no changes);
* an EventBridge ``Object Created`` / ``Object Deleted`` event from ``aws.s3`` (also accepted
  as an SQS message body, for an EventBridge rule that targets the queue).

Keys in S3 event notifications are URL-encoded (``+`` for a space, ``%xx`` otherwise) and are
decoded here; keys in EventBridge events are plain and used as they are (Powertools'
``S3EventBridgeNotificationObject.key`` URL-decodes them anyway, which would turn a ``+`` in a
key into a space, so the raw ``detail.object.key`` is read instead). Only article keys
(``articles/...`` with an article suffix) become changes; everything else is ignored.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import (
    S3Event,
    S3EventBridgeNotificationEvent,
    SQSRecord,
)

from newswire.content.articles import is_published_key
from newswire.errors import NewswireError
from newswire.pipeline.changes import ArticleChange, normalise_sequencer

#: Used (and warned about) when an event has no sequencer: it orders before any real one.
MISSING_SEQUENCER = "0"
#: ``eventName`` prefixes (without ``s3:``) of a write / a removal. A removal is only a hint:
#: deleting an old version or a delete marker leaves the object there (the publisher checks).
_WRITTEN_EVENTS = ("ObjectCreated:",)
_REMOVED_EVENTS = ("ObjectRemoved:", "LifecycleExpiration:")
_EVENTBRIDGE_WRITTEN = "Object Created"
_EVENTBRIDGE_REMOVED = "Object Deleted"
_TEST_EVENT = "s3:TestEvent"

logger = logging.getLogger(__name__)


class Trigger(enum.Enum):
    """The shape of an event the publish handler was invoked with."""

    SQS = "aws:sqs"
    S3 = "aws:s3"
    EVENTBRIDGE = "aws.s3"


class UnsupportedEventError(NewswireError, ValueError):
    """An event or SQS message body that carries no S3 notification newswire can read.

    Retrying cannot help; from SQS the message ends in the dead-letter queue for a look.
    """


def is_article_change_key(key: str) -> bool:
    """Say whether a (decoded) key is an article the pipeline publishes."""
    return is_published_key(key)


def is_s3_test_event(body: Mapping[str, Any]) -> bool:
    """Say whether an event (or SQS body) is the ``s3:TestEvent`` of a new notification."""
    return body.get("Event") == _TEST_EVENT


def detect_trigger(event: Mapping[str, Any]) -> Trigger:
    """Tell an SQS batch, a direct S3 notification and an EventBridge S3 event apart.

    Raises:
        UnsupportedEventError: the event is none of them.
    """
    if is_s3_test_event(event):
        return Trigger.S3
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        source = records[0].get("eventSource")
        if source == Trigger.SQS.value:
            return Trigger.SQS
        if source == Trigger.S3.value:
            return Trigger.S3
    if event.get("source") == Trigger.EVENTBRIDGE.value and "detail-type" in event:
        return Trigger.EVENTBRIDGE
    raise UnsupportedEventError(
        f"unsupported event: expected an SQS batch, an S3 notification or an EventBridge aws.s3"
        f" event, got keys {sorted(event)}"
    )


def changes_from_event(event: Mapping[str, Any]) -> list[ArticleChange]:
    """The article changes of a direct S3 notification or an EventBridge S3 event.

    SQS batches are not accepted here: each record is handled on its own (see
    :func:`changes_from_sqs_record`) so that one failure retries one message.

    Raises:
        UnsupportedEventError: the event is neither (an SQS batch included).
    """
    trigger = detect_trigger(event)
    if trigger is Trigger.S3:
        return [] if is_s3_test_event(event) else changes_from_s3_event(S3Event(dict(event)))
    if trigger is Trigger.EVENTBRIDGE:
        return changes_from_eventbridge(S3EventBridgeNotificationEvent(dict(event)))
    raise UnsupportedEventError("an SQS batch must be processed record by record")


def changes_from_sqs_record(record: SQSRecord) -> list[ArticleChange]:
    """The article changes carried by one SQS message.

    The body is an S3 event notification (several records possible), an ``s3:TestEvent``
    (no changes), or an EventBridge S3 event.

    Raises:
        UnsupportedEventError: the body is not JSON or not one of these.
    """
    try:
        body = json.loads(record.body)
    except (TypeError, ValueError) as e:
        raise UnsupportedEventError(
            f"SQS message {record.message_id}: body is not JSON ({e})"
        ) from e
    if not isinstance(body, dict):
        raise UnsupportedEventError(f"SQS message {record.message_id}: body is not a JSON object")
    if is_s3_test_event(body):
        logger.debug(
            "skipping s3:TestEvent",
            extra={"message_id": record.message_id, "bucket": body.get("Bucket")},
        )
        return []
    if isinstance(body.get("Records"), list):
        return changes_from_s3_event(S3Event(body))
    if body.get("source") == Trigger.EVENTBRIDGE.value and "detail-type" in body:
        return changes_from_eventbridge(S3EventBridgeNotificationEvent(body))
    raise UnsupportedEventError(
        f"SQS message {record.message_id}: body is not an S3 event notification,"
        f" got keys {sorted(body)}"
    )


def changes_from_s3_event(event: S3Event) -> list[ArticleChange]:
    """The article changes of an S3 event notification, in record order.

    Keys are URL-decoded. Records that are neither a creation nor a removal (restores,
    tagging, ACL changes, transitions ...) and keys that are not articles are skipped.
    """
    changes: list[ArticleChange] = []
    for record in event.records:
        event_name = record.event_name.removeprefix("s3:")
        deleted = _deleted(event_name)
        if deleted is None:
            logger.debug("ignoring S3 event", extra={"event_name": record.event_name})
            continue
        s3_object = record.s3.get_object
        key = unquote_plus(s3_object["key"])
        sequencer = s3_object.get("sequencer")
        _append(changes, key, deleted, sequencer)
    return changes


def changes_from_eventbridge(event: S3EventBridgeNotificationEvent) -> list[ArticleChange]:
    """The article change of an EventBridge ``aws.s3`` event: none, or one.

    EventBridge keys are not URL-encoded, so the raw ``detail.object.key`` is used.
    """
    if event.detail_type == _EVENTBRIDGE_WRITTEN:
        deleted = False
    elif event.detail_type == _EVENTBRIDGE_REMOVED:
        deleted = True
    else:
        logger.debug("ignoring EventBridge event", extra={"detail_type": event.detail_type})
        return []
    s3_object: Mapping[str, Any] = event.detail.object.raw_event
    changes: list[ArticleChange] = []
    _append(changes, str(s3_object["key"]), deleted, s3_object.get("sequencer"))
    return changes


def _deleted(event_name: str) -> bool | None:
    """``True`` for a removal, ``False`` for a creation, ``None`` for anything else."""
    if event_name.startswith(_WRITTEN_EVENTS):
        return False
    if event_name.startswith(_REMOVED_EVENTS):
        return True
    return None


def _append(changes: list[ArticleChange], key: str, deleted: bool, sequencer: object) -> None:
    if not is_article_change_key(key):
        logger.debug("ignoring non-article key", extra={"key": key})
        return
    if not isinstance(sequencer, str) or not sequencer.strip():
        logger.warning(
            "S3 event without a sequencer: ordering it before every other change",
            extra={"key": key, "deleted": deleted},
        )
        sequencer = MISSING_SEQUENCER
    changes.append(
        ArticleChange(key=key, deleted=deleted, sequencer=normalise_sequencer(sequencer))
    )
