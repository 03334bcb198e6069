"""A moto-backed stack with the Lambda functions' environment, for handler tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from newswire import runtime
from tests.support.aws import REGION, Stack, create_resources


@dataclass(frozen=True)
class FakeLambdaContext:
    """What Powertools reads from Lambda's context object."""

    function_name: str = "newswire-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:newswire-function"
    aws_request_id: str = "9566c74d-1003-4c4d-bbbb-0407d1e2c649"
    #: Milliseconds left of the invocation, asked anew each time (a test can make it run out).
    remaining_millis: Callable[[], int] = lambda: 150_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis()


@pytest.fixture
def lambda_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Empty buckets and index in moto, and the environment the functions get from infra/."""
    names = Stack(s3=None, dynamodb=None)
    env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "CONTENT_BUCKET": names.content_bucket,
        "FEEDS_BUCKET": names.feeds_bucket,
        "INDEX_TABLE": names.table,
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "Newswire",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    runtime.clear_clients()
    with mock_aws():
        stack = Stack(s3=boto3.client("s3"), dynamodb=boto3.client("dynamodb"))
        create_resources(stack.s3, stack.dynamodb, stack)
        yield stack
    runtime.clear_clients()
