"""A content-hash cache for ``newswire build``: unchanged files skip YAML and Markdown.

What is kept, per article file, keyed by the SHA-256 of its bytes:

- the parse result: the article without its body, or the rejection (so an unchanged bad
  article is still reported, with the same message);
- the entry's rendered items (one per format). Items are written to append-only *pack*
  files (``entries/*.pack``, :mod:`newswire.itemfiles`, by whichever process rendered them),
  and feeds are assembled from the items where they lie.

Per feed: a digest of what it was rendered from (its name and its articles' file digests) and
the size and modification time of the files written for it, so a feed whose entries did not
change is neither rendered nor rewritten while its files are as the last build left them.

The index of all this is a sqlite database (:mod:`newswire.buildstore`), which the parent
process loads whole and writes what a build changed to in one transaction. The cache lives
outside the output folder (see :func:`default_folder`). Everything is void when the *stamp*
changes: the site configuration, newswire's own source or a library that shapes the output
(cmark, nh3, feedgen, PyYAML, lxml, markdown-it-py, orjson). A cache that cannot be read, or
whose packs were damaged, is made again (only what it can no longer vouch for is parsed again).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

from newswire import __version__
from newswire.buildstore import BuildStore, CachedArticle, CachedFeed, Changes, Parsed
from newswire.content.articles import SETTLED_NS
from newswire.domain.model import Article, SiteConfig
from newswire.errors import InvalidArticleError, StorageError
from newswire.itemfiles import SUFFIX, ItemFiles, ItemRef, is_item_file

#: Bump when what the cache keeps changes shape.
CACHE_FORMAT = 8
CACHE_FILE = "build-cache.sqlite"
PACK_FOLDER = "entries"
#: What a cache of an older newswire kept beside its packs: removed when the index is made.
_OLD_FILES = ("build-cache.pickle", "build-cache.journal")
#: Packs are rewritten into one when there are more than this many, or more dead bytes than
#: live ones (entries of files changed or gone since).
_MAX_PACKS = 16

#: Libraries whose version can change parsed or rendered output.
OUTPUT_LIBRARIES = ("cmarkgfm", "nh3", "feedgen", "PyYAML", "lxml", "markdown-it-py", "orjson")


@dataclass(slots=True)
class BuildCache:
    """The cache of one output folder. Load with :meth:`open`, write with :meth:`save`.

    Args:
        folder: where the cache lives.
        stamp: what the cached results depend on besides the file bytes.
        store: its index.
        output: the output folder whose feed files the feed digests describe (``None``: feed
            files are always rendered).
        settle_ns: how long after its last change a file's signature is recorded, to be
            trusted by the next build without reading the file (see ``ArticleFile.settled``).
    """

    folder: Path
    stamp: str
    store: BuildStore
    output: Path | None = None
    settle_ns: int = SETTLED_NS
    articles: dict[str, CachedArticle] = field(default_factory=dict)
    feeds: dict[str, CachedFeed] = field(default_factory=dict)
    packs: ItemFiles = field(init=False)
    #: What :meth:`save` records: batches parsed (and where each article's parse is in them),
    #: articles whose signature or items moved, feeds rendered, articles and feeds gone.
    _batches: list[bytes] = field(default_factory=list)
    _parsed: dict[str, tuple[int, int]] = field(default_factory=dict)
    _kept: set[str] = field(default_factory=set)
    _pending_feeds: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    _gone: set[str] = field(default_factory=set)
    _gone_feeds: set[str] = field(default_factory=set)
    #: The SHA-256 of feed files rendered in this build that the feed directory names.
    _hashed: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.packs = ItemFiles(self.folder / PACK_FOLDER, self.storage_error)

    @property
    def dirty(self) -> bool:
        """Whether :meth:`save` has anything to record: a build that changes nothing leaves
        the cache folder as it was."""
        return bool(
            self._batches or self._kept or self._pending_feeds or self._gone or self._gone_feeds
        )

    def storage_error(self, error: OSError) -> StorageError:
        """The error a writer can act on when the cache cannot be written (a full disk)."""
        return _storage_error(self.folder, error.strerror or str(error))

    @classmethod
    def open(
        cls,
        folder: Path,
        site: SiteConfig,
        output: Path | None = None,
        settle_ns: int = SETTLED_NS,
    ) -> BuildCache:
        """Load the cache in ``folder``, or start an empty one if it is missing, unreadable or
        was made for another site configuration or another version of the code.

        Raises:
            StorageError: the folder cannot be written.
        """
        stamp = cache_stamp(site)
        store = BuildStore(folder / CACHE_FILE, lambda reason: _storage_error(folder, reason))
        opened = cls(folder=folder, stamp=stamp, store=store, output=output, settle_ns=settle_ns)
        loaded = store.load(stamp)
        if loaded is None:
            store.create(stamp)
            for name in _OLD_FILES:
                (folder / name).unlink(missing_ok=True)
        else:
            opened.articles, opened.feeds = loaded
            opened._forget_damaged()
        return opened

    def lookup(
        self, key: str, digest: str, signature: tuple[int, ...] | None = None
    ) -> CachedArticle | None:
        """The cached parse of ``key`` if its bytes still hash to ``digest`` (the file's new
        ``signature``, if given, is remembered)."""
        cached = self.articles.get(key)
        if cached is None or cached.digest != digest:
            return None
        if signature is not None and cached.signature != signature:
            cached.signature = signature
            self._kept.add(key)
        return cached

    def lookup_unchanged(self, key: str, signature: tuple[int, ...]) -> CachedArticle | None:
        """The cached parse of ``key`` if its file shows the signature it had when read."""
        cached = self.articles.get(key)
        return cached if cached is not None and cached.signature == signature else None

    def store_batch(self, parsed: Sequence[Parsed], pickled: bytes) -> None:
        """Remember the fresh parses of a worker's batch (any entry of an older version is
        forgotten); ``pickled``: the batch as the worker pickled it, recorded as it is."""
        batch = len(self._batches)
        self._batches.append(pickled)
        for position, (key, result, ref, digest, signature) in enumerate(parsed):
            if digest:  # not a file that could not be read, nor a build without cache
                self.articles[key] = CachedArticle(digest, result, ref, signature)
                self._parsed[key] = (batch, position)

    def forget_missing(self, present: set[str]) -> None:
        """Drop files that are gone, so the cache does not grow forever."""
        for key in self.articles.keys() - present:
            del self.articles[key]
            self._gone.add(key)

    def feed_is_current(self, feed_id: str, digest: str, paths: tuple[str, ...]) -> bool:
        """Say whether the feed's files are exactly what rendering ``digest`` wrote last time."""
        cached = self.feeds.get(feed_id)
        if self.output is None or cached is None or cached.digest != digest:
            return False
        if cached.outputs.keys() != set(paths):
            return False
        for path, (size, mtime) in cached.outputs.items():
            try:
                stat = (self.output / path).stat()
            except OSError:
                return False
            if stat.st_size != size or stat.st_mtime_ns != mtime:
                return False
        return True

    def feed_rendered(self, feed_id: str, digest: str, paths: tuple[str, ...]) -> None:
        """Note a feed rendered in this build; its files are described on :meth:`save`."""
        self._pending_feeds[feed_id] = (digest, paths)

    def files_hashed(self, digests: Mapping[str, str]) -> None:
        """Note the SHA-256 of rendered feed files, by path, kept with their feeds' files on
        :meth:`save`: a later build that reuses the feed names its document without reading
        it back."""
        self._hashed.update(digests)

    def file_sha256(self, feed_id: str, path: str) -> str | None:
        """The SHA-256 of a feed's file as its render wrote it, if it was noted."""
        cached = self.feeds.get(feed_id)
        return None if cached is None else cached.sha256.get(path)

    def keep_feeds(self, feed_ids: set[str]) -> None:
        """Forget feeds the site no longer has."""
        for feed_id in self.feeds.keys() - feed_ids:
            del self.feeds[feed_id]
            self._gone_feeds.add(feed_id)

    def save(self, unwritten: Collection[str] = ()) -> None:
        """Record what changed, in one transaction, describing the feed files as they now are
        on disk; then remove the packs nothing points into.

        Args:
            unwritten: paths the build rendered but did not write (someone else's file was in
                the way): their feeds are not described, so they are rendered again next time.
        """
        if not self.dirty:
            return
        written: dict[str, CachedFeed] = {}
        for feed_id, (digest, paths) in self._pending_feeds.items():
            feed = self._described(digest, paths, unwritten)
            if feed is None:
                self.feeds.pop(feed_id, None)
                self._gone_feeds.add(feed_id)
            else:
                self.feeds[feed_id] = written[feed_id] = feed
        self.packs.close()
        self._compact_packs()
        parsed = {k: place for k, place in self._parsed.items() if k in self.articles}
        self.store.save(
            Changes(
                batches=self._batches,
                parsed=[(k, self.articles[k], *place) for k, place in sorted(parsed.items())],
                kept=[(k, self.articles[k]) for k in sorted(self._kept - parsed.keys())],
                gone=sorted(self._gone - parsed.keys()),
                feeds=sorted(written.items()),
                gone_feeds=sorted(self._gone_feeds - written.keys()),
            )
        )
        self._remove_dead_packs()
        self._batches.clear()
        self._parsed.clear()
        self._kept.clear()
        self._pending_feeds.clear()
        self._gone.clear()
        self._gone_feeds.clear()
        self._hashed.clear()

    def _described(
        self, digest: str, paths: tuple[str, ...], unwritten: Collection[str]
    ) -> CachedFeed | None:
        """A rendered feed as its files now are, or ``None`` if one is not ours as written."""
        if self.output is None:
            return None
        outputs = {}
        for path in paths:
            if path in unwritten:
                return None
            try:
                stat = (self.output / path).stat()
            except OSError:
                return None
            outputs[path] = (stat.st_size, stat.st_mtime_ns)
        hashed = {path: self._hashed[path] for path in paths if path in self._hashed}
        return CachedFeed(digest, outputs, hashed)

    def _live(self) -> list[tuple[str, ItemRef]]:
        return [(k, c.items) for k, c in self.articles.items() if c.items is not None]

    def _forget_damaged(self) -> None:
        """Forget every article whose items are not whole in their pack (a pack deleted or
        cut short): its file is simply parsed again. Every article the cache vouches for then
        has its parse and its items."""
        sizes = {p.name: p.stat().st_size for p in self.packs.folder.glob(f"*{SUFFIX}")}
        for key, cached in list(self.articles.items()):
            ref = cached.items
            if isinstance(cached.result, InvalidArticleError):
                continue  # a rejection has no entry
            if ref is None or ref.end > sizes.get(ref.file, 0):
                del self.articles[key]
                self._gone.add(key)

    def _compact_packs(self) -> None:
        """Rewrite the live items into one pack when packs are many or mostly dead."""
        live = self._live()
        packs = {ref.file for _, ref in live}
        live_bytes = sum(ref.end - ref.offset for _, ref in live)
        total = sum(
            (self.packs.folder / name).stat().st_size
            for name in packs
            if (self.packs.folder / name).exists()
        )
        if len(packs) <= _MAX_PACKS and total - live_bytes <= live_bytes:
            return
        compacted = ItemFiles(self.packs.folder, self.storage_error)  # read from the old ones
        for key, ref in sorted(live, key=lambda pair: pair[1]):
            cached = self.articles[key]
            try:
                cached.items = compacted.append(self.packs.read(ref))
                self._kept.add(key)
            except StorageError:  # a pack damaged since it was opened: parsed again next time
                del self.articles[key]
                self._gone.add(key)
        compacted.close()
        self.packs.close()
        self.packs = compacted

    def _remove_dead_packs(self) -> None:
        """Delete packs no cached entry points into (after the index that says so is saved),
        and only files named as packs: ``--cache`` may name a folder that holds others."""
        live = {ref.file for _, ref in self._live()}
        for path in self.packs.folder.glob(f"*{SUFFIX}"):
            if path.name not in live and is_item_file(path.name):
                path.unlink(missing_ok=True)


