"""Translating botocore failures into newswire's error family, once, at the adapter; the
one retry policy for the failures a short wait may cure; and how long any AWS call may take.

Every bound on time is here, so the functions' timeouts (``infra/``) can be derived from it:
botocore's timeouts and tries of one call (:func:`client_config`), newswire's own tries
(:class:`Backoff`), and a deadline (:func:`time_limit`) after which no call is started or
tried again, so that one slow record cannot use up its invocation.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from newswire.errors import (
    ConcurrentUpdateError,
    NewswireError,
    StorageError,
    TransientStorageError,
)
from newswire.pipeline.concurrency import MAX_IN_FLIGHT

#: Error codes a retry may cure; anything answered with a 5xx status is treated the same.
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
    }
)

#: ``CancellationReasons`` codes of a ``TransactionCanceledException`` that a retry may cure:
#: botocore retries none of them, as the error's own code is not one it knows as transient.
TRANSIENT_CANCELLATIONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)

#: Seconds to open a connection to AWS, and to wait for each read of its answer: botocore's
#: 60 s defaults would let one stalled call outlast a whole invocation.
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
#: botocore's tries of one call, the first included (``standard`` mode).
SDK_ATTEMPTS = 3
#: The bound of botocore's first pause after throttling, doubling after (``standard`` mode's
#: ``throttling_base_scale``; 5xx pauses are far shorter).
SDK_THROTTLING_PAUSE = 1.0
#: The longest one botocore call may take: every try stalls to both timeouts, with the
#: longest pauses between them.
SDK_CALL_WORST_CASE_SECONDS = SDK_ATTEMPTS * (CONNECT_TIMEOUT + READ_TIMEOUT) + sum(
    SDK_THROTTLING_PAUSE * 2**n for n in range(SDK_ATTEMPTS - 1)
)

T = TypeVar("T")

#: The monotonic time after which no AWS call is started or tried again (see time_limit).
_deadline: ContextVar[float | None] = ContextVar("newswire_aws_deadline", default=None)


def client_config() -> Config:
    """The botocore configuration of every client: timeouts, retries and connections, set
    once here.

    Retries are botocore's ``standard`` mode (jittered, under a retry quota) for throttling
    and 5xx of each call: the ``legacy`` default waits without jitter, up to ~25 s for
    DynamoDB. What botocore cannot retry is :class:`Backoff`'s.
    """
    return Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": SDK_ATTEMPTS},
        # botocore keeps 10: the requests an IOPool sends past them would each open a
        # connection (a TLS handshake) and throw it away
        max_pool_connections=MAX_IN_FLIGHT,
    )


class OutOfTimeError(TransientStorageError):
    """A call was due after the deadline of its work: the work is left for a retry."""


@contextmanager
def time_limit(seconds: float, clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """Within the block, start no AWS call and no retry after ``seconds`` from now.

    A call already under way runs to its end (at most :data:`SDK_CALL_WORST_CASE_SECONDS`),
    so the block takes at most ``seconds`` plus that, and fails transiently past it.
    """
    token = _deadline.set(clock() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def check_deadline(clock: Callable[[], float] = time.monotonic, **_event: Any) -> None:
    """Refuse to start a call past the current :func:`time_limit` (a botocore ``before-call``
    hook, so that no client call escapes it).

    Raises:
        OutOfTimeError: the deadline has passed.
    """
    deadline = _deadline.get()
    if deadline is not None and clock() >= deadline:
        raise OutOfTimeError("out of time for this work, it will be retried")


def bounded_client(client: T) -> T:
    """``client``, made to honour :func:`time_limit` before each of its calls."""
    client.meta.events.register("before-call", check_deadline)  # type: ignore[attr-defined]
    return client


#: What S3 answers to a conditional write whose condition no longer holds (another writer's
#: change came first, or is under way).
LOST_RACE_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
#: What S3 answers for a key with no current version: ``NoSuchKey`` to a GET, a bare 404 to a
#: HEAD (it has no body to name the error in).
ABSENT_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def error_code(error: ClientError) -> str:
    """The AWS error code of a ``ClientError`` ('' when absent)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def cancellation_reasons(error: ClientError) -> list[str]:
    """The per-item codes of a ``TransactionCanceledException`` (``None`` for items not at
    fault), in the order of the transaction's items; empty for any other error."""
    return [str(r.get("Code", "None")) for r in error.response.get("CancellationReasons", [])]


