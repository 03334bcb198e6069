"""A content-hash cache for ``newswire build``: unchanged files skip YAML and Markdown.

What is kept, per article file, keyed by the SHA-256 of its bytes:

- the parse result: the article without its body, or the rejection (so an unchanged bad
  article is still reported, with the same message);
- the entry's rendered items (one per format). Items are written to
  append-only *pack* files (``entries/*.pack``, :mod:`newswire.itemfiles`, by whichever
  process rendered them) and the index holds only where each lies, so a warm build loads and
  saves a small index, and feeds are assembled from the items where they lie.

Per feed: a digest of what it was rendered from (its name and its articles' file digests) and the
size and modification time of the files written for it, so a feed whose entries did not change
is neither rendered nor rewritten while its files are as the last build left them.

The cache lives outside the output folder (see :func:`default_folder`). Everything is void
when the *stamp* changes: the site configuration, newswire's own source or a library that
shapes the output (cmark, nh3, feedgen, PyYAML, lxml, markdown-it-py, orjson). The cache is a
pickle in the user's own cache folder: it is trusted like the content folder it was built
from, and a cache that cannot be read is simply rebuilt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

from newswire import __version__
from newswire.domain.model import Article, SiteConfig, pickle_by_fields
from newswire.errors import InvalidArticleError, StorageError
from newswire.itemfiles import SUFFIX, ItemFiles, ItemRef

#: Bump when the cache's own layout changes.
CACHE_FORMAT = 4
CACHE_FILE = "build-cache.pickle"
PACK_FOLDER = "entries"
#: Packs are rewritten into one when there are more than this many, or more dead bytes than
#: live ones (entries of files changed or gone since).
_MAX_PACKS = 16
#: Libraries whose version can change parsed or rendered output.
OUTPUT_LIBRARIES = ("cmarkgfm", "nh3", "feedgen", "PyYAML", "lxml", "markdown-it-py", "orjson")


@dataclass(slots=True)
class CachedArticle:
    """One file's cached parse (the article without body, or its rejection), and where its
    entry's items lie in the packs."""

    __reduce__ = pickle_by_fields

    digest: str
    result: Article | InvalidArticleError
    items: ItemRef | None = None
    #: The file's ``stat`` signature when it was last seen (see ``ArticleFile``).
    signature: tuple[int, ...] | None = None


@dataclass(slots=True)
class CachedFeed:
    """One feed's digest and the ``(path, size, mtime_ns)`` of the files written for it."""

    __reduce__ = pickle_by_fields

    digest: str
    outputs: tuple[tuple[str, int, int], ...] = ()