def _storage_error(folder: Path, reason: str) -> StorageError:
    """The error a writer can act on when the cache cannot be written (a full disk)."""
    return StorageError(
        f"{folder}: cannot write the build cache ({reason}); "
        "free some space, or build with --no-cache"
    )


def default_folder(output: Path) -> Path:
    """The cache folder of an output folder: ``$XDG_CACHE_HOME/newswire/<hash of its path>``.

    Not inside the output folder, which is published as it is and holds only feeds.
    """
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    name = hashlib.sha256(str(output.resolve()).encode()).hexdigest()[:16]
    return base / "newswire" / f"{output.name or 'out'}-{name}"


def file_digest(data: bytes) -> str:
    """The cache key of an article file: the SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


def without_body(article: Article) -> Article:
    """The article without its body: what planning feeds needs, at a fraction of the memory."""
    if not article.body:
        return article  # already without: not copied, so it is held once
    return dataclasses.replace(article, body="")


def cache_stamp(site: SiteConfig) -> str:
    """What every cached result depends on besides its file: site, code and libraries."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}\n{site!r}\n{code_version()}".encode())
    return digest.hexdigest()


@cache
def code_version() -> str:
    """newswire's version, a hash of its source, and the versions of output-shaping libraries."""
    digest = hashlib.sha256(__version__.encode())
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    for name, version in installed_versions(OUTPUT_LIBRARIES).items():
        digest.update(f"{name}={version}".encode())
    return digest.hexdigest()


def installed_versions(names: Sequence[str]) -> dict[str, str]:
    """The installed version of each distribution in ``names`` (``"none"`` for one not
    installed), in the order given."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "none"
    return versions
