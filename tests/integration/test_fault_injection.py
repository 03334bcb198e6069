"""A newsroom's stream of creates, edits and deletes through the publish handler, with faults.

The handler is invoked the way Lambda's SQS poller would invoke it (batches of up to 10, every
record an S3 event notification of a versioned bucket), against moto, while S3 answers some
GetObject/PutObject/HeadObject calls with 5xx, DynamoDB throttles some reads and writes and
cancels some transactions on a ``TransactionConflict``, and the queue delivers twice, out of
order, and redelivers every failed record later in other batches (see tests/support/faults.py).
When every record has succeeded, the feeds bucket must hold exactly what a clean
``newswire build`` of the content bucket's final articles writes, byte for byte: every object,
``feed.xsl`` and ``news-sitemap.xml`` included. The allowances: a feed left with no
article stays in the bucket, empty, where a build writes none; a deleted article leaves a
tombstone in the main and archive Atom feeds, which a build never saw. The reports under
``_reports/`` and the WebSub pings must have survived the faults too.

Both paths judge the articles at one fixed ``NOW``: the publisher gets it as its ``clock``
(the handler's ``publisher_from_env`` is wrapped, as tests/handlers/test_schedule_handler.py
does), the build as ``--now``. moto's DynamoDB is made to answer in time proportional to what
a call touches (tests/support/quickmoto.py); everything else is moto as it is.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from moto import mock_aws

from newswire import runtime
from newswire.adapters.local import MANIFEST_FILE
from newswire.cli import main
from newswire.domain.feeds import FeedFormat, is_feed_path
from newswire.handlers import publish
from tests.handlers.conftest import FakeLambdaContext
from tests.support.aws import REGION, Stack, create_resources
from tests.support.faults import (
    DYNAMODB_THROTTLING,
    FaultInjector,
    SimulatedQueue,
    s3_notification,
)
from tests.support.hub import Hub, running_hub
from tests.support.quickmoto import quicker_dynamodb
from tests.support.tombstones import without_deletion_tombstones

pytestmark = pytest.mark.slow

SEED = 20261101
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
OPERATIONS = 150
HAZARD_OPERATIONS = 60
#: The chance that one call fails: enough for a third or so of the deliveries to fail, while a
#: record still gets through in a few tries.
FAULT_RATES = {
    "s3.GetObject": 0.03,
    "s3.PutObject": 0.008,
    "s3.HeadObject": 0.003,
    "dynamodb.GetItem": 0.01,
    "dynamodb.Query": 0.002,
    "dynamodb.BatchGetItem": 0.004,
    "dynamodb.TransactWriteItems": 0.1,
    # Rejections are few and old months' archives are rarely rewritten: some of their writes
    # are aimed at, so that a report, or a feed written by an attempt that then failed, is lost
    # for good unless the pipeline makes up for it.
    "s3.PutObject /_reports/": 0.5,
    "s3.PutObject /archive/": 0.04,
}

#: The chance that S3 sends a notification twice, and that SQS delivers a processed message again.
DUPLICATE_RATE = 0.08

SITE_YAML = b"""\
title: Fault Line News
description: News that survives a bad day at the data centre.
base_url: https://faultline.example/
timezone: Europe/London
author:
  name: Fault Line Desk
  email: desk@faultline.example
