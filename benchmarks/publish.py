"""Incremental publish through the Lambda handler on moto, at a given index size.

Run as ``python -m benchmarks.publish N`` in a fresh process per size (nothing cached between
sizes); prints one JSON line. The index is filled with ``batch_write_item`` items shaped
exactly as ``newswire/adapters/dynamodb_writes.py`` builds them (state with its compressed
entry, id claim, one membership per feed, and the per-month counts of the ``months``
partition), then a few new articles are published through
``newswire.handlers.publish.handler`` with S3 events.

What is measured, on the very clients the handler uses (``runtime.aws_client``):

- AWS requests, counted with botocore ``before-call.*.*`` hooks;
- the time spent inside AWS calls, from ``before-call.*.*`` to ``after-call.*.*`` (or
  ``after-call-error.*.*``): serialising, moto answering (or the network, in AWS), parsing;
  calls under way together in threads count once. Handler time minus that is the time
  outside AWS calls: ours, whatever the backend.

The synthetic index is a site of a given age, not a denser one: one article every 58 minutes
(100,000 articles span eleven years, like the build corpus), newest just before the articles
being published, which are published "now" (so the news sitemap holds the last two days). The
month an article is published into therefore holds the same articles at every index size
(those since the 1st of the current month, at most ~770), and its archive costs the same.
The newest 2,000 articles carry full generated text, the same at every size.

Three moto artifacts are removed. Each is O(whole table or partition) per call where DynamoDB
is not, and none changes a request, a response or a byte the handler sees:

- ``TransactWriteItems`` deep-copies the whole table before every transaction, to roll back on
  failure (26 s and 650 MB per published article at 10,000). The benchmark skips that backup;
  a transaction that fails then aborts the benchmark instead of being rolled back.
- ``Query`` lists and sorts every item of the table to find one partition's (8.9 s per article
  at 10,000 with the first fix alone). The benchmark hands it that partition's items only.
- ``Query`` then sorts the whole partition on every call, and walks it to the first result:
  O(members) for ``Limit=50`` on the main feed, which DynamoDB answers in O(50) from its
  B-tree. The benchmark keeps each partition's sort keys in a sorted list (updated on every
  put and delete), finds the key condition's range and the ``ExclusiveStartKey`` by bisection,
  and hands moto's own ``Query`` only the window it would walk: from the first candidate,
  ``Limit + 2`` items in scan order (the start key itself, ``Limit`` results, and the one after
  that makes moto return ``LastEvaluatedKey``), or the whole range plus one item without a
  ``Limit``. moto still evaluates the condition, limit, 1 MB page, projection and pagination.
  During the warm-up publish every Query is also answered over the whole partition and the
  two answers must be identical (items, count, ``LastEvaluatedKey``), or the benchmark stops.
"""

from __future__ import annotations

import bisect
import gc
import inspect
import json
import os
import resource
import statistics
import sys
import threading
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = 15  # articles published per size, after one warm-up publish (figures: medians;
# fifteen, not five: a few milliseconds of noise move the median of five by a tenth)
CADENCE = timedelta(minutes=58)  # one article every 58 min: 100,000 span eleven years
FULL_TEXT = 2000  # the newest articles carry generated full text


@dataclass(frozen=True)
class _Context:
    function_name: str = "newswire-publish"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:newswire-publish"
    aws_request_id: str = "52fdfc07-2182-454f-963f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's budget: a fresh invocation of the publish function (its timeout)."""
        return 150_000


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


