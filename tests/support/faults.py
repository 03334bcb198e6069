"""Fault injection for moto-backed clients, and an SQS poller that redelivers like SQS.

Faults are raised from a ``before-call.<service>.<Operation>`` botocore hook on the very client
the code under test uses, as the ``ClientError`` botocore raises once its own retries are used
up (AWS's error code, message, HTTP status and extra fields such as ``CancellationReasons``):
newswire's code is never mocked. Every choice comes from one seeded ``random.Random``, so a
failing run is reproduced by its seed.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, unquote

from botocore.exceptions import ClientError


@dataclass(frozen=True)
class Fault:
    """One AWS error response, as botocore hands it to the caller."""

    code: str
    message: str
    status: int

    def error(self, operation: str, **extra: Any) -> ClientError:
        response: dict[str, Any] = {
            "Error": {"Code": self.code, "Message": self.message},
            "ResponseMetadata": {
                "HTTPStatusCode": self.status,
                "HTTPHeaders": {},
                "RetryAttempts": 2,  # botocore's standard mode: three attempts, all failed
            },
            **extra,
        }
        return ClientError(response, operation)  # type: ignore[arg-type]


#: S3 answers a throttled or failed request with an XML error body...
S3_5XX = (
    Fault("SlowDown", "Please reduce your request rate.", 503),
    Fault("InternalError", "We encountered an internal error. Please try again.", 500),
    Fault("ServiceUnavailable", "Service is unable to handle request.", 503),
)
#: ...except to HEAD, whose response has no body: botocore makes the code of the status.
S3_HEAD_5XX = (
    Fault("503", "Service Unavailable", 503),
    Fault("500", "Internal Server Error", 500),
)
DYNAMODB_THROTTLING = (
    Fault(
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. Consider"
        " increasing your provisioning level with the UpdateTable API.",
        400,
    ),
    Fault("ThrottlingException", "Rate of requests exceeds the allowed throughput.", 400),
)
TRANSACTION_CONFLICT = Fault(
    "TransactionCanceledException",
    "Transaction cancelled, please refer cancellation reasons for specific reasons",
    400,
)


@dataclass
class FaultInjector:
    """Raises AWS errors from some calls of the clients it is attached to.

    Args:
        rng: decides which calls fail and how.
        rates: per ``service.Operation`` (``s3.GetObject``), the chance that one call fails;
            see :meth:`rate` for rates that aim at some objects.
    """

    rng: random.Random
    rates: Mapping[str, float]
    enabled: bool = True
    calls: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    failed_paths: list[str] = field(default_factory=list)

    def attach(self, client: Any) -> None:
        """Hook every rated operation of ``client``'s service."""
        service = client.meta.service_model.service_name
        for name in sorted({key.split()[0] for key in self.rates}):
            prefix, _, operation = name.partition(".")
            if prefix == service:
                client.meta.events.register(
                    f"before-call.{service}.{operation}", self._hook(service, operation)
                )

    def rate(self, name: str, url_path: str) -> float:
        """The chance that this call fails: a rate for ``service.Operation <part of the
        request path>`` (``s3.PutObject /_reports/``) overrides the operation's own."""
        focused = [
            rate
            for key, rate in self.rates.items()
            if key.startswith(name + " ") and key.split(" ", 1)[1] in url_path
        ]
        return max(focused) if focused else self.rates.get(name, 0.0)

    def _hook(self, service: str, operation: str) -> Callable[..., None]:
        name = f"{service}.{operation}"

        def before_call(params: Mapping[str, Any], **_: Any) -> None:
            self.calls[name] += 1
            url_path = unquote(str(params.get("url_path", "")))
            if not self.enabled or self.rng.random() >= self.rate(name, url_path):
                return
            error = self._error(service, operation, params)
            self.injected[f"{name} {error.response['Error']['Code']}"] += 1
            self.failed_paths.append(f"{name} {url_path}")
            raise error

        return before_call

    def _error(self, service: str, operation: str, params: Mapping[str, Any]) -> ClientError:
        if service == "s3":
            return self.rng.choice(S3_HEAD_5XX if operation == "HeadObject" else S3_5XX).error(
                operation
            )
        if operation == "TransactWriteItems" and self.rng.random() < 0.5:
            # One reason per item of the transaction, as DynamoDB gives them.
            items = len(json.loads(params["body"])["TransactItems"])
            reasons = [{"Code": "None"} for _ in range(items)]
            reasons[self.rng.randrange(items)] = {
                "Code": "TransactionConflict",
                "Message": "Transaction is ongoing for the item",
            }
            codes = ", ".join(r["Code"] for r in reasons)
            fault = TRANSACTION_CONFLICT
            return Fault(fault.code, f"{fault.message} [{codes}]", fault.status).error(
                operation, CancellationReasons=reasons
            )
        return self.rng.choice(DYNAMODB_THROTTLING).error(operation)


