"""The AWS pipeline and ``newswire build`` publish the same feeds, byte for byte.

The same articles are built by :func:`build_site` at a fixed ``now`` and published on moto
through the pipeline with a clock stopped at that ``now``: once by a reindex of the content
bucket, once article by article as S3 events would bring them (sequencers in upload order).
Every object of the feeds bucket must then be the build's file of that path, byte for byte,
and the two must publish the same paths: the feed directory (``index.html``, ``feeds.opml``,
``directory.json``) too, which the pipeline updates feed by feed.

One difference is by design: the pipeline never deletes a feed object. A feed it emptied (a
tag nobody uses any more, a month whose only article moved) is rewritten with no items, so a
subscriber sees an empty feed instead of an error; the build, which owns its output folder,
leaves such a feed out. Those are the only paths the pipeline may have beyond the build's.
Another is in the documents: a deleted file leaves a tombstone (RFC 6721) in the pipeline's
main and archive Atom feeds, where the build, which never saw the file, has none.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from lxml import etree

from newswire.build import build_site
from newswire.content.site import SITE_CONFIG_KEY, parse_site
from newswire.domain.feeds import FeedFormat
from newswire.domain.model import SiteConfig
from newswire.pipeline.changes import ArticleChange, normalise_sequencer
from newswire.pipeline.publisher import Publisher
from newswire.rendering import sitemap
from newswire.rendering.directory import DIRECTORY_PATHS, OPML_PATH, PAGE_PATH
from newswire.rendering.registry import RENDERERS
from newswire.rendering.sitemap import SITEMAP_INDEX_PATH
from tests.support.aws import Stack, moto_stack
from tests.support.corpus import generate_corpus
from tests.support.factories import CONTENT, content_sources, make_entry, make_feed
from tests.support.quickmoto import quicker_dynamodb
from tests.support.tombstones import without_deletion_tombstones

#: The clock of both paths: after the generated corpus's last article (2025-12-31).
NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
#: The content folder's clock, as its golden files are built at.
CONTENT_NOW = datetime(2026, 11, 1, tzinfo=UTC)

ArticleBytes = tuple[str, bytes]
ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


def reindex(publisher: Publisher) -> None:
    """The whole-bucket rebuild, as the engine runs it in-process."""
    try:
        from newswire.pipeline.reindex import reindex as engine_reindex
    except ImportError:  # the engine's phases are not on this branch yet
        publisher.reindex()
    else:
        engine_reindex(publisher)


# --- the two paths -------------------------------------------------------------------------


def built(sources: Sequence[ArticleBytes], site: SiteConfig, now: datetime) -> dict[str, bytes]:
    """Every file ``newswire build`` writes for ``sources``, by path."""
    report = build_site(sources, site, now)
    return {file.path: file.body for file in report.files}


@dataclass(frozen=True)
class Upload:
    """One write (``body``) or delete (``None``) of the content bucket, in upload order."""

    key: str
    body: bytes | None


def final_content(uploads: Sequence[Upload]) -> list[ArticleBytes]:
    """What the bucket holds after ``uploads``: what a build of the same folder reads."""
    current: dict[str, bytes | None] = {}
    for upload in uploads:
        current[upload.key] = upload.body
    return [(key, body) for key, body in sorted(current.items()) if body is not None]


@dataclass
class Pipeline:
    """The pipeline on moto, at a stopped clock."""

    stack: Stack
    now: datetime

    def publisher(self) -> Publisher:
        return self.stack.publisher(clock=lambda: self.now)

    def reindex(self, uploads: Sequence[Upload]) -> None:
        for key, body in final_content(uploads):
            self.stack.put_article(key, body)
        reindex(self.publisher())

    def publish_each(self, uploads: Sequence[Upload]) -> None:
        """Each upload as S3 would report it: written, then its event handled."""
        publisher = self.publisher()
        for number, upload in enumerate(uploads):
            if upload.body is None:
                self.stack.s3.delete_object(Bucket=self.stack.content_bucket, Key=upload.key)
            else:
                self.stack.put_article(upload.key, upload.body)
            sequencer = normalise_sequencer(f"{0x1000 + number:X}")
            publisher.publish(ArticleChange(upload.key, upload.body is None, sequencer))

    def feeds(self) -> dict[str, bytes]:
        """Every object of the feeds bucket, by key."""
        paginator = self.stack.s3.get_paginator("list_objects_v2")
        keys = [
            item["Key"]
            for page in paginator.paginate(Bucket=self.stack.feeds_bucket)
            for item in page.get("Contents", [])
        ]
        return {key: self.stack.feed(key) for key in keys}


def item_count(path: str, body: bytes) -> int:
    """How many items the feed document at ``path`` holds."""
    name = path.rsplit("/", 1)[-1]
    if path.startswith("sitemaps/"):
        return len(etree.fromstring(body).findall(f"{{{SITEMAP}}}url"))
    if name == FeedFormat.JSON.filename:
        return len(json.loads(body)["items"])
    tag = "item" if name == FeedFormat.RSS.filename else f"{{{ATOM}}}entry"
    return sum(1 for _ in etree.fromstring(body).iter(tag))


def assert_same_feeds(
    build: dict[str, bytes],
    pipeline: dict[str, bytes],
    *,
    emptied: Sequence[str] = (),
    emptied_parts: Sequence[str] = (),
) -> None:
    """The pipeline published every file of the build, byte for byte, and nothing else but
    the feeds it emptied (``emptied``: their folders; an emptied archive's month sitemap
    too, out of the sitemap index) and the sitemap parts a shrunk month no longer needs
    (``emptied_parts``), which hold no item."""
    missing = sorted(set(build) - set(pipeline))
    assert not missing, f"the build has files the pipeline lacks: {missing}"
    extra = sorted(set(pipeline) - set(build))
    expected_extra = sorted(
        [folder + fmt.filename for folder in emptied for fmt in FeedFormat]
        + [f"sitemaps/{folder[8:-1]}.xml" for folder in emptied if folder.startswith("archive/")]
        + list(emptied_parts)
    )
    assert extra == expected_extra, "the pipeline has files the build lacks"
    for path in extra:
        assert item_count(path, pipeline[path]) == 0, f"{path}: left behind with items"
        assert path.encode() not in build[SITEMAP_INDEX_PATH], f"{path}: still in the index"
    differing = [path for path in sorted(build) if build[path] != pipeline[path]]
    for path in differing[:1]:  # the first difference, as text, for a readable failure
        assert pipeline[path].decode() == build[path].decode(), path
    assert not differing


# --- corpora -------------------------------------------------------------------------------


def article(title: str, published: datetime | str, **fields: Any) -> bytes:
    """A Markdown article; ``fields`` are more front-matter fields, ``body`` its body."""
    body = fields.pop("body", f"Body of {title}.\n")
    when = published if isinstance(published, str) else published.isoformat()
    front = yaml.safe_dump(
        {"title": title, "published": when, **fields}, allow_unicode=True, sort_keys=False
    )
    return f"---\n{front}---\n\n{body}".encode()


def uploads_of(sources: Sequence[ArticleBytes]) -> list[Upload]:
    return [Upload(key, body) for key, body in sources]


def content_uploads() -> list[Upload]:
    return uploads_of(content_sources())


def generated_site_yaml() -> bytes:
    """The content folder's site with small feeds: many feeds overflow, some past their bytes."""
    text = (CONTENT / SITE_CONFIG_KEY).read_text(encoding="utf-8")
    text = text.replace("items_per_feed: 50", "items_per_feed: 6")
    return text.replace("max_feed_bytes: 1048576", "max_feed_bytes: 16000").encode()


