"""The composition root: the pipeline wired to its AWS adapters from the environment.

Used by the handlers, the local stack and the CLI; the pipeline itself never imports adapters.

Clients are created on first use, never at import: importing a handler stays cheap for cold
starts, and moto or a local endpoint (``AWS_ENDPOINT_URL``) is honoured whenever set up.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from newswire.errors import ArticleNotFoundError, NewswireError, SiteConfigError

if TYPE_CHECKING:
    from newswire.pipeline.concurrency import IOPool
    from newswire.pipeline.publisher import Publisher


#: The environment variable (of a shell, or of the site-changed function) naming the reindex
#: state machine.
STATE_MACHINE_VARIABLE = "REINDEX_STATE_MACHINE_ARN"


@dataclass(frozen=True, slots=True)
class Settings:
    """The environment a publish or reindex function runs with."""

    content_bucket: str
    feeds_bucket: str
    index_table: str
    site_config_key: str = "site.yaml"

    @classmethod
    def from_env(cls) -> Settings:
        """Read ``CONTENT_BUCKET``, ``FEEDS_BUCKET``, ``INDEX_TABLE``, ``SITE_CONFIG_KEY``."""
        missing = [
            n for n in ("CONTENT_BUCKET", "FEEDS_BUCKET", "INDEX_TABLE") if not os.environ.get(n)
        ]
        if missing:
            raise NewswireError(
                f"environment: {', '.join(missing)} not set, expected the resource names"
            )
        return cls(
            content_bucket=os.environ["CONTENT_BUCKET"],
            feeds_bucket=os.environ["FEEDS_BUCKET"],
            index_table=os.environ["INDEX_TABLE"],
            site_config_key=os.environ.get("SITE_CONFIG_KEY") or "site.yaml",
        )


class SiteConfigMissingError(SiteConfigError, LookupError):
    """The content bucket has no ``site.yaml`` yet (a fresh deploy): nothing can be published.

    Not an article's fault: the publish handler fails the changes that need it so SQS keeps
    them (see its docstring); the schedule and reindex handlers do nothing and say so.
    """

    def __init__(self, key: str, bucket: str) -> None:
        super().__init__(
            key,
            "file",
            f"not found in the content bucket {bucket}",
            f"{key} uploaded at the bucket's root (nothing is published without it)",
        )
        self.bucket = bucket


@cache
def aws_client(service: str) -> Any:
    """One boto3 client per service and process, created on first use, with the timeouts,
    retries and deadline of :mod:`newswire.adapters.aws_errors` (one place for them all)."""
    import boto3

    from newswire.adapters.aws_errors import bounded_client, client_config

    return bounded_client(boto3.client(service, config=client_config()))  # type: ignore[call-overload]


@cache
def io_pool() -> IOPool:
    """One pool of request threads per process: a warm Lambda container keeps its threads
    from one invocation to the next, as it keeps its clients."""
    from newswire.pipeline.concurrency import IOPool

    return IOPool()


def clear_clients() -> None:
    """Forget cached clients (tests that start a fresh moto, or change endpoints)."""
    aws_client.cache_clear()


def publisher_from_env(settings: Settings | None = None, changed: Sequence[str] = ()) -> Publisher:
    """Build a :class:`Publisher` for this invocation.

    The site configuration is read from the content bucket every time, so an edited
    ``site.yaml`` takes effect on the next event without a redeploy. What the first attempt
    at a change of each ``changed`` key reads is read with it, at once.

    Raises:
        SiteConfigMissingError: there is no ``site.yaml`` in the content bucket yet.
        SiteConfigError: ``site.yaml`` is invalid (nothing can be published until fixed).
        StorageError: it could not be read.
    """
    from newswire.adapters.dynamodb import DynamoArticleIndex
    from newswire.adapters.s3 import S3ContentStore, S3FeedStore
    from newswire.adapters.websub import WebSubNotifier
    from newswire.content.site import parse_site
    from newswire.pipeline.firstreads import read_first_with
    from newswire.pipeline.publisher import Publisher

    settings = settings or Settings.from_env()
    content = S3ContentStore(aws_client("s3"), settings.content_bucket)
    index = DynamoArticleIndex(aws_client("dynamodb"), settings.index_table)
    pool = io_pool()
    try:
        site_yaml, read_ahead = read_first_with(
            pool, content, index, changed, partial(content.get, settings.site_config_key)
        )
    except ArticleNotFoundError as e:
        if e.key != settings.site_config_key:
            raise
        raise SiteConfigMissingError(settings.site_config_key, settings.content_bucket) from e
    site = parse_site(settings.site_config_key, site_yaml.body)
    return Publisher(
        content=content,
        feeds=S3FeedStore(aws_client("s3"), settings.feeds_bucket),
        index=index,
        site=site,
        notifier=WebSubNotifier(site.hubs) if site.hubs else None,
        pool=pool,
        read_ahead=read_ahead,
    )
