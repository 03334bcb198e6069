"""S3 adapters: the content bucket (source of truth) and the feeds bucket (served).

The only module that talks to S3. Clients are passed in (never created at import), so moto,
the local stack and Lambda each supply their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from newswire.adapters.aws_errors import ABSENT_CODES, error_code, translate
from newswire.content.articles import (
    ARTICLES_PREFIX,
    is_article_key,
    is_published_key,
    oversized_file,
)
from newswire.content.site import oversized_site
from newswire.errors import ArticleNotFoundError, ConcurrentUpdateError
from newswire.pipeline.ports import FeedObject, StoredObject, feed_digest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef, HeadObjectOutputTypeDef

T = TypeVar("T")

#: CloudFront asks S3 on every request (``s-maxage=0``: a 304 when unchanged), so a WebSub hub
#: pinged right after a write gets the new feed; readers and browsers keep theirs a minute.
FEED_CACHE_CONTROL = "public, max-age=60, s-maxage=0"
#: Object metadata holding the body's :func:`~newswire.pipeline.ports.feed_digest`: a HEAD
#: tells whether a rewrite is needed, whatever the bucket's encryption does to ETags.
DIGEST_METADATA = "sha256"
REPORTS_PREFIX = "_reports/"
#: Where a deployed reindex keeps the list of feeds its render phase maps over.
REINDEX_PREFIX = "_reindex/"
#: Under a reindex's folder, the listings its render groups hand on to its directory step.
LISTINGS_FOLDER = "listings/"


#: The longest S3 key, in UTF-8 bytes.
MAX_KEY_BYTES = 1024


def report_key(key: str) -> str:
    """Where the report on article ``key`` is kept: ``_reports/<key>.json``.

    An article key near S3's limit leaves no room for the prefix and suffix, and its report
    would fail to be written on every retry: such a key's report is named by its start and a
    digest of the whole.
    """
    full = f"{REPORTS_PREFIX}{key}.json"
    if len(full.encode("utf-8")) <= MAX_KEY_BYTES:
        return full
    start = key.encode("utf-8")[: MAX_KEY_BYTES // 2].decode("utf-8", "ignore")
    return f"{REPORTS_PREFIX}{start}~{feed_digest(key.encode('utf-8'))[:16]}.json"


def _unless_absent(call: Callable[[], T], what: str) -> T | None:
    """``call()``, or ``None`` when S3 says its key has no current version (a delete marker
    counts as none): absent is an answer, told apart from a failure in one place.

    Raises:
        TransientStorageError, StorageError: S3 failed otherwise (translated once, here).
    """
    try:
        return call()
    except ClientError as e:
        if error_code(e) in ABSENT_CODES:
            return None
        raise translate(e, what) from e
    except BotoCoreError as e:
        raise translate(e, what) from e


def _head(client: S3Client, bucket: str, key: str) -> HeadObjectOutputTypeDef | None:
    """HEAD ``key``: its metadata, or ``None`` when it has no current version."""
    head = partial(client.head_object, Bucket=bucket, Key=key)
    return _unless_absent(head, f"HeadObject s3://{bucket}/{key}")


class S3ContentStore:
    """The content bucket: ``site.yaml``, ``articles/*``, and error reports under ``_reports/``."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self.bucket = bucket

    def get(self, key: str) -> StoredObject:
        """Read an object; a missing one raises ``ArticleNotFoundError``, one too large to be
        an article (or ``site.yaml``) its rejection, without its body being read."""
        found = _unless_absent(
            partial(self._get_within_limits, key), f"GetObject s3://{self.bucket}/{key}"
        )
        if found is None:
            raise ArticleNotFoundError(key)
        return found

    def _get_within_limits(self, key: str) -> StoredObject:
        """GET ``key``, its body read only if it is not too large to be published."""
        response = self._s3.get_object(Bucket=self.bucket, Key=key)
        size = response["ContentLength"]
        too_large = oversized_file(key, size) if is_article_key(key) else oversized_site(key, size)
        if too_large is not None:
            response["Body"].close()
            raise too_large
        return StoredObject(body=response["Body"].read(), etag=response["ETag"])

    def exists(self, key: str) -> bool:
        """Whether ``key`` has a current version (a delete marker counts as none)."""
        return _head(self._s3, self.bucket, key) is not None

    def list_articles(self) -> Iterator[str]:
        """Every article key under ``articles/``, in key order (S3 lists in UTF-8 order)."""
        paginator = self._s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=ARTICLES_PREFIX):
                for item in page.get("Contents", []):
                    if is_published_key(item["Key"]):
                        yield item["Key"]
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"ListObjectsV2 s3://{self.bucket}/{ARTICLES_PREFIX}") from e

    def put_reindex_plan(self, execution: str, body: bytes) -> str:
        """Write the feed list of reindex ``execution`` (JSON, private); its key."""
        return self._put_json(f"{REINDEX_PREFIX}{execution}/feeds.json", body)

    def put_reindex_listings(self, execution: str, group: str, body: bytes) -> str:
        """Write the directory listings one render group of reindex ``execution`` rendered
        (``group``: a name of its own, the same when the group runs again); its key."""
        return self._put_json(f"{REINDEX_PREFIX}{execution}/{LISTINGS_FOLDER}{group}.json", body)

    def _put_json(self, where: str, body: bytes) -> str:
        """Write a private JSON object of the reindex at ``where``; its key."""
        try:
            self._s3.put_object(
                Bucket=self.bucket, Key=where, Body=body, ContentType="application/json"
            )
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"PutObject s3://{self.bucket}/{where}") from e
        return where

    def reindex_listings(self, execution: str) -> list[str]:
        """The keys of the listings the render groups of reindex ``execution`` wrote."""
        prefix = f"{REINDEX_PREFIX}{execution}/{LISTINGS_FOLDER}"
        paginator = self._s3.get_paginator("list_objects_v2")
        try:
            pages = list(paginator.paginate(Bucket=self.bucket, Prefix=prefix))
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"ListObjectsV2 s3://{self.bucket}/{prefix}") from e
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def read_reindex_file(self, key: str) -> bytes:
        """The bytes of a reindex's own file ``key`` (under ``_reindex/``)."""
        try:
            return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"GetObject s3://{self.bucket}/{key}") from e

    def put_report(self, key: str, body: bytes) -> None:
        """Write an error report (private: the content bucket is never public)."""
        where = report_key(key)
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=where,
                Body=body,
                ContentType="application/json; charset=utf-8",
            )
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"PutObject s3://{self.bucket}/{where}") from e

    def delete_report(self, key: str) -> None:
        """Remove an article's error report; a missing one is fine."""
        where = report_key(key)
        try:
            self._s3.delete_object(Bucket=self.bucket, Key=where)
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"DeleteObject s3://{self.bucket}/{where}") from e


class S3FeedStore:
    """The feeds bucket, written with S3 conditional writes.

    ``IfNoneMatch='*'`` creates a feed only if nobody else did; ``IfMatch=<etag>`` replaces it
    only if it is still the version the caller rendered from. A lost race raises
    ``ConcurrentUpdateError`` and the caller re-renders.
    """

    def __init__(
        self, client: S3Client, bucket: str, cache_control: str = FEED_CACHE_CONTROL
    ) -> None:
        self._s3 = client
        self.bucket = bucket
        self.cache_control = cache_control

    def head(self, path: str) -> FeedObject | None:
        """The current object at ``path`` (ETag and stored digest), or ``None``."""
        response = _head(self._s3, self.bucket, path)
        if response is None:
            return None
        return FeedObject(
            etag=response["ETag"], digest=response.get("Metadata", {}).get(DIGEST_METADATA, "")
        )

    def read(self, path: str) -> tuple[FeedObject, bytes] | None:
        """The current object at ``path`` (ETag and stored digest) and its bytes, or
        ``None``."""
        found = _unless_absent(
            partial(self._get_with_body, path), f"GetObject s3://{self.bucket}/{path}"
        )
        if found is None:
            return None
        response, body = found
        digest = response.get("Metadata", {}).get(DIGEST_METADATA, "")
        return FeedObject(etag=response["ETag"], digest=digest), body

    def _get_with_body(self, path: str) -> tuple[GetObjectOutputTypeDef, bytes]:
        """GET ``path``: the response and its body, read whole (a failure midway is S3's)."""
        response = self._s3.get_object(Bucket=self.bucket, Key=path)
        return response, response["Body"].read()

    def put(
        self, path: str, body: bytes, content_type: str, *, expected: FeedObject | None
    ) -> None:
        """Write ``body`` only if the object is still ``expected`` (``None``: still absent).

        S3 answers ``IfMatch`` on a key with no current version (deleted since it was read)
        with ``404 NoSuchKey``, not ``412``: a change since the read all the same, so the
        caller reads again rather than fail for good.
        """
        condition = {"IfMatch": expected.etag} if expected else {"IfNoneMatch": "*"}
        what = f"PutObject s3://{self.bucket}/{path}"
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=path,
                Body=body,
                ContentType=content_type,
                CacheControl=self.cache_control,
                Metadata={DIGEST_METADATA: feed_digest(body)},
                **condition,  # type: ignore[arg-type]
            )
        except ClientError as e:
            if expected is not None and error_code(e) in ABSENT_CODES:
                raise ConcurrentUpdateError(f"{what}: deleted by another writer") from e
            raise translate(e, what) from e
        except BotoCoreError as e:
            raise translate(e, what) from e

    def delete(self, path: str) -> None:
        """Remove the object at ``path``; a missing one is fine."""
        try:
            self._s3.delete_object(Bucket=self.bucket, Key=path)
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"DeleteObject s3://{self.bucket}/{path}") from e