def edge_cases() -> list[Upload]:
    """Articles that put each rule both paths apply to the test, in upload order."""
    hour = timedelta(hours=1)
    window_start = NOW - timedelta(days=2)
    same_time = datetime(2025, 12, 30, 9, 0, tzinfo=UTC)
    words = random.Random(5).choices(["harbour", "ferry", "council", "budget", "bridge"], k=2400)
    long_body = " ".join(words) + "\n"  # ~16 KB: one item is near the feed's byte budget
    return [
        Upload("articles/edge-draft.md", article("A draft", NOW - hour, draft=True)),
        Upload("articles/edge-scheduled.md", article("Scheduled", NOW + timedelta(minutes=1))),
        Upload("articles/edge-rejected.md", b"---\ntitle: No date\n---\n\nBody.\n"),
        # the second of two files with one id is rejected, in both paths
        Upload("articles/edge-id-a.md", article("Holds the id", NOW - 3 * hour, id="urn:x:1")),
        Upload("articles/edge-id-b.md", article("Wants the id", NOW - 2 * hour, id="urn:x:1")),
        # the news sitemap's window: its first instant is out, ``now`` is in
        Upload("articles/edge-window-start.md", article("Window start", window_start)),
        Upload("articles/edge-window-end.md", article("Window end", NOW)),
        # one published instant, more articles than a feed shows: ids decide who is shown
        *(
            Upload(
                f"articles/edge-tie-{n}.md",
                article(f"Tie {n}", same_time, id=f"urn:tie:{(n * 7) % 10}", tags=["Ties"]),
            )
            for n in range(9)
        ),
        # one feed, several spellings: named after its newest article's
        Upload(
            "articles/edge-spelling.md", article("Spelling", NOW - 5 * hour, tags=["CAFÉ society"])
        ),
        Upload("articles/edge-long.md", article("Long", NOW - 6 * hour, body=long_body)),
        # names as written, spaces and all: the feed's path and title are the entry's
        Upload(
            "articles/edge-names.md",
            article(
                "Names",
                NOW - 4 * hour,
                authors=["Zoë  Brontë", "李  伟"],
                section="World  News",
            ),
        ),
        Upload("articles/edge-huge.md", article("Huge", NOW - 8 * hour, body=huge_body())),
        # a URL the sitemaps escape, and an edit's time as its ``lastmod``; its IRIs become
        # the URIs RSS wants (rendering.xmlfeed.rss_url) alike in both paths
        Upload(
            "articles/edge-url.md",
            article(
                "Odd URL",
                NOW - 9 * hour,
                updated=(NOW - hour).isoformat(),
                canonical_url="https://elsewhere.example/café?a=1&b='2'",
                image={"url": "https://bücher.example/straße.jpg", "alt": "A street"},
            ),
        ),
    ]


