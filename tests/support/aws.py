"""The AWS resources newswire uses, created in moto: one description for tests and local runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from newswire.adapters.dynamodb import DynamoArticleIndex
from newswire.adapters.s3 import S3ContentStore, S3FeedStore
from newswire.content.site import parse_site
from newswire.local.resources import ResourceNames
from newswire.local.resources import create_resources as create_local_resources
from newswire.pipeline.publisher import Publisher

REGION = "us-east-1"


@dataclass
class Stack:
    """Clients and names of a moto-backed newswire stack."""

    s3: Any
    dynamodb: Any
    content_bucket: str = "newswire-content"
    feeds_bucket: str = "newswire-feeds"
    table: str = "newswire-index"

    def publisher(self, **kwargs: Any) -> Publisher:
        content = S3ContentStore(self.s3, self.content_bucket)
        site = parse_site("site.yaml", content.get("site.yaml").body)
        return Publisher(
            content=content,
            feeds=S3FeedStore(self.s3, self.feeds_bucket),
            index=DynamoArticleIndex(self.dynamodb, self.table),
            site=site,
            **kwargs,
        )

    def put_article(self, key: str, body: bytes) -> str:
        self.s3.put_object(Bucket=self.content_bucket, Key=key, Body=body)
        return key

    def feed(self, path: str) -> bytes:
        return self.s3.get_object(Bucket=self.feeds_bucket, Key=path)["Body"].read()

    def upload_content(self, root: Path) -> list[str]:
        keys = []
        for path in sorted(root.rglob("*")):
            if path.is_file():
                key = path.relative_to(root).as_posix()
                self.s3.put_object(Bucket=self.content_bucket, Key=key, Body=path.read_bytes())
                keys.append(key)
        return keys


def create_resources(s3: Any, dynamodb: Any, stack: Stack) -> None:
    """Create the buckets and the index table (the same shape as infra/ defines)."""
    names = ResourceNames(
        content_bucket=stack.content_bucket,
        feeds_bucket=stack.feeds_bucket,
        index_table=stack.table,
    )
    create_local_resources(s3, dynamodb, None, names)


@contextmanager
def moto_stack(site_yaml: bytes) -> Iterator[Stack]:
    """A fresh moto account with newswire's resources and ``site.yaml`` uploaded."""
    with mock_aws():
        stack = Stack(
            s3=boto3.client("s3", region_name=REGION),
            dynamodb=boto3.client("dynamodb", region_name=REGION),
        )
        create_resources(stack.s3, stack.dynamodb, stack)
        stack.s3.put_object(Bucket=stack.content_bucket, Key="site.yaml", Body=site_yaml)
        yield stack


@contextmanager
def server_stack(endpoint_url: str, site_yaml: bytes) -> Iterator[Stack]:
    """A fresh newswire stack on a running moto server (reset first: its state is global)."""
    import urllib.request

    urllib.request.urlopen(
        urllib.request.Request(f"{endpoint_url}/moto-api/reset", method="POST")
    ).close()
    stack = Stack(
        s3=boto3.client("s3", region_name=REGION, endpoint_url=endpoint_url),
        dynamodb=boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint_url),
    )
    create_resources(stack.s3, stack.dynamodb, stack)
    stack.s3.put_object(Bucket=stack.content_bucket, Key="site.yaml", Body=site_yaml)
    yield stack
