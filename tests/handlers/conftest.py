"""A moto-backed stack with the Lambda functions' environment, for handler tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from newswire import runtime
from newswire.handlers import reindex
from newswire.pipeline.reindex import INDEX_BATCH, RENDER_BATCH
from tests.support.aws import REGION, Stack, create_resources
from tests.support.hub import Hub


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


def run_reindex(stack: Stack, execution: str = "run-1") -> dict[str, Any]:
    """One run of the state machine, as Step Functions makes it: ``begin``; ``index`` over the
    listing of ``articles/`` in batches (the Distributed Map's S3 item reader and batcher);
    ``plan``; ``render`` over the plan's JSON array in batches; ``directory``. The summed
    summaries."""
    context = FakeLambdaContext()
    summary = dict(reindex.begin({}, context))
    listing = stack.s3.get_paginator("list_objects_v2").paginate(
        Bucket=stack.content_bucket, Prefix="articles/"
    )
    items = [
        {"Key": o["Key"], "Etag": o["ETag"], "Size": o["Size"]}
        for page in listing
        for o in page.get("Contents", [])
    ]
    for start in range(0, len(items), INDEX_BATCH):
        batch = reindex.index({"Items": items[start : start + INDEX_BATCH]}, context)
        for name, count in batch.items():
            summary[name] = summary.get(name, 0) + count
    where = reindex.plan({"execution": execution}, context)
    feeds = json.loads(stack.s3.get_object(**where)["Body"].read())
    summary["feeds"] = len(feeds)
    summary["feeds_written"] = 0
    for start in range(0, len(feeds), RENDER_BATCH):
        batch = reindex.render({"Items": feeds[start : start + RENDER_BATCH]}, context)
        summary["feeds_written"] += batch["feeds_written"]
    listed = reindex.directory({"execution": execution}, context)
    summary["feeds_listed"] = listed["feeds_listed"]
    summary["feeds_written"] += listed["written"]
    return summary


def fail_put_once(
    stack: Stack,
    *,
    key: str,
    code: str = "SlowDown",
    status: int = 503,
    bucket: str | None = None,
) -> list[str]:
    """Make the handler's first PutObject of ``key`` into the feeds bucket (or ``bucket``)
    fail as AWS would once botocore has used up its own retries. Returns the keys it failed
    (to assert on)."""
    failed: list[str] = []
    bucket = bucket or stack.feeds_bucket

    def before_put(params: dict[str, Any], **_: Any) -> None:
        if params["Bucket"] == bucket and params["Key"] == key and not failed:
            failed.append(params["Key"])
            raise ClientError(
                {
                    "Error": {"Code": code, "Message": "Please reduce your request rate."},
                    "ResponseMetadata": {"HTTPStatusCode": status},
                },
                "PutObject",
            )

    client = runtime.aws_client("s3")  # the client the handler will use
    client.meta.events.register("before-parameter-build.s3.PutObject", before_put)
    return failed


def use_hub(stack: Stack, hub: Hub) -> None:
    """Name the test hub in ``site.yaml``."""
    site_yaml = stack.s3.get_object(Bucket=stack.content_bucket, Key="site.yaml")["Body"]
    body = site_yaml.read() + f"hub: {hub.url}\n".encode()
    stack.s3.put_object(Bucket=stack.content_bucket, Key="site.yaml", Body=body)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The audience functions' buckets in moto, with an S3 client on them."""
    from tests.handlers.audience_moto import audience_buckets  # it imports this module

    yield from audience_buckets(monkeypatch)
