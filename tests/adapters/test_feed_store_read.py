"""The feeds bucket read back whole: the directory is updated from the data it holds."""

from __future__ import annotations

import pytest

from newswire.adapters.s3 import S3FeedStore
from newswire.errors import ConcurrentUpdateError
from newswire.pipeline.ports import feed_digest
from tests.support.aws import Stack


def test_read_gives_the_object_as_head_does_and_its_bytes(stack: Stack) -> None:
    feeds = S3FeedStore(stack.s3, stack.feeds_bucket)
    assert feeds.read("directory.json") is None
    feeds.put("directory.json", b'{"feeds": []}', "application/json", expected=None)
    found = feeds.read("directory.json")
    assert found is not None
    head, body = found
    assert body == b'{"feeds": []}'
    assert head == feeds.head("directory.json")
    assert head.digest == feed_digest(body)


def test_a_write_conditional_on_what_was_read_loses_to_a_write_since(stack: Stack) -> None:
    feeds = S3FeedStore(stack.s3, stack.feeds_bucket)
    feeds.put("directory.json", b"1", "application/json", expected=None)
    found = feeds.read("directory.json")
    assert found is not None
    feeds.put("directory.json", b"2", "application/json", expected=found[0])
    with pytest.raises(ConcurrentUpdateError):
        feeds.put("directory.json", b"3", "application/json", expected=found[0])


def test_a_write_conditional_on_what_was_read_loses_to_a_deletion_since(stack: Stack) -> None:
    """S3 answers ``IfMatch`` on a deleted key with ``404 NoSuchKey``: a race lost (read
    again), not a failure for good."""
    feeds = S3FeedStore(stack.s3, stack.feeds_bucket)
    feeds.put("directory.json", b"1", "application/json", expected=None)
    found = feeds.read("directory.json")
    assert found is not None
    feeds.delete("directory.json")
    with pytest.raises(ConcurrentUpdateError, match="deleted by another writer"):
        feeds.put("directory.json", b"2", "application/json", expected=found[0])
    assert feeds.read("directory.json") is None