items_per_feed: 6
"""
TAGS = ["politics", "weather", "transport", "business", "Local Government", "Café Society"]
AUTHORS = ["Priya Raman", "Tom Hughes", "Ana Lima", "Kofi Mensah"]
SECTIONS = ["World", "Local", "Business", None, None, None]


@dataclass
class Newsroom:
    """Writes articles into the content bucket and sends S3's notification of each write."""

    rng: random.Random
    stack: Stack
    queue: SimulatedQueue
    sequence: int = 0
    ids: dict[str, str | None] = field(default_factory=dict)  # key -> its explicit id
    existing: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)  # keys whose current version is invalid
    never_valid: set[str] = field(default_factory=set)
    versions: dict[str, list[str]] = field(default_factory=dict)  # key -> its versions' ids
    markers: dict[str, tuple[str, bool]] = field(default_factory=dict)  # key -> (marker, invalid)
    counts: dict[str, int] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)  # the hazardous changes, for a failure

    def _notify(self, key: str, event_name: str, response: dict[str, Any], size: int) -> None:
        self.sequence += 1
        sequencer = f"{0x0067A1B2C3D4000000 + self.sequence * 0x1F3:018X}"
        self.queue.send(
            s3_notification(
                self.stack.content_bucket,
                key,
                event_name,
                sequencer,
                response.get("VersionId"),
                size,
                response.get("ETag"),
            )
        )

    def _count(self, what: str, key: str = "") -> None:
        self.counts[what] = self.counts.get(what, 0) + 1
        if key:
            self.log.append(f"{what}: {key}")

    def write(self, key: str, body: bytes, *, valid: bool = True) -> None:
        response = self.stack.s3.put_object(Bucket=self.stack.content_bucket, Key=key, Body=body)
        self.existing.add(key)
        self.deleted.discard(key)
        self.markers.pop(key, None)  # a recreated article: no undelete of it
        (self.invalid.discard if valid else self.invalid.add)(key)
        self.versions.setdefault(key, []).append(response["VersionId"])
        self._notify(key, "ObjectCreated:Put", response, len(body))

    def delete(self, key: str) -> None:
        response = self.stack.s3.delete_object(Bucket=self.stack.content_bucket, Key=key)
        assert response.get("DeleteMarker"), "the content bucket must be versioned"
        self.markers[key] = (response["VersionId"], key in self.invalid)
        self.existing.discard(key)
        self.invalid.discard(key)
        self.deleted.add(key)
        self._notify(key, "ObjectRemoved:DeleteMarkerCreated", response, 0)

    def article(self, key: str) -> bytes:
        """A valid article for ``key``: new field values each time it is written."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.05:
            published = NOW + timedelta(days=rng.randint(1, 30))  # scheduled
        elif roll < 0.3:
            published = NOW - timedelta(minutes=rng.randint(5, 40 * 60))  # news sitemap
        else:
            published = NOW - timedelta(days=rng.randint(2, 150), minutes=rng.randint(0, 1439))
        fields: dict[str, Any] = {
            "title": f"{rng.choice(['Council', 'Harbour', 'Rail', 'Market'])} story"
            f" {PurePosixPath(key).stem} v{rng.randint(1, 999)}",
            "published": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tags": rng.sample(TAGS, rng.choice([0, 1, 1, 2])),
        }
        if authors := rng.sample(AUTHORS, rng.choice([0, 1, 1])):
            fields["authors"] = [{"name": name} for name in authors]
        if section := rng.choice(SECTIONS):
            fields["section"] = section
        if explicit_id := self.ids.get(key):
            fields["id"] = explicit_id
        if rng.random() < 0.05:
            fields["draft"] = True
        if rng.random() < 0.2:
            fields["updated"] = (published + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = f"Report number {rng.randint(1, 10**6)} from the desk.\n\nSecond paragraph & more."
        if key.endswith(".json"):
            return json.dumps({**fields, "body_markdown": body}, ensure_ascii=False).encode()
        front = "\n".join(f"{name}: {json.dumps(value)}" for name, value in fields.items())
        return f"---\n{front}\n---\n\n{body}\n".encode()

    @staticmethod
    def broken(key: str) -> bytes:
        if key.endswith(".json"):
            return b'{"title": "Broken", "published": "next Tuesday", "body_markdown": "x"}'
        return b'---\ntitle: "Broken"\npublished: next Tuesday\n---\n\nBody.\n'

    def create(self) -> None:
        number = len(self.ids)
        key = f"articles/story-{number:03d}.{self.rng.choice(['md', 'md', 'json'])}"
        explicit = self.rng.random() < 0.2
        self.ids[key] = f"urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128))}" if explicit else None
        if self.rng.random() < 0.1:
            self.never_valid.add(key)
            self.write(key, self.broken(key), valid=False)
            self._count("creates (invalid)")
            return
        self.write(key, self.article(key))
        self._count("creates")

    def step(self) -> None:
        """One change, chosen the way a newsroom's day goes."""
        editable = sorted(self.existing - self.never_valid)
        roll = self.rng.random()
        if len(editable) < 15 or roll < 0.3:
            self.create()
        elif roll < 0.62:
            key = self.rng.choice(editable)
            if self.rng.random() < 0.1:
                self.write(key, self.broken(key), valid=False)
                self._count("edits (invalid)")
            else:
                self.write(key, self.article(key))
                self._count("edits")
        elif roll < 0.92 or not self.deleted:
            self.delete(self.rng.choice(editable))
            self._count("deletes")
        else:
            key = self.rng.choice(sorted(self.deleted))
            self.write(key, self.article(key))
            self._count("recreates")

    def hazardous_step(self) -> None:
        """A change, or now and then what S3 versioning and renames send on top of creates,
        edits and deletes: the deletion of an old version or of a delete marker (an undelete),
        both ``ObjectRemoved:Delete`` while the object exists, and a rename of an article with
        an explicit ``id`` (copy to a new key, delete the old one), as the README advises."""
        roll = self.rng.random()
        old_versions = sorted(k for k in self.existing if len(self.versions.get(k, [])) > 1)
        renamable = sorted(k for k in self.existing - self.invalid if self.ids.get(k))
        if roll < 0.1 and old_versions:
            key = self.rng.choice(old_versions)
            version = self.versions[key].pop(0)
            response = self.stack.s3.delete_object(
                Bucket=self.stack.content_bucket, Key=key, VersionId=version
            )
            self._notify(key, "ObjectRemoved:Delete", response, 0)
            self._count("old versions deleted", key)
        elif roll < 0.2 and self.markers:
            key = self.rng.choice(sorted(self.markers))
            marker, was_invalid = self.markers.pop(key)
            response = self.stack.s3.delete_object(
                Bucket=self.stack.content_bucket, Key=key, VersionId=marker
            )
            self.existing.add(key)
            self.deleted.discard(key)
            if was_invalid:
                self.invalid.add(key)
            self._notify(key, "ObjectRemoved:Delete", response, 0)
            self._count("undeletes", key)
        elif roll < 0.3 and renamable:
            old = self.rng.choice(renamable)
            new = f"articles/story-{len(self.ids):03d}{PurePosixPath(old).suffix}"
            self.ids[new], self.ids[old] = self.ids[old], None  # the id moves with the text
            response = self.stack.s3.copy_object(
                Bucket=self.stack.content_bucket,
                Key=new,
                CopySource={"Bucket": self.stack.content_bucket, "Key": old},
            )
            self.existing.add(new)
            self.versions[new] = [response["VersionId"]]
            self._notify(new, "ObjectCreated:Copy", response, 0)
            self.delete(old)
            del self.markers[old]  # undeleting it would give its id to two articles
            self._count("renames", f"{old} -> {new}")
        else:
            self.step()

    def mend(self) -> None:
        """Fix every article left invalid by an edit: its last good version would otherwise
        stay published by the pipeline, by design, while a build leaves it out."""
        for key in sorted(self.invalid - self.never_valid):
            self.write(key, self.article(key))
            self._count("edits")


