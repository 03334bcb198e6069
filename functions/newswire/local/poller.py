"""The publish queue fed to the publish handler, as Lambda's SQS event source mapping does.

Receive up to 10 messages, call :func:`newswire.handlers.publish.handler` with the SQS batch
event, delete the messages that succeeded and leave the ``batchItemFailures`` to reappear after
:data:`VISIBILITY_TIMEOUT`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from newswire.errors import SiteConfigError
from newswire.local.environment import REGION, LocalLambdaContext
from newswire.local.resources import CreatedQueue
from newswire.local.terminal import discard_metrics

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

#: Seconds a message the handler failed stays hidden before SQS offers it again.
VISIBILITY_TIMEOUT = 2
#: How long the poller rests after an empty receive. moto's server runs one request at a time,
#: so a long poll (``WaitTimeSeconds``) would stall every other request; short polls don't.
POLL_INTERVAL = 0.2


class QueuePoller:
    """Polls ``queue`` and invokes the publish handler until ``stopping`` is set.

    Args:
        sqs: the client the receives and deletes go through.
        queue: the publish queue.
        say: where a failed receive or a failed invocation is reported.
        on_site_error: told when an invocation failed on an invalid ``site.yaml`` (the stack
            says it once; the batch is retried like any failed one).
        stopping: set to end :meth:`run`.
    """

    def __init__(
        self,
        sqs: SQSClient,
        queue: CreatedQueue,
        *,
        say: Callable[[str], None],
        on_site_error: Callable[[SiteConfigError], None],
        stopping: threading.Event,
    ) -> None:
        self._sqs = sqs
        self._queue = queue
        self._say = say
        self._on_site_error = on_site_error
        self._stopping = stopping
        self._sequencers: dict[str, str] = {}
        self._sequence = 0

    def run(self) -> None:
        """Receive and invoke until ``stopping`` is set; a failed receive is retried."""
        while not self._stopping.is_set():
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=self._queue.url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=0,
                    MessageSystemAttributeNames=["All"],
                ).get("Messages", [])
            except (BotoCoreError, ClientError) as e:
                if not self._stopping.is_set():
                    self._say(f"newswire: cannot read the queue: {e}")
                self._stopping.wait(1)
                continue
            if messages:
                self._invoke(messages)
            else:
                self._stopping.wait(POLL_INTERVAL)

    def _invoke(self, messages: list[MessageTypeDef]) -> None:
        """One Lambda invocation: call the handler, delete what it did not report failed."""
        from newswire.handlers.publish import handler

        event = {"Records": [self._sqs_record(m) for m in messages]}
        try:
            response = handler(event, LocalLambdaContext(aws_request_id=str(uuid.uuid4())))
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except SiteConfigError as e:  # every message fails alike until site.yaml is fixed
            self._on_site_error(e)
            return
        except Exception as e:  # the whole batch failed: SQS redelivers every message
            self._say(f"newswire: publish failed, retrying in {VISIBILITY_TIMEOUT} s: {e}")
            return
        finally:
            discard_metrics()
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )

    def _sqs_record(self, message: MessageTypeDef) -> dict[str, Any]:
        """The record Lambda's SQS event source would pass for ``message``."""
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": self._with_sequencers(message["MessageId"], message["Body"]),
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {},
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue.arn,
            "awsRegion": REGION,
        }

    def _with_sequencers(self, message_id: str, body: str) -> str:
        """Give moto's S3 records the ``sequencer`` real S3 sends (moto leaves it out).

        The publisher orders changes of one key by sequencer; without it every change after the
        first would look like a redelivery. The value is the event time in milliseconds, then
        the order this poller first saw the message, and stays the same when it is redelivered.
        """
        try:
            parsed = json.loads(body)
        except ValueError:
            return body
        records = parsed.get("Records") if isinstance(parsed, dict) else None
        if not isinstance(records, list):
            return body
        for position, record in enumerate(records):
            s3_object = record.get("s3", {}).get("object") if isinstance(record, dict) else None
            if not isinstance(s3_object, dict) or s3_object.get("sequencer"):
                continue
            cache_key = f"{message_id}/{position}"
            if cache_key not in self._sequencers:
                self._sequence += 1
                millis = _event_millis(str(record.get("eventTime", "")))
                self._sequencers[cache_key] = f"{millis:012X}{self._sequence:08X}"
            s3_object["sequencer"] = self._sequencers[cache_key]
        return json.dumps(parsed)


def _event_millis(event_time: str) -> int:
    try:
        return int(datetime.fromisoformat(event_time.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return int(time.time() * 1000)
