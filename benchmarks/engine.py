"""The engine under the AWS latency model (``benchmarks/latency.py``): publish and reindex.

Run in a fresh process, printing one JSON line:

- ``python -m benchmarks.engine publish [RUNS]``: on moto, with an index of
  :data:`PUBLISH_INDEX` articles, one article published through
  ``newswire.handlers.publish.handler`` in an SQS event of one record, and a batch of
  :data:`BATCH` articles in one SQS event of that many records. The articles share feeds as a
  newsroom's burst does: one section (:data:`SECTION`), one author (the corpus's first), two
  tags each from a pool of three (the corpus's commonest), all published in the last hour.
  One warm-up of each (imports, clients), then ``RUNS`` of each, interleaved; figures are
  medians. Each run publishes new articles.
- ``python -m benchmarks.engine reindex N [SAMPLE]``: the reindex of ``N`` articles, phase by
  phase, through the handlers of ``newswire.handlers.reindex`` as Step Functions calls them
  (``begin``, ``index`` per batch of ``INDEX_BATCH`` keys, ``plan``, ``render`` per batch of
  ``RENDER_BATCH`` feeds), each invocation timed under the model. The Distributed Maps are
  simulated as a schedule (:func:`makespan`). Up to ``SAMPLE`` index batches' worth of
  articles, everything is measured: the content bucket holds ``N`` corpus articles
  (``benchmarks/corpus.py``), the index starts empty. Above it, the index is filled directly
  with ``N - SAMPLE × INDEX_BATCH`` articles (as ``benchmarks/publish.py`` does; the bucket
  holds an object under each of their keys, so ``begin`` lists and keeps them all), and only
  the ``SAMPLE`` batches of corpus articles are indexed, at full index size: the other index
  batches are taken to last as long, and ask as much, as the sampled ones (cycled in the
  schedule, requests scaled). ``begin``, ``plan`` and every render batch run at full size.

moto's S3 sorts a bucket's every key on each ``ListObjectsV2`` page, and its DynamoDB sorts
a table's every item on each ``Scan`` page and walks them to the page's start: O(N) per page,
where AWS is not; and both serialise a page of a thousand keys or items field by field
(moto's time is left out of the figures, but a 100,000-article run must end). During
``begin`` and ``plan`` the benchmark sorts them once, starts each page by bisection, copies
no scanned item (moto deep-copies each, then only reads it) and writes the answers directly
(:func:`_listing_by_bisection`, :func:`_scan_from_start_key`; moto still computes every
answer). In the runs up to ``SAMPLE`` batches, ``begin`` and ``plan`` run once more at the
end (untimed, the index full), every page answered both ways, and the answers must be
identical. The articles indexed directly are put straight into moto's table and bucket (no
requests). The other DynamoDB speed-ups are ``benchmarks/publish.py``'s.
"""

from __future__ import annotations

import base64
import bisect
import copy
import gc
import heapq
import inspect
import itertools
import json
import math
import random
import resource
import statistics
import sys
import threading
import time
import tracemalloc
import types
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from benchmarks.latency import Usage, cost

REPO = Path(__file__).resolve().parents[1]
CONTENT, FEEDS, TABLE = "newswire-content", "newswire-feeds", "newswire-index"
#: The index size the publish figures are taken at (publish time does not depend on it).
PUBLISH_INDEX = 1000
BATCH = 10
SECTION = "World"
TAG_POOL = 3  # the batch's tags: two each of the corpus's commonest three
#: Memory of the deployed functions (infra/newswire_infra/pipeline.py and reindex.py).
PUBLISH_MEMORY_MB = 1024
REINDEX_MEMORY_MB = 1024
#: Modelled Step Functions overheads (chosen): each parent state's transition, and each child
#: execution's start and Lambda invoke; a new execution environment's start (the runtime and
#: our imports) for each of a phase's first wave of invocations.
STATE_OVERHEAD_S = 0.1
CHILD_OVERHEAD_S = 0.1
COLD_START_S = 1.0
#: Parent (STANDARD) states billed: begin, index map, plan, render map, directory, end; and per
#: child execution the Distributed Map's one transition. The children are EXPRESS (infra),
#: billed a request and their duration at the smallest memory step.
PARENT_TRANSITIONS = 6
CHILD_TRANSITIONS = 1
EXPRESS_MEMORY_GB = 0.0625
#: Requests made by render that count as feed writes: reading the feed's members and entries,
#: and the conditional write of each file (see the reindex targets).
FEED_WRITE_OPS = frozenset(
    {"s3.HeadObject", "s3.PutObject", "dynamodb.Query", "dynamodb.BatchGetItem"}
)
#: SQS requests per publish batch: the S3 notification's send per message, one receive and
#: one delete (batch) per Lambda invocation; idle polling is a fixed cost, left out.
SQS_PER_MESSAGE, SQS_PER_BATCH = 1, 2