def _populate(dynamodb: Any, table: str, n: int, newest: datetime) -> Counter[str]:
    """``n`` live articles in the index, as the publisher would have left them.

    Article ``r`` (0 the newest) is published ``r`` cadences before ``newest``; returns the
    number of live articles per month, as written to the ``months`` partition.
    """
    from benchmarks.corpus import Article as Generated
    from newswire.adapters.dynamodb_layout import (
        CLAIM_SK,
        MONTHS_PK,
        STATE_SK,
        index_time,
        membership_sort_key,
    )
    from newswire.domain.feeds import feed_keys_for
    from newswire.domain.model import Entry, Person, Tag
    from newswire.pipeline.ports import encode_entry, entry_revision

    def put(item: dict[str, Any]) -> dict[str, Any]:
        return {"PutRequest": {"Item": item}}

    batch: list[dict[str, Any]] = []

    def flush() -> None:
        request: dict[str, Any] = {table: list(batch)}
        while request:
            response = dynamodb.batch_write_item(RequestItems=request)
            request = response.get("UnprocessedItems") or {}
        batch.clear()

    months: Counter[str] = Counter()
    for r in range(n):
        generated = Generated(r) if r < FULL_TEXT else None
        key = f"articles/indexed-{r:06d}.md"
        url = f"https://news.example.org/articles/indexed-{r:06d}/"
        published = newest - r * CADENCE
        tags = generated.tags if generated else ["Kaez", f"tag{r % 199}"]
        authors = generated.authors if generated else [f"Author {r % 50}"]
        entry = Entry(
            slug=f"indexed-{r:06d}",
            id=url,
            id_is_permalink=True,
            url=url,
            title=f"Indexed article {r}",
            summary="A summary.",
            content_html=(f"<p>{generated.body[:4000]}</p>" if generated else "<p>Short body.</p>"),
            published=published,
            updated=published,
            authors=tuple(Person(name=a) for a in authors),
            tags=tuple(Tag.from_name(t) for t in tags),
        )
        feeds = sorted(feed_keys_for(entry))
        stored = encode_entry(entry)
        stamp = index_time(published)
        months[stamp[:7]] += 1
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
                    "entry": {"B": stored},
                }
            )
        )
        batch.append(put({"pk": {"S": f"id#{url}"}, "sk": {"S": CLAIM_SK}, "key": {"S": key}}))
        for feed in feeds:
            batch.append(
                put(
                    {
                        "pk": {"S": f"feed#{feed.id}"},
                        "sk": {"S": membership_sort_key(published, url)},
                        "key": {"S": key},
                        "rev": {"S": entry_revision(stored)},
                    }
                )
            )
            if len(batch) >= 25:
                flush()
        while len(batch) >= 25:
            flush()
    for month, count in sorted(months.items()):
        batch.append(put({"pk": {"S": MONTHS_PK}, "sk": {"S": month}, "n": {"N": str(count)}}))
        if len(batch) >= 25:
            flush()
    if batch:
        flush()
    return months


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
        saved = getattr(models, "copy")  # noqa: B009 - moto does not export it
        setattr(models, "copy", _NoTableBackup)  # noqa: B010
        try:
            original(self, transact_items)
        except Exception as e:
            raise SystemExit(f"benchmark: a transaction failed without rollback: {e!r}") from e
        finally:
            setattr(models, "copy", saved)  # noqa: B010

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class _SortedPartition(dict[Any, Any]):
    """One partition of a moto table (range key -> item) that also keeps its string range keys
    sorted, as DynamoDB's B-tree does. moto mutates partitions only by ``[k] = v`` and ``pop``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.order: list[str] = []  # range key values, sorted
        self.by_value: dict[str, Any] = {}  # range key value -> moto's key object
        self.sortable = True  # False once a key is not a string

    def __setitem__(self, key: Any, value: Any) -> None:
        if key not in self:
            if getattr(key, "type", None) == "S":
                bisect.insort(self.order, key.value)
                self.by_value[key.value] = key
            else:
                self.sortable = False
        super().__setitem__(key, value)

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self and getattr(key, "type", None) == "S":
            del self.order[bisect.bisect_left(self.order, key.value)]
            del self.by_value[key.value]
        return super().pop(key, *default)

    def __delitem__(self, key: Any) -> None:
        self.pop(key)


_OPERATORS = {"=": "EQ", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE"}


def _window(
    part: _SortedPartition,
    comparison: str | None,
    values: list[Any],
    limit: int | None,
    start: str | None,
    forward: bool,
) -> list[Any] | None:
    """The items moto's Query walks before it stops, in range key order; ``None``: unsure."""
    order, n = part.order, len(part.order)
    lo, hi = 0, n  # the key condition's range: order[lo:hi]
    if comparison is not None:
        op = _OPERATORS.get(comparison, comparison.upper())
        if not values or any(getattr(v, "type", None) != "S" for v in values):
            return None
        v = values[0].value
        if op == "EQ":
            lo, hi = bisect.bisect_left(order, v), bisect.bisect_right(order, v)
        elif op == "LT":
            hi = bisect.bisect_left(order, v)
        elif op == "LE":
            hi = bisect.bisect_right(order, v)
        elif op == "GT":
            lo = bisect.bisect_right(order, v)
        elif op == "GE":
            lo = bisect.bisect_left(order, v)
        elif op == "BETWEEN" and len(values) == 2:
            lo, hi = bisect.bisect_left(order, v), bisect.bisect_right(order, values[1].value)
        elif op == "BEGINS_WITH":
            lo = bisect.bisect_left(order, v)
            hi = bisect.bisect_right(order, v, lo, key=lambda s: s[: len(v)])
        else:
            return None
    walk = limit + 2 if limit else None  # the start key, the results, and one more
    if forward:
        a = lo if start is None else max(lo, bisect.bisect_left(order, start))
        b = min(hi + 1, n)
        if walk is not None:
            b = min(b, a + walk)
    else:
        b = hi if start is None else min(hi, bisect.bisect_right(order, start))
        a = max(lo - 1, 0)
        if walk is not None:
            a = max(a, b - walk)
    return [part[part.by_value[s]] for s in order[a:b]]