def huge_body() -> str:
    """A body within the size articles may have whose entry is more than the index holds."""
    rng = random.Random(16)
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    words = ("".join(rng.choices(letters, k=9)) for _ in range(95_000))
    return " ".join(words) + "\n"


def generated_uploads(count: int) -> list[Upload]:
    """A generated archive over three years (tags, authors, mixed zones, JSON articles), a
    section on some, and the edge cases; with a history before its final state: an article
    moved out of a month and a tag it was alone in, and one deleted."""
    sections = ("World", "Business", "Culture")
    sources = [
        (key, body.replace(b"---\n", f"---\nsection: {sections[n % 3]}\n".encode(), 1))
        if n % 5 == 0 and key.endswith(".md")
        else (key, body)
        for n, (key, body) in enumerate(generate_corpus(count, seed=16))
    ]
    lone_month = datetime(2022, 6, 1, 8, 0, tzinfo=UTC)
    moved, deleted = "articles/edge-moved.md", "articles/edge-deleted.md"
    return [
        Upload(moved, article("Moved", lone_month, tags=["Passing Fad"])),
        Upload(deleted, article("Deleted", NOW - timedelta(hours=9), tags=["Gone"])),
        *uploads_of(sources),
        *edge_cases(),
        Upload(moved, article("Moved", NOW - timedelta(hours=7), tags=["world"])),
        Upload(deleted, None),
    ]