@dataclass(frozen=True)
class _Context:
    """Lambda's context for a fresh invocation with ``seconds`` of budget."""

    function_name: str
    seconds: float
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:newswire"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


@contextmanager
def _aws() -> Iterator[tuple[Any, Any, Any]]:
    """moto with the benchmark's speed-ups, resources, ``site.yaml``, and a
    :class:`~benchmarks.latency.LatencyModel` on the code's own clients (paused)."""
    from benchmarks import publish as publish_bench
    from benchmarks.latency import LatencyModel, MotoClock

    publish_bench._environment()
    publish_bench._without_moto_table_backup()
    publish_bench._query_by_bisection()
    from moto import mock_aws

    clock = MotoClock()
    clock.install()  # moto's backends take one request at a time, its time kept off the clock
    with mock_aws():
        from benchmarks.corpus import SITE_YAML
        from newswire import runtime
        from newswire.local.resources import ResourceNames, create_resources

        runtime.clear_clients()
        s3, dynamodb = runtime.aws_client("s3"), runtime.aws_client("dynamodb")
        model = LatencyModel([s3, dynamodb], clock)
        with model.paused():
            create_resources(s3, dynamodb, None, ResourceNames())
            s3.put_object(Bucket=CONTENT, Key="site.yaml", Body=SITE_YAML.encode())
        yield s3, dynamodb, model