@dataclass
class Run:
    """What a stream left: both buckets' final objects, and what happened on the way."""

    content: dict[str, bytes]
    feeds: dict[str, bytes]
    newsroom: Newsroom
    queue: SimulatedQueue
    faults: FaultInjector
    hub: Hub
    #: Every feeds-bucket object the handler wrote, with how many hub pings came before.
    writes: list[tuple[str, int]]
    seconds: float


@pytest.fixture(scope="module")
def run() -> Run:
    """The whole stream of creates, edits and deletes, once, for the checks below."""
    return stream(OPERATIONS, hazards=False)


@pytest.fixture(scope="module")
def hazard_run() -> Run:
    """A shorter stream with S3 versioning's removals and renames mixed in."""
    return stream(HAZARD_OPERATIONS, hazards=True)


def lambda_stack(monkeypatch: pytest.MonkeyPatch, site_yaml: bytes) -> Stack:
    """Inside ``mock_aws``: the buckets (versioned, as infra/ makes them), the index, the
    publish function's environment, and its publisher judging articles at ``NOW``."""
    stack = Stack(s3=None, dynamodb=None)
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "CONTENT_BUCKET": stack.content_bucket,
        "FEEDS_BUCKET": stack.feeds_bucket,
        "INDEX_TABLE": stack.table,
        "POWERTOOLS_TRACE_DISABLED": "1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    runtime.clear_clients()
    stack.s3, stack.dynamodb = boto3.client("s3"), boto3.client("dynamodb")
    create_resources(stack.s3, stack.dynamodb, stack)
    for bucket in (stack.content_bucket, stack.feeds_bucket):
        stack.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    stack.s3.put_object(Bucket=stack.content_bucket, Key="site.yaml", Body=site_yaml)
    real_publisher_from_env = runtime.publisher_from_env

    def at_now(*args: Any, **kwargs: Any) -> Any:
        publisher = real_publisher_from_env(*args, **kwargs)
        publisher.clock = lambda: NOW
        return publisher

    monkeypatch.setattr(publish, "publisher_from_env", at_now)
    return stack


