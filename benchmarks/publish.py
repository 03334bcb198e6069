"""Incremental publish through the Lambda handler on moto, at a given index size.

Run as ``python -m benchmarks.publish N`` in a fresh process per size (nothing cached between
sizes); prints one JSON line. The index is filled with ``batch_write_item`` items shaped
exactly as ``newswire/adapters/dynamodb.py`` writes them (state with its compressed entry, id
claim, one membership per feed), then a few new articles are published through
``newswire.handlers.publish.handler`` with S3 events. AWS requests are counted with botocore
``before-call.*.*`` hooks on the very clients the handler uses (``runtime.aws_client``).

Two moto artifacts are removed, both O(whole table) per call where DynamoDB is not:

- ``TransactWriteItems`` deep-copies the whole table before every transaction, to roll back on
  failure (26 s and 650 MB per published article at 10,000). The benchmark skips that backup;
  a transaction that fails then aborts the benchmark instead of being rolled back.
- ``Query`` lists and sorts every item of the table to find one partition's (8.9 s per article
  at 10,000 with the first fix alone). The benchmark hands it the partition's items only; moto
  still sorts the partition, so the largest feed still costs O(its members), not O(Limit).
"""

from __future__ import annotations

import copy
import gc
import json
import os
import resource
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = 3  # articles published per size, after one warm-up publish


@dataclass(frozen=True)
class _Context:
    function_name: str = "newswire-publish"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:newswire-publish"
    aws_request_id: str = "52fdfc07-2182-454f-963f-5f0f9a621d72"


def _environment() -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "CONTENT_BUCKET": "newswire-content",
            "FEEDS_BUCKET": "newswire-feeds",
            "INDEX_TABLE": "newswire-index",
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        }
    )


def _populate(dynamodb: Any, table: str, n: int) -> None:
    """``n`` live articles in the index, as the publisher would have left them."""
    from benchmarks.corpus import Article as Generated
    from newswire.adapters.dynamodb import CLAIM_SK, STATE_SK, encode_entry, membership_sort_key
    from newswire.domain.feeds import feed_keys_for
    from newswire.domain.model import Entry, Person, Tag

    def put(item: dict[str, Any]) -> dict[str, Any]:
        return {"PutRequest": {"Item": item}}

    batch: list[dict[str, Any]] = []

    def flush() -> None:
        request: dict[str, Any] = {table: list(batch)}
        while request:
            response = dynamodb.batch_write_item(RequestItems=request)
            request = response.get("UnprocessedItems") or {}
        batch.clear()

    base = datetime(2015, 1, 1, tzinfo=UTC)
    for i in range(n):
        generated = Generated(i) if i < 2000 else None  # full text for the newest-looking few
        key = f"articles/indexed-{i:06d}.md"
        url = f"https://news.example.org/articles/indexed-{i:06d}/"
        published = base + timedelta(minutes=i * 37)
        tags = generated.tags if generated else ["Kaez", f"tag{i % 199}"]
        authors = generated.authors if generated else [f"Author {i % 50}"]
        entry = Entry(
            slug=f"indexed-{i:06d}",
            id=url,
            id_is_permalink=True,
            url=url,
            title=f"Indexed article {i}",
            summary="A summary.",
            content_html=(f"<p>{generated.body[:4000]}</p>" if generated else "<p>Short body.</p>"),
            published=published,
            updated=published,
            authors=tuple(Person(name=a) for a in authors),
            tags=tuple(Tag.from_name(t) for t in tags),
        )
        feeds = sorted(feed_keys_for(entry))
        stamp = published.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        batch.append(
            put(
                {
                    "pk": {"S": f"article#{key}"},
                    "sk": {"S": STATE_SK},
                    "key": {"S": key},
                    "seq": {"S": "0" * 32},
                    "status": {"S": "live"},
                    "feeds": {"L": [{"S": f.id} for f in feeds]},
                    "previous_feeds": {"L": []},
                    "has_report": {"BOOL": False},
                    "article_id": {"S": url},
                    "published": {"S": stamp},
                    "entry": {"B": encode_entry(entry)},
                }
            )
        )
        batch.append(put({"pk": {"S": f"id#{url}"}, "sk": {"S": CLAIM_SK}, "key": {"S": key}}))
        for feed in feeds:
            batch.append(
                put(
                    {
                        "pk": {"S": f"feed#{feed.id}"},
                        "sk": {"S": membership_sort_key(stamp, url)},
                        "key": {"S": key},
                    }
                )
            )
            if len(batch) >= 25:
                flush()
        while len(batch) >= 25:
            flush()
    if batch:
        flush()


