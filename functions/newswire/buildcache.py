"""A content-hash cache for ``newswire build``: unchanged files skip YAML and Markdown.

What is kept, per article file, keyed by the SHA-256 of its bytes: the parse result (the
article without its body, or the rejection, so an unchanged bad article is still reported with
the same message) and the entry's rendered items, one per format. Per feed: a digest of what it
was rendered from (its name and its articles' file digests) and the size and modification time
of the files written for it, so a feed whose entries did not change is neither rendered nor
rewritten while its files are as the last build left them.

It all lives in one sqlite database (:mod:`newswire.buildstore`) in a folder outside the output
folder (see :func:`default_folder`). The workers record each file they parse as they store its
items; the parent records, on :meth:`BuildCache.save`, the files gone, the feeds written and
the signatures of unchanged files. Everything is void when the *stamp* changes: the site
configuration, newswire's own source or a library that shapes the output (cmark, nh3, feedgen,
PyYAML, lxml, markdown-it-py, orjson). A database that cannot be read, or was made for another
stamp, is made again, empty.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

from newswire import __version__
from newswire.buildstore import BuildStore, CachedArticle, CachedFeed, Parsed, Signature
from newswire.content.articles import SETTLED_NS
from newswire.domain.model import Article, SiteConfig, fields_of
from newswire.errors import StorageError

#: Bump when what the cache keeps changes shape (the tables have their own format).
CACHE_FORMAT = 7
CACHE_FILE = "build-cache.sqlite"
#: What a cache of an older newswire left in its folder: removed when the database is made.
_OLD_FILES = ("build-cache.pickle", "build-cache.journal")
_OLD_PACKS = "entries"
_OLD_PACK_NAME = re.compile(r"[0-9a-f]{12}-[0-9]+\.pack")

#: Libraries whose version can change parsed or rendered output.
OUTPUT_LIBRARIES = ("cmarkgfm", "nh3", "feedgen", "PyYAML", "lxml", "markdown-it-py", "orjson")


@dataclass(slots=True)
class BuildCache:
    """The cache of one output folder. Load with :meth:`open`, write with :meth:`save`.

    Args:
        folder: where the cache's database lives.
        stamp: what the cached results depend on besides the file bytes.
        store: the database, which the build's workers write their items to.
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
    #: What :meth:`save` records: feeds rendered, articles and feeds gone, new signatures.
    _pending_feeds: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    _gone: set[str] = field(default_factory=set)
    _gone_feeds: set[str] = field(default_factory=set)
    _signatures: dict[str, Signature] = field(default_factory=dict)

    @property
    def dirty(self) -> bool:
        """Whether :meth:`save` has anything to record: a build that changes nothing leaves
        the database as it was."""
        return bool(self._pending_feeds or self._gone or self._gone_feeds or self._signatures)

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
            _remove_old_files(folder)
        else:
            opened.articles, opened.feeds = loaded
        return opened

    def lookup(
        self, key: str, digest: str, signature: Signature | None = None
    ) -> CachedArticle | None:
        """The cached parse of ``key`` if its bytes still hash to ``digest`` (the file's new
        ``signature``, if given, is remembered)."""
        cached = self.articles.get(key)
        if cached is None or cached.digest != digest:
            return None
        if signature is not None and cached.signature != signature:
            cached.signature = self._signatures[key] = signature
        return cached

    def lookup_unchanged(self, key: str, signature: Signature) -> CachedArticle | None:
        """The cached parse of ``key`` if its file shows the signature it had when read."""
        cached = self.articles.get(key)
        return cached if cached is not None and cached.signature == signature else None

    def store_parsed(self, parsed: Sequence[Parsed]) -> None:
        """Remember fresh parses (the workers recorded them in the database with their
        items): those with a digest, not a file that could not be read."""
        for key, result, items, digest, signature in parsed:
            if digest:
                self.articles[key] = CachedArticle(digest, result, items, signature)

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

    def keep_feeds(self, feed_ids: set[str]) -> None:
        """Forget feeds the site no longer has."""
        for feed_id in self.feeds.keys() - feed_ids:
            del self.feeds[feed_id]
            self._gone_feeds.add(feed_id)

    def save(self, unwritten: Collection[str] = ()) -> None:
        """Record what changed, in one transaction, describing the feed files as they now are
        on disk.

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
        self.store.save(
            sorted(self._gone),
            sorted(self._signatures.items()),
            sorted(self._gone_feeds - written.keys()),
            sorted(written.items()),
        )
        self._pending_feeds.clear()
        self._gone.clear()
        self._gone_feeds.clear()
        self._signatures.clear()

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
        return CachedFeed(digest, outputs)


def _storage_error(folder: Path, reason: str) -> StorageError:
    """The error a writer can act on when the cache cannot be written (a full disk)."""
    return StorageError(
        f"{folder}: cannot write the build cache ({reason}); "
        "free some space, or build with --no-cache"
    )


def _remove_old_files(folder: Path) -> None:
    """Remove what a cache of an older newswire kept in ``folder`` (only files it names so:
    ``--cache`` may name a folder that holds others)."""
    for name in _OLD_FILES:
        (folder / name).unlink(missing_ok=True)
    packs = folder / _OLD_PACKS
    if packs.is_dir():
        for path in packs.iterdir():
            if _OLD_PACK_NAME.fullmatch(path.name):
                path.unlink(missing_ok=True)
        if not any(packs.iterdir()):
            packs.rmdir()


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
    """The article without its body: what planning feeds needs, at a fraction of the memory.

    Rebuilt from its fields in order, with an empty body: half the time of
    ``dataclasses.replace`` (which looks every field up by name), for every article a build
    parses.
    """
    if not article.body:
        return article  # already without: not copied, so it is held once
    fields = list(fields_of(Article)(article))
    fields[_BODY] = ""
    return Article(*fields)


_BODY = Article.__slots__.index("body")


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
