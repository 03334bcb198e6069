"""Which AWS failures a short wait may cure, and how long newswire waits for them."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from newswire import runtime
from newswire.adapters.aws_errors import (
    SDK_CALL_WORST_CASE_SECONDS,
    Backoff,
    OutOfTimeError,
    is_transient,
    time_limit,
    translate,
)
from newswire.errors import StorageError, TransientStorageError
from newswire.handlers.budget import RECORD_DEADLINE_SECONDS
from newswire.pipeline.concurrency import MAX_IN_FLIGHT


def canceled(*codes: str) -> ClientError:
    response: Any = {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": [{"Code": code} for code in codes],
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return ClientError(response, "TransactWriteItems")


def test_pauses_grow_exponentially_up_to_the_cap_below_a_jittered_bound() -> None:
    at_bound = Backoff(attempts=6, base=0.1, cap=1.0, jitter=lambda: 1.0)
    halfway = Backoff(attempts=6, base=0.1, cap=1.0, jitter=lambda: 0.5)

    assert list(at_bound.pauses()) == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0])
    assert list(halfway.pauses()) == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.5])


def test_the_default_backoff_waits_a_few_tries_well_inside_a_records_deadline() -> None:
    backoff = Backoff(jitter=lambda: 1.0)

    assert 3 <= backoff.attempts <= 6
    # newswire's own waits are a small part of a record's deadline; botocore's tries inside
    # each of them are bounded by the deadline itself (next test)
    assert sum(backoff.pauses()) < RECORD_DEADLINE_SECONDS / 4
    assert backoff.worst_case(0.0) == pytest.approx(0.1 + 0.2 + 0.4 + 0.8)


class Clock:
    """Monotonic seconds that pass only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_no_try_starts_past_the_deadline_so_a_record_ends_in_time() -> None:
    clock = Clock()
    tries: list[float] = []

    def throttled() -> str:
        tries.append(clock.now)
        clock.now += 1.5  # botocore's own tries and pauses
        raise canceled("None", "TransactionConflict")

    backoff = Backoff(
        attempts=50, base=1.0, cap=1.0, sleep=clock.sleep, clock=clock, jitter=lambda: 1.0
    )
    with time_limit(5.0, clock=clock), pytest.raises(ClientError):
        backoff.call(throttled)

    assert tries == [0.0, 2.5]  # a third try would start at the deadline
    assert clock.now <= 5.0


def test_a_client_starts_no_call_past_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    runtime.clear_clients()
    try:
        client = runtime.aws_client("dynamodb")
        with time_limit(0.0), pytest.raises(OutOfTimeError) as caught:
            client.describe_table(TableName="index")  # refused before anything is sent
        assert isinstance(caught.value, TransientStorageError)  # the record is retried
    finally:
        runtime.clear_clients()


def test_a_call_is_tried_again_only_while_it_fails_transiently() -> None:
    slept: list[float] = []
    answers: list[Exception | str] = [canceled("None", "TransactionConflict"), "done"]

    def operation() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert Backoff(sleep=slept.append).call(operation) == "done"
    assert len(slept) == 1

    def lose_the_race() -> str:
        raise canceled("ConditionalCheckFailed", "TransactionConflict")

    with pytest.raises(ClientError):
        Backoff(sleep=slept.append).call(lose_the_race)
    assert len(slept) == 1  # no pause: a failed condition needs a re-read, not a wait


@pytest.mark.parametrize(
    ("codes", "transient"),
    [
        (("None", "TransactionConflict"), True),
        (("ThrottlingError", "None"), True),
        (("None", "ProvisionedThroughputExceeded"), True),
        (("ConditionalCheckFailed", "TransactionConflict"), False),
        (("None", "ConditionalCheckFailed"), False),
        (("ValidationError",), False),
    ],
)
def test_a_cancelled_transaction_is_transient_only_for_a_conflict_or_throttling(
    codes: tuple[str, ...], transient: bool
) -> None:
    error = canceled(*codes)

    assert is_transient(error) is transient
    translated = translate(error, "TransactWriteItems t k")
    assert isinstance(translated, TransientStorageError) is transient
    assert isinstance(translated, StorageError)
    assert f"[{', '.join(codes)}]" in str(translated)  # the reasons, for the logs


@pytest.mark.parametrize("service", ["dynamodb", "s3"])
def test_the_clients_retry_each_call_the_standard_way_with_short_timeouts(
    monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    # jittered, under a retry quota: the legacy default waits in step, up to ~25 s on DynamoDB;
    # botocore's 60 s timeouts would let one stalled call outlast the invocation
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    runtime.clear_clients()
    try:
        config = runtime.aws_client(service).meta.config
        assert config.retries == {"mode": "standard", "total_max_attempts": 3}
        assert (config.connect_timeout, config.read_timeout) == (2.0, 5.0)
        assert SDK_CALL_WORST_CASE_SECONDS == 3 * (2.0 + 5.0) + 1.0 + 2.0
        # a connection kept for each request the pool sends at once: past them, urllib3 opens
        # one (a TLS handshake) per request and throws it away after, with a warning
        assert config.max_pool_connections >= MAX_IN_FLIGHT
    finally:
        runtime.clear_clients()