def stream(operations: int, *, hazards: bool) -> Run:
    """Stream ``operations`` changes through the handler under faults, until all succeed."""
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        mock_aws(),
        quicker_dynamodb(),
        running_hub() as hub,
    ):
        stack = lambda_stack(monkeypatch, SITE_YAML + f"hub: {hub.url}\n".encode())

        faults = FaultInjector(random.Random(SEED + 1), FAULT_RATES)
        faults.attach(runtime.aws_client("s3"))  # the clients the handler itself uses
        faults.attach(runtime.aws_client("dynamodb"))
        writes = record_feed_writes(runtime.aws_client("s3"), stack.feeds_bucket, hub)
        # which draws the queue makes depends on which calls failed, so the counts the last
        # checks ask for are chances: rates high enough that falling short is a 1-in-1000 run
        queue = SimulatedQueue(random.Random(SEED + 2), duplicate_rate=DUPLICATE_RATE)
        newsroom = Newsroom(random.Random(SEED), stack, queue)
        context = FakeLambdaContext()

        def invoke(event: dict[str, Any]) -> dict[str, Any]:
            result: dict[str, Any] = publish.handler(event, context)
            return result

        started = time.perf_counter()
        for _ in range(operations):
            newsroom.hazardous_step() if hazards else newsroom.step()
            if newsroom.rng.random() < 0.6:
                queue.deliver(invoke)
        newsroom.mend()
        queue.drain(invoke)
        seconds = time.perf_counter() - started
        faults.enabled = False
        runtime.clear_clients()
        return Run(
            bucket_objects(stack, stack.content_bucket),
            bucket_objects(stack, stack.feeds_bucket),
            newsroom,
            queue,
            faults,
            hub,
            writes,
            seconds,
        )


def record_feed_writes(client: Any, bucket: str, hub: Hub) -> list[tuple[str, int]]:
    """Log each object ``client`` writes into ``bucket``, with the number of pings so far."""
    writes: list[tuple[str, int]] = []

    def remember_key(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["feed_key"] = params["Key"] if params["Bucket"] == bucket else None

    def log_write(http_response: Any, context: dict[str, Any], **_: Any) -> None:
        if context.get("feed_key") and http_response.status_code == 200:
            writes.append((context["feed_key"], len(hub.pings)))

    client.meta.events.register("before-parameter-build.s3.PutObject", remember_key)
    client.meta.events.register("after-call.s3.PutObject", log_write)
    return writes


def bucket_objects(stack: Stack, bucket: str) -> dict[str, bytes]:
    """The current version of every object in ``bucket``."""
    objects: dict[str, bytes] = {}
    for page in stack.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = stack.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            objects[item["Key"]] = body
    return objects


def built_tree(content: dict[str, bytes], tmp_path: Path) -> dict[str, bytes]:
    """What ``newswire build`` writes from ``content`` (the bucket's articles and site.yaml)."""
    folder, out = tmp_path / "content", tmp_path / "public"
    for key, body in content.items():
        if key == "site.yaml" or key.startswith("articles/"):
            (folder / key).parent.mkdir(parents=True, exist_ok=True)
            (folder / key).write_bytes(body)
    status = main(["build", str(folder), "--out", str(out), "--now", NOW.isoformat(), "--no-cache"])
    assert status in (0, 1)  # 1: some articles are rejected, which the stream has
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file() and path.name != MANIFEST_FILE  # the build's own note, not a feed
    }