def _sqs_event(changes: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """An SQS event of one message per ``(key, sequencer)``, shaped as the handler tests'."""
    template = json.loads((REPO / "tests/events/sqs-s3-put-batch.json").read_text())["Records"][0]
    records = []
    for key, sequencer in changes:
        body = json.loads(template["body"])
        body["Records"][0]["s3"]["object"].update(key=key, sequencer=sequencer)
        records.append({**template, "messageId": str(uuid.uuid4()), "body": json.dumps(body)})
    return {"Records": records}


def _article(i: int, published: datetime, tags: Sequence[str], author: str) -> bytes:
    from benchmarks.corpus import Article, newswire_article

    article = Article(i)
    article.published, article.tags, article.authors = published, list(tags), [author]
    text = newswire_article(article)
    return text.replace(b"\ntags:", f"\nsection: {SECTION}\ntags:".encode(), 1)


def run_publish(runs: int) -> dict[str, Any]:
    """One article and a batch, ``runs`` times each after a warm-up; medians and costs."""
    from benchmarks import publish as publish_bench
    from benchmarks.corpus import author_pool, tag_pool

    with _aws() as (s3, dynamodb, model):
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        with model.paused():
            publish_bench._populate(dynamodb, TABLE, PUBLISH_INDEX, now - timedelta(hours=2))
        from newswire.handlers import publish

        pool, author = tag_pool()[:TAG_POOL], author_pool()[0]
        rng = random.Random(16)
        counter = itertools.count(800_000)

        def publish_batch(size: int) -> tuple[float, Usage]:
            changes = []
            with model.paused():
                for _ in range(size):
                    i = next(counter)
                    key = f"articles/engine-{i}.md"
                    published = now - timedelta(minutes=i % 50)
                    body = _article(i, published, rng.sample(pool, 2), author)
                    s3.put_object(Bucket=CONTENT, Key=key, Body=body)
                    changes.append((key, f"{i:024X}"))
            event = _sqs_event(changes)
            model.take()
            started, moto, cpu = model.clock.now(), model.clock.moto_s(), time.process_time()
            result = publish.handler(event, _Context("newswire-publish", 150))
            elapsed = model.clock.now() - started
            usage = model.take()
            usage.seconds["moto"] = model.clock.moto_s() - moto
            usage.seconds["cpu"] = time.process_time() - cpu - usage.seconds["moto"]
            if result.get("batchItemFailures"):
                raise SystemExit(f"benchmark: publish failed: {result}")
            return elapsed, usage

        publish_bench._CHECK["on"] = True  # the warm-up: every Query answered both ways too
        publish_batch(1)
        publish_batch(BATCH)
        publish_bench._CHECK["on"] = False
        one: list[tuple[float, Usage]] = []
        batch: list[tuple[float, Usage]] = []
        for _ in range(runs):
            one.append(publish_batch(1))
            batch.append(publish_batch(BATCH))

    def summary(results: list[tuple[float, Usage]], size: int) -> dict[str, Any]:
        wall = statistics.median(t for t, _ in results)
        middle = sorted(results, key=lambda r: r[1].total)[len(results) // 2][1]
        per_invocation = cost(
            middle,
            lambda_gb_s=wall * PUBLISH_MEMORY_MB / 1024,
            invocations=1,
            sqs_requests=size * SQS_PER_MESSAGE + SQS_PER_BATCH,
        )
        return {
            "articles": size,
            "wall_s": wall,
            "wall_all": [t for t, _ in results],
            "requests": middle.total,
            "requests_all": [u.total for _, u in results],
            "requests_by_op": dict(sorted(middle.requests.items())),
            "units": dict(middle.units),
            "moto_s": middle.seconds["moto"],
            "cpu_s": statistics.median(u.seconds["cpu"] for _, u in results),
            "cost_per_1000_articles": {
                k: v * 1000 / size for k, v in per_invocation.as_dict().items()
            },
        }

    single, batched = summary(one, 1), summary(batch, BATCH)
    return {
        "kind": "publish",
        "index": PUBLISH_INDEX,
        "runs": runs,
        "one": single,
        "batch": batched,
        "request_ratio": batched["requests"] / single["requests"],
        "queries_checked": publish_bench._CHECK["queries"],
    }


def makespan(durations: Sequence[float], slots: int) -> float:
    """When the last of ``durations`` ends, each started, in order, as soon as one of
    ``slots`` is free (a greedy list schedule: how a Distributed Map runs its children)."""
    ends = [0.0] * min(slots, len(durations))
    heapq.heapify(ends)
    for duration in durations:
        heapq.heappush(ends, heapq.heappop(ends) + duration)
    return max(ends, default=0.0)


@dataclass
class Invocation:
    """One timed Lambda invocation of the reindex."""

    phase: str
    seconds: float
    usage: Usage
    result: Any = None


_LISTING: dict[str, Any] = {"on": False, "check": False, "cache": {}, "pages": 0, "scans": 0}


def _listing_by_bisection() -> None:
    """While ``_LISTING["on"]``: moto's ``ListObjectsV2`` (no delimiter) answered from the
    bucket's keys sorted once, by bisection (see the module docstring)."""
    from moto.s3.models import FakeDeleteMarker, S3Backend

    original = S3Backend.list_objects_v2

    def list_objects_v2(
        self: Any,
        bucket: Any,
        prefix: str | None,
        delimiter: str | None,
        continuation_token: str | None,
        start_after: str | None,
        max_keys: int,
    ) -> Any:
        args = (bucket, prefix, delimiter, continuation_token, start_after, max_keys)
        if not _LISTING["on"] or delimiter:
            return original(self, *args)
        cached = _LISTING["cache"].get((bucket.name, prefix))
        if cached is None or cached[0] != len(bucket.keys):
            keys = sorted(
                (k for name, k in bucket.keys.items() if name.startswith(prefix or "")),
                key=lambda k: k.name,
            )
            keys = [k for k in keys if not isinstance(k, FakeDeleteMarker)]
            cached = (len(bucket.keys), [k.name for k in keys], keys)
            _LISTING["cache"][(bucket.name, prefix)] = cached
        _, names, keys = cached
        limit = (
            self._pagination_tokens.get(continuation_token) if continuation_token else start_after
        )
        at = bisect.bisect_right(names, limit) if limit else 0
        answer = self._truncate_result(keys[at : at + max_keys + 1], max_keys)
        _LISTING["pages"] += 1
        if _LISTING["check"]:
            theirs = original(self, *args)
            names_differ = [k.name for k in theirs[0]] != [k.name for k in answer[0]]
            if names_differ or theirs[1:] != answer[1:]:
                raise SystemExit(f"benchmark: bisected listing differs from moto's: {args}")
        return answer

    S3Backend.list_objects_v2 = list_objects_v2  # type: ignore[method-assign]

    from moto.s3.responses import S3Response

    handle = S3Response.list_objects_v2

    def answer_listing(self: Any) -> Any:
        if not _LISTING["on"]:
            return handle(self)
        generic = self.serialized

        def serialized(action_result: Any) -> Any:
            result = action_result.result
            if "Delimiter" in result or any("Owner" in c for c in result["Contents"]):
                return generic(action_result)
            status, headers, body = 200, {**self.response_headers}, _listing_xml(result)
            if _LISTING["check"] and generic(action_result)[2] != body:
                raise SystemExit("benchmark: the listing in XML differs from moto's")
            return status, headers, body

        self.serialized = serialized  # this request's response object only
        return handle(self)

    S3Response.list_objects_v2 = answer_listing  # type: ignore[method-assign]


def _listing_xml(result: dict[str, Any]) -> str:
    """A ``ListObjectsV2`` page as moto writes it, written directly."""
    truncated = "true" if result["IsTruncated"] else "false"
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.'
        f'com/doc/2006-03-01/"><IsTruncated>{truncated}</IsTruncated>'
    ]
    for c in result["Contents"]:
        checksums = "".join(
            f"<ChecksumAlgorithm>{a}</ChecksumAlgorithm>" for a in c.get("ChecksumAlgorithm", [])
        )
        parts.append(
            f"<Contents><Key>{escape(c['Key'])}</Key><LastModified>{c['LastModified']}"
            f"</LastModified><ETag>{escape(c['ETag'])}</ETag>{checksums}<Size>{c['Size']}"
            f"</Size><StorageClass>{c['StorageClass']}</StorageClass></Contents>"
        )
    for name in ("Name", "Prefix", "MaxKeys", "EncodingType", "KeyCount"):
        if name in result:
            parts.append(f"<{name}>{escape(str(result[name]))}</{name}>")
    for name in ("NextContinuationToken", "StartAfter"):
        if name in result:
            parts.append(f"<{name}>{escape(str(result[name]))}</{name}>")
    return "".join(parts) + "</ListBucketResult>"


_SCANS: dict[int, tuple[int, list[Any], list[tuple[Any, Any]]]] = {}


@contextmanager
def _listings_sped_up(check: bool = False) -> Iterator[None]:
    """Within the block, bucket listings and table scans sped up (see the module docstring);
    with ``check``, every page is answered moto's way too, and the two must agree."""
    import moto.dynamodb.models.table as table_module

    _LISTING["on"], _LISTING["check"] = True, check
    kept = table_module.copy
    # moto deep-copies each item a Scan returns, then only reads it (projected, serialised)
    table_module.copy = types.SimpleNamespace(  # type: ignore[assignment]
        copy=copy.copy, deepcopy=lambda value, memo=None: value
    )
    try:
        yield
    finally:
        table_module.copy = kept  # type: ignore[assignment]
        _LISTING["on"] = _LISTING["check"] = False


def _scan_from_start_key() -> None:
    """While ``_LISTING["on"]``: moto's ``Scan`` (of a table, whole) handed only the items
    after its ``ExclusiveStartKey``, from the table's items sorted once, where moto sorts them
    all and walks them from the first on every page; and its answer written as JSON, where
    moto's generic serialiser takes ~0.5 ms per item (see the module docstring)."""
    from moto.dynamodb.models.table import Table

    original_scan, walked = Table.scan, Table.all_items
    signature = inspect.signature(original_scan)
    handed = threading.local()

    def all_items(self: Any) -> Any:
        if getattr(handed, "table", None) is self:
            return handed.items
        return walked(self)

    def scan(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs).arguments
        whole = bound.get("segments", (None, None)) == (None, None)
        if not _LISTING["on"] or bound.get("index_name") or not whole or not self.range_key_attr:
            return original_scan(self, *args, **kwargs)
        count = sum(len(partition) for partition in self.items.values())
        cached = _SCANS.get(id(self))
        if cached is None or cached[0] != count:
            items = walked(self)  # sorted by (hash key, range key)
            cached = (count, items, [(i.hash_key, i.range_key) for i in items])
            _SCANS[id(self)] = cached
        _, items, keys = cached
        start = bound.get("exclusive_start_key")
        at = 0
        if start:
            from moto.dynamodb.models.dynamo_type import DynamoType

            key = (DynamoType(start[self.hash_key_attr]), DynamoType(start[self.range_key_attr]))
            at = bisect.bisect_right(keys, key)
        handed.table, handed.items = self, items[at:]
        try:
            answer = original_scan(self, *args, **kwargs)
        finally:
            handed.table = handed.items = None
        _LISTING["scans"] += 1
        if _LISTING["check"]:
            theirs = original_scan(self, *args, **kwargs)
            if _scanned(theirs) != _scanned(answer):
                raise SystemExit(f"benchmark: the quick Scan differs from moto's: {bound}")
        return answer

    Table.all_items = all_items  # type: ignore[method-assign]
    Table.scan = scan  # type: ignore[method-assign]

    from moto.dynamodb.responses import DynamoHandler

    handle = DynamoHandler.scan

    def answer_scan(self: Any) -> Any:
        result = handle(self)
        if not _LISTING["on"]:
            return result
        try:
            body = json.dumps(result.result)
        except TypeError:
            return result
        if _LISTING["check"] and json.loads(self.serialized(result)[2]) != json.loads(body):
            raise SystemExit("benchmark: the Scan answer in JSON differs from moto's")
        return body

    DynamoHandler.scan = answer_scan  # type: ignore[method-assign]


def _scanned(answer: tuple[list[Any], int, Any]) -> tuple[list[Any], int, Any]:
    items, count, last = answer
    return [item.to_json() for item in items], count, last


class _DirectWrites:
    """Stands in for the DynamoDB client of ``benchmarks.publish._populate``: its items put
    straight into moto's table (no request), for the articles indexed directly."""

    def __init__(self) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        self.backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:  # noqa: N803
        for table, requests in RequestItems.items():
            for request in requests:
                self.backend.put_item(table, _wire(request["PutRequest"]["Item"]))
        return {}


def _wire(value: Any) -> Any:
    """An item as moto keeps it: binary values base64-encoded, as they arrive in JSON."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def _placeholders(keys: Sequence[str]) -> None:
    """An object under each key, put straight into moto's bucket (no request): what ``begin``
    lists for the articles indexed directly; their text is never read."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for key in keys:
        backend.put_object(CONTENT, key, b"placeholder")


def _peak_traced_mb(call: Callable[[], Any]) -> float:
    """The peak of Python memory traced while ``call`` runs (moto's answers included)."""
    gc.collect()
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def run_reindex(n: int, sample: int) -> dict[str, Any]:
    """The reindex of ``n`` articles, phase by phase, sampled above ``sample`` index batches."""
    from benchmarks import publish as publish_bench
    from benchmarks.corpus import Article as Generated
    from benchmarks.corpus import newswire_article, slug_for

    _listing_by_bisection()
    _scan_from_start_key()
    with _aws() as (s3, _, model):
        from newswire.handlers import reindex as handlers
        from newswire.pipeline.reindex import INDEX_BATCH, MAP_CONCURRENCY, RENDER_BATCH

        baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        indexed = min(n, sample * INDEX_BATCH)
        sampled = indexed < n
        started = time.perf_counter()
        with model.paused():
            for i in range(indexed):
                key = f"articles/{slug_for(i)}.md"
                s3.put_object(Bucket=CONTENT, Key=key, Body=newswire_article(Generated(i)))
            if sampled:
                newest = datetime.now(UTC) - timedelta(days=1)
                publish_bench._populate(_DirectWrites(), TABLE, n - indexed, newest)
                _placeholders([f"articles/indexed-{r:06d}.md" for r in range(n - indexed)])
        setup_s = time.perf_counter() - started

        invocations: list[Invocation] = []

        def invoke(phase: str, handler: Callable[..., Any], event: dict[str, Any]) -> Any:
            model.take()
            t0, moto = model.clock.now(), model.clock.moto_s()
            result = handler(event, _Context(f"newswire-reindex-{phase}", 300))
            seconds, usage = model.clock.now() - t0, model.take()
            usage.seconds["moto"] = model.clock.moto_s() - moto
            invocations.append(Invocation(phase, seconds, usage, result))
            return result

        with _listings_sped_up(), model.paused():  # the warm-up: first use of everything
            handlers.begin({}, _Context("newswire-reindex-begin", 300))
        with _listings_sped_up():
            invoke("begin", handlers.begin, {})
        with _listings_sped_up(), model.paused():  # what the Distributed Map's ItemReader lists
            items = [
                {"Key": o["Key"], "Etag": o["ETag"], "Size": o["Size"]}
                for page in s3.get_paginator("list_objects_v2").paginate(
                    Bucket=CONTENT, Prefix="articles/"
                )
                for o in page.get("Contents", [])
            ]
        batches = [items[i : i + INDEX_BATCH] for i in range(0, len(items), INDEX_BATCH)]
        measured = batches[:sample] if sampled else batches
        if sampled and any("/indexed-" in item["Key"] for b in measured for item in b):
            raise SystemExit("benchmark: a sampled index batch holds a directly indexed key")
        for batch in measured:
            invoke("index", handlers.index, {"Items": batch})
        with _listings_sped_up():  # plan scans the index too
            plan = invoke("plan", handlers.plan, {"execution": "bench"})
        with model.paused():
            body = s3.get_object(Bucket=plan["Bucket"], Key=plan["Key"])["Body"].read()
        feeds = json.loads(body)
        groups = [feeds[i : i + RENDER_BATCH] for i in range(0, len(feeds), RENDER_BATCH)]
        for group in groups:
            invoke("render", handlers.render, {"Items": group})
        invoke("directory", handlers.directory, {"execution": "bench"})

        if not sampled:  # the speed-ups checked, on the full index: moto's answers every page
            with _listings_sped_up(check=True), model.paused():
                handlers.begin({}, _Context("newswire-reindex-begin", 300))
                handlers.plan({"execution": "check"}, _Context("newswire-reindex-plan", 300))
        by_phase = {p: [v for v in invocations if v.phase == p] for p in ("index", "render")}
        longest_index = max(by_phase["index"], key=lambda v: v.seconds)
        longest_render = max(by_phase["render"], key=lambda v: v.seconds)
        with model.paused():  # again, untimed, under tracemalloc: the memory of each
            index_mb = _peak_traced_mb(
                lambda: handlers.index(
                    {"Items": batches[by_phase["index"].index(longest_index)]},
                    _Context("newswire-reindex-index", 300),
                )
            )
            render_mb = _peak_traced_mb(
                lambda: handlers.render(
                    {"Items": groups[by_phase["render"].index(longest_render)]},
                    _Context("newswire-reindex-render", 300),
                )
            )
        listing_pages, scan_pages = _LISTING["pages"], _LISTING["scans"]

    return _reindex_summary(
        n=n,
        sampled=sampled,
        sample_articles=indexed,
        invocations=invocations,
        index_batches=len(batches),
        render_groups=len(groups),
        feeds=len(feeds),
        item_reader_pages=math.ceil(len(items) / 1000),
        concurrency=MAP_CONCURRENCY,
        index_batch=INDEX_BATCH,
        render_batch=RENDER_BATCH,
        extra={
            "setup_s": setup_s,
            "listing_pages_bisected": listing_pages,
            "scan_pages_from_start_key": scan_pages,
            "peak_traced_mb": {"index": index_mb, "render": render_mb},
            "baseline_rss_mb": baseline_mb,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "results": {
                "begin": invocations[0].result,
                "index": [v.result for v in by_phase["index"]][:3],
                "plan": plan,
            },
        },
    )


def _reindex_summary(
    *,
    n: int,
    sampled: bool,
    sample_articles: int,
    invocations: list[Invocation],
    index_batches: int,
    render_groups: int,
    feeds: int,
    item_reader_pages: int,
    concurrency: int,
    index_batch: int,
    render_batch: int,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Wall time by the schedule, requests and cost of the whole reindex (see the docstring)."""
    begin = next(v for v in invocations if v.phase == "begin")
    plan = next(v for v in invocations if v.phase == "plan")
    directory = next(v for v in invocations if v.phase == "directory")
    index = [v for v in invocations if v.phase == "index"]
    render = [v for v in invocations if v.phase == "render"]

    def children(durations: list[float]) -> list[float]:
        return [
            d + CHILD_OVERHEAD_S + (COLD_START_S if i < concurrency else 0.0)
            for i, d in enumerate(durations)
        ]

    index_durations = [
        index[i % len(index)].seconds for i in range(index_batches)
    ]  # sampled: the measured ones again, in turn
    index_map = makespan(children(index_durations), concurrency)
    render_map = makespan(children([v.seconds for v in render]), concurrency)
    listing_s = item_reader_pages * 0.04  # the ItemReader's pages, before the map (chosen)
    wall = (
        PARENT_TRANSITIONS * STATE_OVERHEAD_S
        + (COLD_START_S + begin.seconds)
        + listing_s
        + index_map
        + (COLD_START_S + plan.seconds)
        + render_map
        + (COLD_START_S + directory.seconds)
    )
    index_usage = sum((v.usage for v in index), Usage()).scaled(index_batches / len(index))
    render_usage = sum((v.usage for v in render), Usage())
    reader = Usage()
    reader.requests["s3.ListObjectsV2"] = item_reader_pages
    reader.requests["s3.GetObject"] = 1  # the render map's ItemReader reads the plan
    steps = begin.usage + plan.usage + directory.usage
    usage = steps + index_usage + render_usage + reader
    besides = steps + index_usage + render_usage.without(FEED_WRITE_OPS) + reader
    seconds = begin.seconds + plan.seconds + directory.seconds
    seconds += sum(index_durations) + sum(v.seconds for v in render)
    invocation_count = 3 + index_batches + render_groups
    cold_starts = 3 + min(concurrency, index_batches) + min(concurrency, render_groups)
    gb_s = (seconds + cold_starts * COLD_START_S) * REINDEX_MEMORY_MB / 1024
    children_count = index_batches + render_groups
    children_s = sum(index_durations) + sum(v.seconds for v in render)
    children_s += children_count * CHILD_OVERHEAD_S
    total = cost(
        usage,
        lambda_gb_s=gb_s,
        invocations=invocation_count,
        transitions=PARENT_TRANSITIONS + CHILD_TRANSITIONS * children_count,
        express_executions=children_count,
        express_gb_s=children_s * EXPRESS_MEMORY_GB,
    )
    return {
        "kind": "reindex",
        "n": n,
        "sampled": sampled,
        "sample_articles": sample_articles,
        "wall_s": wall,
        "phases_s": {
            "begin": begin.seconds,
            "index_map": index_map,
            "plan": plan.seconds,
            "render_map": render_map,
            "directory": directory.seconds,
            "item_reader": listing_s,
        },
        "invocations": invocation_count,
        "index_batches": index_batches,
        "index_measured": len(index),
        "render_groups": render_groups,
        "feeds": feeds,
        "concurrency": concurrency,
        "index_batch": index_batch,
        "render_batch": render_batch,
        "moto_s": sum(v.usage.seconds["moto"] for v in invocations),
        "longest_s": max(v.seconds for v in invocations),
        "longest_phase": max(invocations, key=lambda v: v.seconds).phase,
        "index_s": [v.seconds for v in index][:10],
        "render_s": [v.seconds for v in render],
        "requests": usage.total,
        "requests_by_op": {k: round(v, 1) for k, v in sorted(usage.requests.items())},
        "requests_besides_feed_writes": besides.total,
        "requests_per_article": besides.total / n,
        "feed_write_requests": render_usage.total - render_usage.without(FEED_WRITE_OPS).total,
        "units": dict(usage.units),
        "lambda_gb_s": gb_s,
        "cost": total.as_dict(),
        **extra,
    }


def main(argv: list[str]) -> int:
    if argv[0] == "publish":
        result = run_publish(int(argv[1]) if len(argv) > 1 else 5)
    else:
        result = run_reindex(int(argv[1]), int(argv[2]) if len(argv) > 2 else 4)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "functions"))
    sys.exit(main(sys.argv[1:]))
