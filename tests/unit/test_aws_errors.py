"""Which AWS failures a short wait may cure, and how long newswire waits for them."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from newswire import runtime
from newswire.adapters.aws_errors import Backoff, is_transient, translate
from newswire.errors import StorageError, TransientStorageError

#: The publish function's timeout (infra/newswire_infra/pipeline.py): one backoff must be a
#: small part of it, as a batch of ten records may each meet one.
PUBLISH_TIMEOUT_SECONDS = 60


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


def test_the_default_backoff_waits_a_few_tries_well_under_the_function_timeout() -> None:
    backoff = Backoff(jitter=lambda: 1.0)

    assert 3 <= backoff.attempts <= 6
    assert sum(backoff.pauses()) * 10 < PUBLISH_TIMEOUT_SECONDS / 2


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


def test_the_clients_retry_each_call_the_standard_way(monkeypatch: pytest.MonkeyPatch) -> None:
    # jittered, under a retry quota: the legacy default waits in step, up to ~25 s on DynamoDB
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    runtime.clear_clients()
    try:
        assert runtime.aws_client("dynamodb").meta.config.retries["mode"] == "standard"
    finally:
        runtime.clear_clients()