def test_the_stream_is_big_and_faulty_enough_to_mean_something(run: Run) -> None:
    counts = run.newsroom.counts
    print(f"\nchanges: {counts}\nqueue: {dict(run.queue.stats)}")
    print(f"faults: {dict(run.faults.injected)}\nin {run.seconds:.1f} s")
    print(f"calls: {dict(run.faults.calls)}")
    print("report writes failed:", [p for p in run.faults.failed_paths if "_reports/" in p])
    assert sum(counts.values()) >= 150
    assert counts["creates"] >= 40 and counts["edits"] >= 30 and counts["deletes"] >= 25
    stats = run.queue.stats
    assert stats["duplicate notifications"] >= 3 and stats["redelivered after success"] >= 3
    assert stats["failed deliveries"] >= 20
    injected = run.faults.injected
    for kind in (
        "s3.GetObject",
        "s3.PutObject",
        "s3.HeadObject",
        "dynamodb.TransactWriteItems TransactionCanceledException",
    ):
        assert sum(n for name, n in injected.items() if name.startswith(kind)) >= 2, kind
    # throttled, in either of the ways DynamoDB says it
    throttled = [f"dynamodb.TransactWriteItems {fault.code}" for fault in DYNAMODB_THROTTLING]
    assert sum(injected[name] for name in throttled) >= 2


def test_the_feeds_are_byte_identical_to_a_clean_build(run: Run, tmp_path: Path) -> None:
    assert_feeds_match_a_clean_build(run, tmp_path)


def is_empty_feed(path: str, body: bytes) -> bool:
    """Whether ``path`` is a feed document (or a month's sitemap) listing no article."""
    if path.endswith("feed.json"):
        return json.loads(body)["items"] == []
    if path.startswith("sitemaps/"):
        return b"<url>" not in body
    return is_feed_path(path) and b"<item>" not in body and b"<entry>" not in body


def archived_urls(files: dict[str, bytes]) -> set[str]:
    """The URL of every article in the monthly archives (which hold every published one)."""
    return {
        item["url"]
        for path, body in files.items()
        if path.startswith("archive/") and path.endswith("/feed.json")
        for item in json.loads(body)["items"]
    }


def assert_feeds_match_a_clean_build(run: Run, tmp_path: Path) -> None:
    built = built_tree(run.content, tmp_path)
    published, deleted = without_deletion_tombstones(run.feeds)
    assert not deleted & archived_urls(built), "a tombstone of a live article"

    shown, expected = archived_urls(published), archived_urls(built)
    only_published, only_built = sorted(shown - expected), sorted(expected - shown)
    assert not (only_published or only_built), f"{only_published=} {only_built=}"
    # The one difference today's code allows: a tag, author or section feed, or a month's
    # archive, whose last article was deleted or moved stays in the bucket as an empty feed
    # (the publisher rewrites, it never deletes: its role has no s3:DeleteObject there), while
    # the build writes files only for feeds with articles and prunes the others.
    emptied = sorted(set(published) - set(built))
    assert [path for path in emptied if not is_empty_feed(path, published[path])] == []
    assert sorted(set(published) - set(emptied)) == sorted(built)
    differing = [path for path in sorted(built) if published[path] != built[path]]
    for path in differing[:1]:  # the first difference as text, for a readable failure
        assert published[path].decode() == built[path].decode(), path
    assert not differing