def is_transient(error: BaseException) -> bool:
    """Say whether trying the same call again may succeed: throttling, a 5xx, a lost
    connection, or a transaction cancelled only by a conflict or throttling (never one whose
    condition failed: that needs a re-read, not a wait); or our own transient error."""
    if isinstance(error, TransientStorageError):
        return True
    if isinstance(error, ClientError):
        reasons = set(cancellation_reasons(error))
        if reasons:
            return (
                bool(reasons & TRANSIENT_CANCELLATIONS) and "ConditionalCheckFailed" not in reasons
            )
        return error_code(error) in TRANSIENT_CODES or _status(error) >= 500
    return isinstance(error, ConnectionError | HTTPClientError)


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait between tries of a call AWS answered with "try again", and how often.

    botocore (``standard`` retry mode, set where clients are made) already retries a throttled
    or failed call a few times; this policy covers what it cannot see or has given up on: a
    transaction cancelled by a conflict or by throttling, ``UnprocessedKeys``, throttling that
    outlasted botocore's tries. Waiting here costs a fraction of a second where an SQS
    redelivery costs the queue's visibility timeout; the bound keeps a batch well inside the
    function's timeout, after which the failure is raised as transient and SQS retries.

    Pauses use "full jitter" (a uniform draw below an exponentially growing bound) so that
    two publishers that collided do not collide again in step.

    Attributes:
        attempts: tries in all, the first included.
        base: the bound of the first pause, in seconds; it doubles for each pause after.
        cap: the longest pause.
        sleep: waits (injectable: tests record the pauses instead of waiting).
        jitter: draws the fraction of the bound to wait, in [0, 1) (injectable).
        clock: monotonic seconds, to keep to a :func:`time_limit` (injectable).
    """

    attempts: int = 5
    base: float = 0.1
    cap: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random
    clock: Callable[[], float] = time.monotonic

    def worst_case(self, call_seconds: float) -> float:
        """The longest :meth:`call` takes when each try takes ``call_seconds``, outside any
        :func:`time_limit`: every try fails, every pause at its bound."""
        bounds = Backoff(self.attempts, self.base, self.cap, jitter=lambda: 1.0).pauses()
        return self.attempts * call_seconds + sum(bounds)

    def pauses(self) -> Iterator[float]:
        """The pauses between tries: ``attempts - 1`` of them, the n-th below
        ``min(cap, base * 2**n)`` (1.5 s at most in all with the defaults)."""
        for n in range(self.attempts - 1):
            yield self.jitter() * min(self.cap, self.base * 2**n)

    def call(self, operation: Callable[[], T]) -> T:
        """Run ``operation``, pausing and running it again while it fails transiently.

        ``operation`` may raise :class:`~newswire.errors.TransientStorageError` itself for an
        answer that is partly done (``UnprocessedKeys``): the rest shares the same tries.

        Raises:
            Exception: what ``operation`` raised, at once if not transient (see
                :func:`is_transient`), after the last try, or when the next try would start
                past the current :func:`time_limit`.
        """
        pauses = self.pauses()
        while True:
            try:
                return operation()
            except (ClientError, BotoCoreError, TransientStorageError) as e:
                pause = next(pauses, None) if is_transient(e) else None
                deadline = _deadline.get()
                if pause is None or (deadline is not None and self.clock() + pause >= deadline):
                    raise
                self.sleep(pause)


#: The policy every adapter uses unless told otherwise.
DEFAULT_BACKOFF = Backoff()


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def translate(error: ClientError | BotoCoreError, what: str) -> NewswireError:
    """Map a botocore failure to the newswire error that says what the caller should do.

    Args:
        error: what botocore raised.
        what: the operation and object, for the message (``PutObject feeds/rss.xml``).
    """
    if isinstance(error, ClientError):
        code = error_code(error)
        status = _status(error)
        if code in LOST_RACE_CODES or status == 412:
            return ConcurrentUpdateError(f"{what}: changed by another writer ({code})")
        reasons = cancellation_reasons(error)
        if reasons:
            code = f"{code} [{', '.join(reasons)}]"
        if is_transient(error):
            return TransientStorageError(f"{what}: {code or status}, will be retried")
        return StorageError(f"{what}: {code}: {error}")
    if is_transient(error):
        return TransientStorageError(f"{what}: {error}")
    return StorageError(f"{what}: {error}")