#: During the warm-up publish, every Query is answered both ways and compared.
_CHECK = {"on": False, "queries": 0}


def _query_by_bisection() -> None:
    """Sorted partitions, and a Query that hands moto only what it would walk (see above)."""
    from moto.dynamodb.models.table import Table

    original_init, original_query = Table.__init__, Table.query
    original_all_items = Table.all_items
    signature = inspect.signature(original_query)
    handed = threading.local()  # per thread: queries run in threads at once

    def all_items(self: Any) -> Any:
        if getattr(handed, "table", None) is self:
            return handed.items
        return original_all_items(self)

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.items.default_factory = _SortedPartition

    def over(self: Any, items: list[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        handed.table, handed.items = self, items  # what all_items returns to this query
        try:
            return original_query(self, *args, **kwargs)
        finally:
            handed.table = handed.items = None

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs).arguments
        hash_key = bound["hash_key"]
        if bound.get("index_name") or hash_key is None or not self.range_key_attr:
            return original_query(self, *args, **kwargs)
        part = self.items.get(hash_key)
        if not isinstance(part, _SortedPartition) or not part.sortable:
            return over(self, list((part or {}).values()), args, kwargs)
        start_key = bound.get("exclusive_start_key")
        start = None
        if start_key:
            start = start_key.get(self.range_key_attr, {}).get("S")
            if start is None:
                return over(self, list(part.values()), args, kwargs)
        window = _window(
            part,
            bound.get("range_comparison"),
            bound.get("range_objs") or [],
            bound.get("limit"),
            start,
            bound.get("scan_index_forward") is not False,
        )
        if window is None:
            return over(self, list(part.values()), args, kwargs)
        answer = over(self, window, args, kwargs)
        if _CHECK["on"]:
            _CHECK["queries"] += 1
            full = over(self, list(part.values()), args, kwargs)
            if _answer(answer) != _answer(full):
                raise SystemExit(f"benchmark: bisected Query differs from moto's: {bound}")
        return answer

    Table.__init__ = init  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]


def _answer(answer: tuple[list[Any], int, Any]) -> tuple[list[Any], int, Any]:
    items, count, last = answer
    return [item.to_json() for item in items], count, last


class _AwsTimer:
    """Wall time during which at least one botocore call (``before-call`` to ``after-call``)
    is under way on the clients, and the calls' count. Calls run in threads at once: time
    inside several of them counts once."""

    def __init__(self, clients: list[Any]) -> None:
        self.counts: Counter[str] = Counter()
        self.inside = 0.0
        self._lock = threading.Lock()
        self._under_way = 0
        self._since = 0.0
        for client in clients:
            client.meta.events.register("before-call.*.*", self._before)
            client.meta.events.register("after-call.*.*", self._after)
            client.meta.events.register("after-call-error.*.*", self._after)

    def clear(self) -> None:
        with self._lock:
            self.counts.clear()
            self.inside = 0.0

    def _before(self, event_name: str, **_: Any) -> None:
        with self._lock:
            self.counts[event_name.split(".", 1)[1]] += 1  # "before-call.s3.PutObject"
            if not self._under_way:
                self._since = time.perf_counter()
            self._under_way += 1

    def _after(self, **_: Any) -> None:
        with self._lock:
            if not self._under_way:
                return
            self._under_way -= 1
            if not self._under_way:
                self.inside += time.perf_counter() - self._since