def test_every_rejected_article_has_its_report_and_no_other_does(run: Run) -> None:
    reported = {
        key.removeprefix("_reports/").removesuffix(".json")
        for key in run.content
        if key.startswith("_reports/")
    }

    assert reported == run.newsroom.never_valid


def test_every_feed_is_announced_after_its_last_write(run: Run) -> None:
    feeds_url = "https://faultline.example/feeds/"
    last_write = dict(run.writes)  # the last one of each path wins
    unannounced = sorted(
        path
        for path, pings_before in last_write.items()
        if is_feed_path(path)
        and not any(
            feeds_url + quote(path) in ping["hub.url"] for ping in run.hub.pings[pings_before:]
        )
    )

    assert len(run.hub.pings) >= 20
    assert unannounced == []


def test_versioning_and_renames_leave_the_feeds_a_build_would_write(
    hazard_run: Run, tmp_path: Path
) -> None:
    print(f"\nchanges: {hazard_run.newsroom.counts}", *hazard_run.newsroom.log, sep="\n")
    assert_feeds_match_a_clean_build(hazard_run, tmp_path)


def test_an_article_in_a_folder_is_built_as_it_is_published(tmp_path: Path) -> None:
    key = "articles/café culture/harbour-reopens.md"
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        mock_aws(),
        quicker_dynamodb(),
    ):
        stack = lambda_stack(monkeypatch, SITE_YAML)
        body = b'---\ntitle: "Harbour reopens"\npublished: 2026-10-01T09:00:00Z\n---\n\nAt last.\n'
        response = stack.s3.put_object(Bucket=stack.content_bucket, Key=key, Body=body)
        queue = SimulatedQueue(random.Random(SEED), duplicate_rate=0)
        queue.send(
            s3_notification(
                stack.content_bucket,
                key,
                "ObjectCreated:Put",
                "0067A1B2C3D4000001",
                response["VersionId"],
                len(body),
                response["ETag"],
            )
        )
        queue.drain(lambda event: publish.handler(event, FakeLambdaContext()))
        content = bucket_objects(stack, stack.content_bucket)
        published = bucket_objects(stack, stack.feeds_bucket)
        runtime.clear_clients()

    assert "https://faultline.example/articles/harbour-reopens/" in archived_urls(published)
    assert archived_urls(built_tree(content, tmp_path)) == archived_urls(published)


def test_a_feed_whose_articles_are_all_gone_stays_empty_where_a_build_writes_none(
    tmp_path: Path,
) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws(), quicker_dynamodb():
        stack = lambda_stack(monkeypatch, SITE_YAML)
        queue = SimulatedQueue(random.Random(SEED), duplicate_rate=0)
        newsroom = Newsroom(random.Random(SEED), stack, queue)
        newsroom.write(
            "articles/lonely.md",
            b'---\ntitle: "Lonely"\npublished: 2026-05-01T09:00:00Z\ntags: [lonely]\n---\n\nA.\n',
        )
        newsroom.write(
            "articles/other.md",
            b'---\ntitle: "Other"\npublished: 2026-10-01T09:00:00Z\n---\n\nB.\n',
        )
        queue.drain(lambda event: publish.handler(event, FakeLambdaContext()))
        newsroom.delete("articles/lonely.md")
        queue.drain(lambda event: publish.handler(event, FakeLambdaContext()))
        content = bucket_objects(stack, stack.content_bucket)
        published = bucket_objects(stack, stack.feeds_bucket)
        runtime.clear_clients()
    built = built_tree(content, tmp_path)
    published, deleted = without_deletion_tombstones(published)
    assert deleted == {"https://faultline.example/articles/lonely/"}

    emptied = sorted(set(published) - set(built))
    assert emptied == sorted(
        [
            *(
                f"{folder}/{fmt.filename}"
                for folder in ("archive/2026-05", "tags/lonely")
                for fmt in FeedFormat
            ),
            "sitemaps/2026-05.xml",  # the month's sitemap too, out of the index
        ]
    )
    assert all(is_empty_feed(path, published[path]) for path in emptied)
    assert {path: published[path] for path in built} == built