class _NoTableBackup:
    """Stands in for the ``copy`` module inside moto's ``transact_write_items`` only."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        del memo
        return value


def _without_moto_table_backup() -> None:
    import moto.dynamodb.models as models

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = models.copy
        models.copy = _NoTableBackup  # type: ignore[assignment]
        try:
            original(self, transact_items)
        except Exception as e:
            raise SystemExit(f"benchmark: a transaction failed without rollback: {e!r}") from e
        finally:
            models.copy = saved

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _query_one_partition() -> None:
    from moto.dynamodb.models.table import Table

    original = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("index_name") is not None or hash_key is None or not self.range_key_attr:
            return original(self, hash_key, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        self.all_items = lambda: partition  # an instance attribute shadows the method
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query  # type: ignore[method-assign]


def _event(key: str, sequencer: str) -> dict[str, Any]:
    template = json.loads((REPO / "tests" / "events" / "s3-put.json").read_text())
    event = copy.deepcopy(template)
    record = event["Records"][0]
    record["s3"]["object"]["key"] = key
    record["s3"]["object"]["sequencer"] = sequencer
    return event


def run(n: int) -> dict[str, Any]:
    """Publish ``PUBLISHED`` articles into an index of ``n``; say what it cost."""
    _environment()
    from moto import mock_aws

    _without_moto_table_backup()
    _query_one_partition()

    with mock_aws():
        from benchmarks.corpus import SITE_YAML, Article, newswire_article
        from newswire.local.resources import ResourceNames, create_resources
        from newswire.pipeline import runtime

        runtime.clear_clients()
        s3, dynamodb = runtime.aws_client("s3"), runtime.aws_client("dynamodb")
        create_resources(s3, dynamodb, None, ResourceNames())
        s3.put_object(Bucket="newswire-content", Key="site.yaml", Body=SITE_YAML.encode())
        started = time.perf_counter()
        _populate(dynamodb, "newswire-index", n)
        populate_s = time.perf_counter() - started

        from newswire.handlers import publish

        counts: Counter[str] = Counter()

        def count(event_name: str, **_: Any) -> None:
            counts[event_name.split(".", 1)[1]] += 1  # "before-call.s3.PutObject"

        for client in (s3, dynamodb):
            client.meta.events.register("before-call.*.*", count)

        times: list[float] = []
        requests: list[dict[str, int]] = []
        for j in range(PUBLISHED + 1):
            key = f"articles/bench-new-{j}.md"
            article = Article(900_000 + j)
            article.published = datetime(2026, 6, 1, tzinfo=UTC) + timedelta(hours=j)
            s3.put_object(Bucket="newswire-content", Key=key, Body=newswire_article(article))
            counts.clear()
            t0 = time.perf_counter()
            result = publish.handler(_event(key, f"{0x1000 + j:X}"), _Context())  # type: ignore[arg-type]
            elapsed = time.perf_counter() - t0
            if result["changes"][0]["action"] != "published":
                raise RuntimeError(f"publish failed: {result}")
            if j:  # the first is a warm-up: imports, first clients
                times.append(elapsed)
                requests.append(dict(counts))
        # Memory: one more publish, under tracemalloc (which slows it, so it is not timed).
        key = "articles/bench-new-memory.md"
        s3.put_object(Bucket="newswire-content", Key=key, Body=newswire_article(Article(999_999)))
        gc.collect()
        tracemalloc.start()
        publish.handler(_event(key, "3000"), _Context())  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peaks = [peak]
        totals = [sum(r.values()) for r in requests]
        return {
            "n": n,
            "populate_s": populate_s,
            "handler_s": statistics.median(times),
            "requests": totals[0] if len(set(totals)) == 1 else statistics.median(totals),
            "requests_all": totals,
            "requests_by_op": requests[0],
            "tracemalloc_peak_mb": max(peaks) / 2**20,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "functions"))
    print(json.dumps(run(int(sys.argv[1]))))