def _event(key: str, sequencer: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(_S3_PUT)  # a fresh copy of the handler tests' event
    record = event["Records"][0]
    record["s3"]["object"]["key"] = key
    record["s3"]["object"]["sequencer"] = sequencer
    return event


_S3_PUT = (REPO / "tests" / "events" / "s3-put.json").read_text()


def run(n: int) -> dict[str, Any]:
    """Publish ``PUBLISHED`` articles into an index of ``n``; say what it cost."""
    _environment()
    from moto import mock_aws

    from newswire.local.moto_server import serialise_in_process_moto

    _without_moto_table_backup()
    _query_by_bisection()
    serialise_in_process_moto()  # the publisher sends requests from several threads

    with mock_aws():
        from benchmarks.corpus import SITE_YAML, Article, newswire_article
        from newswire import runtime
        from newswire.local.resources import ResourceNames, create_resources

        runtime.clear_clients()
        s3, dynamodb = runtime.aws_client("s3"), runtime.aws_client("dynamodb")
        create_resources(s3, dynamodb, None, ResourceNames())
        s3.put_object(Bucket="newswire-content", Key="site.yaml", Body=SITE_YAML.encode())
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        first_new = now - timedelta(minutes=50)  # published "now": in the news sitemap
        started = time.perf_counter()
        months = _populate(dynamodb, "newswire-index", n, first_new - timedelta(minutes=30))
        populate_s = time.perf_counter() - started
        # The synthetic index lives in this process, as moto's objects, where in AWS it is in
        # DynamoDB: kept out of the collector, so that a collection landing in the handler
        # walks the function's own objects only, at every index size.
        gc.collect()
        gc.freeze()

        from newswire.handlers import publish

        timer = _AwsTimer([s3, dynamodb])

        def publish_one(key: str, i: int, sequencer: str) -> tuple[float, float]:
            article = Article(i)
            article.published = first_new + timedelta(minutes=i % 1000)
            s3.put_object(Bucket="newswire-content", Key=key, Body=newswire_article(article))
            timer.clear()
            t0 = time.perf_counter()
            result: dict[str, Any] = publish.handler(_event(key, sequencer), _Context())
            elapsed = time.perf_counter() - t0
            if result["changes"][0]["action"] != "published":
                raise RuntimeError(f"publish failed: {result}")
            return elapsed, timer.inside

        times: list[float] = []
        outside: list[float] = []
        requests: list[dict[str, int]] = []
        for j in range(PUBLISHED + 1):
            _CHECK["on"] = j == 0  # the warm-up: imports, first clients, Query cross-check
            elapsed, inside = publish_one(
                f"articles/bench-new-{j}.md", 900_000 + j, f"{0x1000 + j:X}"
            )
            _CHECK["on"] = False
            if j:
                times.append(elapsed)
                outside.append(elapsed - inside)
                requests.append(dict(timer.counts))
        if not _CHECK["queries"]:
            raise SystemExit("benchmark: no Query was cross-checked")
        # Memory: one more publish, under tracemalloc (which slows it, so it is not timed).
        gc.collect()
        tracemalloc.start()
        publish_one("articles/bench-new-memory.md", 900_010, "3000")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        totals = [sum(r.values()) for r in requests]
        return {
            "n": n,
            "populate_s": populate_s,
            "handler_s": statistics.median(times),
            "outside_aws_s": statistics.median(outside),
            "handler_all": times,
            "outside_aws_all": outside,
            "month_articles": months[first_new.strftime("%Y-%m")],
            "months": len(months),
            "queries_checked": _CHECK["queries"],
            "requests": totals[0] if len(set(totals)) == 1 else statistics.median(totals),
            "requests_all": totals,
            "requests_by_op": requests[0],
            "tracemalloc_peak_mb": peak / 2**20,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "functions"))
    print(json.dumps(run(int(sys.argv[1]))))