#: The feeds the per-article path empties in :func:`generated_uploads` (and keeps, empty).
GENERATED_EMPTIED = ("tags/passing-fad/", "tags/gone/", "archive/2022-06/")


# --- the tests ---------------------------------------------------------------------------

pytestmark = pytest.mark.usefixtures("aws_env")

#: The two ways the pipeline publishes a bucket: a reindex, and one S3 event per upload.
PATHS = pytest.mark.parametrize("path", ["reindex", "publish_each"])


def run(
    path: str, uploads: Sequence[Upload], site_yaml: bytes, now: datetime = NOW
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The build's files and the feeds bucket's objects, for the same ``uploads``; ``path``
    names how the pipeline gets them (a :class:`Pipeline` method)."""
    with quicker_dynamodb(), moto_stack(site_yaml) as stack:
        aws = Pipeline(stack, now)
        getattr(aws, path)(uploads)
        feeds = aws.feeds()
    site = parse_site(SITE_CONFIG_KEY, site_yaml)
    return built(final_content(uploads), site, now), feeds


@PATHS
def test_the_content_folder(path: str) -> None:
    site_yaml = (CONTENT / SITE_CONFIG_KEY).read_bytes()
    assert_same_feeds(*run(path, content_uploads(), site_yaml, CONTENT_NOW))


@PATHS
def test_the_edge_cases(path: str) -> None:
    build, feeds = run(path, edge_cases(), generated_site_yaml())
    assert_same_feeds(build, feeds)
    assert b"Window end" in build["news-sitemap.xml"]
    assert b"Window start" not in build["news-sitemap.xml"]
    assert b"caf%C3%A9?a=1&amp;b=&apos;2&apos;</loc>" in build["sitemaps/2026-01.xml"]
    assert (
        b"<loc>https://englishnews.example/feeds/sitemaps/2026-01.xml</loc>" in build["sitemap.xml"]
    )
    # the front door: every subscription feed, named as the feeds are, in both paths alike
    for document in DIRECTORY_PATHS:
        assert feeds[document] == build[document], document
    assert b'text="English News: CAF\xc3\x89 society"' in build[OPML_PATH]
    assert b"Tie " in build[PAGE_PATH] and b"archive/" not in build[PAGE_PATH]


def test_a_generated_archive_reindexed() -> None:
    uploads = generated_uploads(200)
    assert_same_feeds(*run("reindex", uploads, generated_site_yaml()))


def test_a_reindex_in_many_render_groups_writes_the_builds_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each group hands its listings on and one step writes the directory: with a group per
    three feeds, the three documents are still the build's, byte for byte."""
    from newswire.pipeline import reindex as phases

    monkeypatch.setattr(phases, "RENDER_BATCH", 3)
    build, feeds = run("reindex", edge_cases(), generated_site_yaml())
    for document in DIRECTORY_PATHS:
        assert feeds[document] == build[document], document


def test_a_generated_archive_published_one_by_one() -> None:
    uploads = generated_uploads(80)
    build, feeds = run("publish_each", uploads, generated_site_yaml())
    feeds, deleted = without_deletion_tombstones(feeds)
    assert deleted == {"https://englishnews.example/articles/edge-deleted/"}
    assert_same_feeds(build, feeds, emptied=GENERATED_EMPTIED)


def lifecycle_uploads() -> list[Upload]:
    """A correction, withdrawals (one live first, one undated whose ``updated`` is over 30
    days old, one dated whose tombstone's 30 days are over, a scheduled one), expiries (past
    and to come), in upload order."""
    hour, day = timedelta(hours=1), timedelta(days=1)
    withdrawn = {"updated": (NOW - hour).isoformat(), "withdrawn": "Legal reasons & more"}
    correction = {"date": (NOW - 2 * hour).isoformat(), "text": "The fare is £3 <not £2>."}
    old_date = (NOW - 31 * day).isoformat()
    return [
        Upload("articles/kept.md", article("Kept", NOW - 20 * hour, tags=["Life"])),
        Upload("articles/withdrawn.md", article("Withdrawn", NOW - 30 * hour, tags=["Life"])),
        Upload(
            "articles/withdrawn.md",
            article("Withdrawn", NOW - 30 * hour, tags=["Life"], **withdrawn),
        ),
        Upload("articles/long-ago.md", article("Long ago", NOW - 40 * day, withdrawn="Old")),
        Upload(
            "articles/dated.md",
            article("Dated", NOW - 40 * day, withdrawn={"reason": "Over", "date": old_date}),
        ),
        Upload("articles/to-come.md", article("To come", NOW + hour, withdrawn="Not yet")),
        Upload(  # dated by its day of publication alone: at its published time
            "articles/same-day.md",
            article(
                "Same day", NOW - 30 * hour, withdrawn={"reason": "Wrong", "date": "2026-01-01"}
            ),
        ),
        Upload(
            "articles/corrected.md",
            article("Corrected", NOW - 10 * hour, corrections=[correction]),
        ),
        Upload("articles/expired.md", article("Expired", NOW - 5 * hour, expires=NOW.isoformat())),
        Upload(
            "articles/expiring.md",
            article("Expiring", NOW - 4 * hour, expires=(NOW + hour).isoformat()),
        ),
    ]


@PATHS
def test_corrections_withdrawals_and_expiries(path: str) -> None:
    build, feeds = run(path, lifecycle_uploads(), generated_site_yaml())

    assert_same_feeds(build, feeds)
    tombstone = b'<at:deleted-entry ref="https://englishnews.example/articles/withdrawn/"'
    assert tombstone in build["atom.xml"]
    assert tombstone in build["archive/2026-01/atom.xml"]
    # withdrawn undated, over 30 days after its updated: dated when first seen, as both see it
    long_ago = (
        b'ref="https://englishnews.example/articles/long-ago/" when="2026-01-02T12:00:00+00:00"'
    )
    assert long_ago in build["atom.xml"] and b"Long ago" not in build["atom.xml"]
    assert b"articles/dated/" not in build["atom.xml"]  # dated by its file: 30 days over
    same_day = b'ref="https://englishnews.example/articles/same-day/" when="2026-01-01T06:00:00'
    assert same_day in build["atom.xml"]
    assert (
        b"Correction (2 January 2026):</strong> The fare is \xc2\xa33 &lt;not" in build["feed.json"]
    )
    assert b"Expiring" in build["rss.xml"]
    assert b"articles/expired/" not in build["sitemaps/2026-01.xml"]


@PATHS
def test_feeds_are_named_and_placed_as_entries_show_names(path: str) -> None:
    """An author or section written with a run of spaces: the entry shows it collapsed, and
    the feed is named (and, for a name with no ASCII, placed) by what the entry shows."""
    uploads = [
        Upload(
            "articles/a.md",
            article("A", NOW, authors=["Zoë  Brontë", "李  伟"], section="World  News"),
        )
    ]
    build, feeds = run(path, uploads, generated_site_yaml())
    assert_same_feeds(build, feeds)
    assert (
        b"<title>English News: Zo\xc3\xab Bront\xc3\xab</title>"
        in build["authors/zoe-bronte/rss.xml"]
    )
    assert b"<title>English News: World News</title>" in build["sections/world-news/rss.xml"]


@PATHS
def test_an_entry_too_large_for_the_index_is_published_by_neither(path: str) -> None:
    uploads = [
        Upload("articles/small.md", article("Small", NOW - timedelta(hours=1))),
        Upload("articles/huge.md", article("Huge", NOW, body=huge_body())),
    ]
    build, feeds = run(path, uploads, generated_site_yaml())
    assert_same_feeds(build, feeds)
    assert item_count("rss.xml", build["rss.xml"]) == 1
    report = build_site(
        final_content(uploads), parse_site(SITE_CONFIG_KEY, generated_site_yaml()), NOW
    )
    assert [(e.key, e.field) for e in report.rejected] == [("articles/huge.md", "body")]


def test_a_feed_the_pipeline_empties_is_kept_empty_and_named_by_its_slug() -> None:
    uploads = [
        Upload("articles/a.md", article("A", NOW, tags=["Passing Fad"])),
        Upload("articles/a.md", article("A", NOW, tags=["world"])),
    ]
    build, feeds = run("publish_each", uploads, generated_site_yaml())
    assert_same_feeds(build, feeds, emptied=["tags/passing-fad/"])
    assert b"<title>English News: passing-fad</title>" in feeds["tags/passing-fad/rss.xml"]


@PATHS
def test_a_month_back_under_the_sitemap_url_limit(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A month split in two sitemap parts loses an article: both publish one part, the same
    bytes, and an index without the second; the build removes that part, the pipeline (which
    keeps what it wrote, and was never told otherwise by a reindex) empties it."""
    monkeypatch.setattr(sitemap, "URLS_PER_SITEMAP", 2)
    day = timedelta(days=1)
    uploads = [
        Upload(f"articles/dec-{n}.md", article(f"Dec {n}", NOW - (n + 3) * day)) for n in range(3)
    ]
    uploads.append(Upload("articles/dec-0.md", None))

    build, feeds = run(path, uploads, generated_site_yaml())

    feeds, _deleted = without_deletion_tombstones(feeds)
    parts = ["sitemaps/2025-12-2.xml"] if path == "publish_each" else []
    assert_same_feeds(build, feeds, emptied_parts=parts)
    assert item_count("sitemaps/2025-12.xml", build["sitemaps/2025-12.xml"]) == 2


def test_the_item_count_counts_items() -> None:
    """:func:`item_count` counts what the renderers write (else an emptied feed could pass)."""
    feed = make_feed(make_entry(1), make_entry(2))
    for fmt, renderer in RENDERERS.items():
        assert item_count(fmt.filename, renderer.render(feed)) == 2


@pytest.mark.parametrize("path", ["reindex", "publish_each"])
def test_a_site_with_nothing_live_has_its_empty_main_feed(path: str) -> None:
    """The main feed exists even when empty (a subscriber gets a feed, not an error)."""
    uploads = [
        Upload("articles/draft.md", article("Draft", NOW, draft=True)),
        Upload("articles/later.md", article("Later", NOW + timedelta(days=1))),
    ]
    build, feeds = run(path, uploads, generated_site_yaml())
    assert_same_feeds(build, feeds)


@PATHS
def test_partner_feeds_are_the_same_and_follow_an_edit(path: str) -> None:
    """Every enabled partner's feed is published by both, byte for byte; an edit (a new
    ``updated``) reaches each the way its partner reads an update."""
    edited = (NOW - timedelta(hours=1)).isoformat()
    uploads = [
        Upload("articles/a.md", article("A story long enough for MSN", NOW - timedelta(hours=3))),
        Upload(
            "articles/b.md", article("Another story for the partners", NOW - timedelta(hours=2))
        ),
        Upload(
            "articles/a.md",
            article("A story long enough for MSN", NOW - timedelta(hours=3), updated=edited),
        ),
    ]
    build, feeds = run(path, uploads, generated_site_yaml())
    assert_same_feeds(build, feeds)
    partners = {p: feeds[f"partners/{p}/rss.xml"] for p in ("msn", "google-news", "smartnews")}
    assert b"<dcterms:modified>2026-01-02T11:00:00+00:00</dcterms:modified>" in partners["msn"]
    assert b"<pubDate>Fri, 02 Jan 2026 11:00:00 +0000</pubDate>" in partners["google-news"]
    assert b"<snf:logo>" in partners["smartnews"]