def s3_notification(
    bucket: str,
    key: str,
    event_name: str,
    sequencer: str,
    version_id: str | None,
    size: int = 0,
    etag: str | None = None,
) -> dict[str, Any]:
    """An S3 event notification of one record, as S3 sends it to SQS (key URL-encoded)."""
    s3_object: dict[str, Any] = {"key": quote_plus(key, safe="/"), "sequencer": sequencer}
    if not event_name.startswith("ObjectRemoved:"):
        s3_object |= {"size": size, "eTag": (etag or "").strip('"')}
    if version_id is not None:
        s3_object["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-01T12:00:00.000Z",
                "eventName": event_name,
                "userIdentity": {"principalId": "AWS:AIDAQ3EGT5NEWSDESK7X2"},
                "requestParameters": {"sourceIPAddress": "203.0.113.24"},
                "responseElements": {"x-amz-request-id": sequencer[-16:]},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "newswire-article-changes",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": s3_object,
                },
            }
        ]
    }


@dataclass
class Message:
    message_id: str
    body: str
    receive_count: int = 0
    visible_at: int = 0


@dataclass
class SimulatedQueue:
    """A standard SQS queue as Lambda's poller sees it: at-least-once, unordered, batched.

    A message in ``batchItemFailures`` (or in a batch whose invocation raised) comes back
    after a random delay, possibly in another batch and order; one that succeeded may
    still be delivered again (``duplicate_rate``), as SQS may.

    Args:
        rng: decides batches, order, delays and duplicates.
        duplicate_rate: the chance that a message is sent twice (S3 does this, with another
            message id) and that a processed message is delivered again (same message id).
        max_receives: a message received more often fails the test (a DLQ would take it).
    """

    rng: random.Random
    duplicate_rate: float = 0.05
    max_receives: int = 20
    tick: int = 0
    pending: list[Message] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def send(self, body: Mapping[str, Any]) -> None:
        text = json.dumps(body)
        copies = 2 if self.rng.random() < self.duplicate_rate else 1
        self.stats["sent"] += 1
        self.stats["duplicate notifications"] += copies - 1
        for _ in range(copies):
            delay = self.rng.randrange(3)
            self.pending.append(Message(self._new_id(), text, visible_at=self.tick + delay))

    def deliver(self, invoke: Callable[[dict[str, Any]], Mapping[str, Any]]) -> bool:
        """Invoke the function with one batch of up to 10 visible messages.

        Returns:
            Whether there was anything to deliver.
        """
        self.tick += 1
        visible = [m for m in self.pending if m.visible_at <= self.tick]
        if not visible:
            return bool(self.pending)
        batch = self.rng.sample(visible, min(len(visible), self.rng.randint(1, 10)))
        for message in batch:
            message.receive_count += 1
            if message.receive_count > self.max_receives:
                raise AssertionError(
                    f"message {message.message_id} received {message.receive_count} times:"
                    f" {message.body}"
                )
        self.stats["batches"] += 1
        self.stats["deliveries"] += len(batch)
        try:
            failed_ids = {
                item["itemIdentifier"] for item in invoke(self._event(batch))["batchItemFailures"]
            }
        except Exception:  # the invocation failed: Lambda returns the whole batch
            self.stats["failed invocations"] += 1
            failed_ids = {m.message_id for m in batch}
        for message in batch:
            if message.message_id in failed_ids:
                self.stats["failed deliveries"] += 1
                message.visible_at = self.tick + self.rng.randrange(1, 4)
                continue
            self.pending = [m for m in self.pending if m is not message]
            if self.rng.random() < self.duplicate_rate:
                self.stats["redelivered after success"] += 1
                again = copy.copy(message)
                again.visible_at = self.tick + self.rng.randrange(1, 6)
                self.pending.append(again)
        return True

    def drain(self, invoke: Callable[[dict[str, Any]], Mapping[str, Any]]) -> None:
        """Deliver until every message has succeeded."""
        while self.deliver(invoke):
            pass

    @staticmethod
    def _event(batch: Iterable[Message]) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": m.message_id,
                    "receiptHandle": f"AQEB{m.message_id}{m.receive_count}",
                    "body": m.body,
                    "attributes": {
                        "ApproximateReceiveCount": str(m.receive_count),
                        "SentTimestamp": "1793534400000",
                        "SenderId": "AIDAJHIPRHEMV73VRJEBU",
                        "ApproximateFirstReceiveTimestamp": "1793534400000",
                    },
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:newswire-article-changes",
                    "awsRegion": "us-east-1",
                }
                for m in batch
            ]
        }
