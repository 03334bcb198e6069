"""Translating botocore failures into newswire's error family, once, at the adapter."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from newswire.errors import (
    ConcurrentUpdateError,
    NewswireError,
    StorageError,
    TransientStorageError,
)

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


def error_code(error: ClientError) -> str:
    """The AWS error code of a ``ClientError`` ('' when absent)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def translate(error: ClientError | BotoCoreError, what: str) -> NewswireError:
    """Map a botocore failure to the newswire error that says what the caller should do.

    Args:
        error: what botocore raised.
        what: the operation and object, for the message (``PutObject feeds/rss.xml``).
    """
    if isinstance(error, ClientError):
        code = error_code(error)
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in ("PreconditionFailed", "ConditionalRequestConflict") or status == 412:
            return ConcurrentUpdateError(f"{what}: changed by another writer ({code})")
        if code in TRANSIENT_CODES or status >= 500:
            return TransientStorageError(f"{what}: {code or status}, will be retried")
        return StorageError(f"{what}: {code}: {error}")
    if isinstance(error, ConnectionError | HTTPClientError):
        return TransientStorageError(f"{what}: {error}")
    return StorageError(f"{what}: {error}")