@dataclass(slots=True)
class BuildCache:
    """The cache of one output folder. Load with :meth:`open`, write with :meth:`save`.

    Args:
        folder: where the cache file lives.
        stamp: what the cached results depend on besides the file bytes.
        output: the output folder whose feed files the feed digests describe (``None``: feed
            files are always rendered).
    """

    folder: Path
    stamp: str
    output: Path | None = None
    articles: dict[str, CachedArticle] = field(default_factory=dict)
    feeds: dict[str, CachedFeed] = field(default_factory=dict)
    packs: ItemFiles = field(init=False)
    _pending_feeds: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    #: Whether anything changed since loading: an unchanged cache is not rewritten, so a build
    #: that changes nothing leaves the output folder untouched.
    dirty: bool = True

    def __post_init__(self) -> None:
        self.packs = ItemFiles(self.folder / PACK_FOLDER, self.storage_error)

    def storage_error(self, error: OSError) -> StorageError:
        """The error a writer can act on when the cache cannot be written (a full disk)."""
        return StorageError(
            f"{self.folder}: cannot write the build cache ({error.strerror}); "
            "free some space, or build with --no-cache"
        )

    @classmethod
    def open(cls, folder: Path, site: SiteConfig, output: Path | None = None) -> BuildCache:
        """Load the cache in ``folder``, or start an empty one if it is missing, unreadable or
        was made for another site configuration or another version of the code."""
        stamp = cache_stamp(site)
        fresh = cls(folder=folder, stamp=stamp, output=output)
        try:
            with (folder / CACHE_FILE).open("rb") as handle:
                stored = pickle.load(handle)  # noqa: S301 - our own file, trusted like content
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, TypeError, ValueError):
            return fresh
        if not isinstance(stored, dict) or stored.get("stamp") != stamp:
            return fresh
        fresh.articles = stored["articles"]
        fresh.feeds = stored["feeds"]
        fresh.dirty = False
        fresh._forget_damaged()
        return fresh

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
            self.dirty = True
        return cached

    def lookup_unchanged(self, key: str, signature: tuple[int, ...]) -> CachedArticle | None:
        """The cached parse of ``key`` if its file shows the signature it had when read."""
        cached = self.articles.get(key)
        return cached if cached is not None and cached.signature == signature else None

    def store(
        self,
        key: str,
        digest: str,
        result: Article | InvalidArticleError,
        signature: tuple[int, ...] | None = None,
    ) -> None:
        """Remember a fresh parse of ``key`` (any entry of an older version is forgotten)."""
        self.dirty = True
        if not isinstance(result, InvalidArticleError):
            result = without_body(result)
        self.articles[key] = CachedArticle(digest, result, signature=signature)

    def store_items(self, key: str, ref: ItemRef) -> None:
        """Remember where the items of ``key`` were packed (by whichever process)."""
        self.dirty = True
        self.articles[key].items = ref

    def forget_missing(self, present: set[str]) -> None:
        """Drop files that are gone, so the cache does not grow forever."""
        for key in self.articles.keys() - present:
            del self.articles[key]
            self.dirty = True

    def feed_is_current(self, feed_id: str, digest: str, paths: tuple[str, ...]) -> bool:
        """Say whether the feed's files are exactly what rendering ``digest`` wrote last time."""
        cached = self.feeds.get(feed_id)
        if self.output is None or cached is None or cached.digest != digest:
            return False
        if tuple(p for p, _, _ in cached.outputs) != paths:
            return False
        for path, size, mtime in cached.outputs:
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
            self.dirty = True

    def save(self) -> None:
        """Write the cache atomically, describing the feed files as they now are on disk."""
        if self._pending_feeds:
            self.dirty = True
        if not self.dirty:
            return
        if self.output is not None:
            for feed_id, (digest, paths) in self._pending_feeds.items():
                outputs = []
                for path in paths:
                    try:
                        stat = (self.output / path).stat()
                    except OSError:
                        break
                    outputs.append((path, stat.st_size, stat.st_mtime_ns))
                else:
                    self.feeds[feed_id] = CachedFeed(digest, tuple(outputs))
                    continue
                self.feeds.pop(feed_id, None)
        self._pending_feeds.clear()
        self.packs.close()
        self._compact_packs()
        self._write_index()
        self._remove_dead_packs()
        self.dirty = False

    def _write_index(self) -> None:
        state = {"stamp": self.stamp, "articles": self.articles, "feeds": self.feeds}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        except OSError as e:
            raise self.storage_error(e) from e
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
            Path(tmp).replace(self.folder / CACHE_FILE)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise self.storage_error(e) from e
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _live(self) -> list[tuple[CachedArticle, ItemRef]]:
        return [(c, c.items) for c in self.articles.values() if c.items is not None]

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
                self.dirty = True

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
        for cached, ref in sorted(live, key=lambda pair: pair[1]):
            try:
                cached.items = compacted.append(self.packs.read(ref))
            except StorageError:  # a pack damaged since it was opened: parsed again next time
                cached.items = None
        self.packs.close()
        self.packs = compacted

    def _remove_dead_packs(self) -> None:
        """Delete packs no cached entry points into (after the index that says so is saved)."""
        live = {ref.file for _, ref in self._live()}
        for path in self.packs.folder.glob(f"*{SUFFIX}"):
            if path.name not in live:
                path.unlink(missing_ok=True)


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
    for name in OUTPUT_LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=none".encode())
    return digest.hexdigest()
