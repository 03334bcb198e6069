"""A content-hash cache for ``newswire build``: unchanged files skip YAML and Markdown.

What is kept, per article file, keyed by the SHA-256 of its bytes:

- the parse result: the article without its body, or the rejection (so an unchanged bad
  article is still reported, with the same message);
- the rendered entry and a digest of it. Entries are pickled into append-only *pack* files
  (``entries/*.pack``, written by whichever process rendered them) and the index holds only
  where each lies, so a warm build loads and saves a small index, and reads just the entries
  of the feeds it renders again.

Per feed: a digest of what it was rendered from (its name and its entries' digests) and the
size and modification time of the files written for it, so a feed whose entries did not change
is neither rendered nor rewritten while its files are as the last build left them.

The cache lives outside the output folder (see :func:`default_folder`). Everything is void
when the *stamp* changes: the site configuration, newswire's own source or a library that
shapes the output (cmark, nh3, feedgen, PyYAML, lxml). The cache is a pickle in the user's own
cache folder: it is trusted like the content folder it was built from, and a cache that cannot
be read is simply rebuilt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import tempfile
import uuid
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

from newswire import __version__
from newswire.domain.model import Article, Entry, SiteConfig, pickle_by_fields
from newswire.errors import InvalidArticleError, StorageError

#: Bump when the cache's own layout changes.
CACHE_FORMAT = 3
CACHE_FILE = "build-cache.pickle"
PACK_FOLDER = "entries"
#: Packs are rewritten into one when there are more than this many, or more dead bytes than
#: live ones (entries of files changed or gone since).
_MAX_PACKS = 16
#: Libraries whose version can change parsed or rendered output.
_OUTPUT_LIBRARIES = ("cmarkgfm", "nh3", "feedgen", "PyYAML", "lxml", "markdown-it-py")


class EntryRef(NamedTuple):
    """Where a pickled entry lies: pack file name, offset, length."""

    pack: str
    offset: int
    length: int


class EntryPacks:
    """The cache's pack files: each process appends to its own, any process reads any.

    A pack is named after the build that wrote it and the writing process, so forked workers
    never share a file and a crashed build's packs are simply never referenced (and removed
    by the next save).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._build = uuid.uuid4().hex[:12]
        self._pid = -1
        self._name = ""
        self._writer: Any = None
        self._size = 0

    def append(self, blob: bytes) -> EntryRef:
        """Store one pickled entry in this process's pack."""
        try:
            if self._pid != os.getpid():  # first use in this process (forked workers copy us)
                name = f"{self._build}-{os.getpid()}.pack"
                self.folder.mkdir(parents=True, exist_ok=True)
                self._writer = (self.folder / name).open("ab", buffering=1 << 20)
                self._pid, self._name, self._size = os.getpid(), name, self._writer.tell()
            offset = self._size
            self._writer.write(blob)
        except OSError as e:
            raise self.storage_error(e) from e
        self._size += len(blob)
        return EntryRef(self._name, offset, len(blob))

    def flush(self) -> None:
        """Make this process's appended entries readable (before its results are reported)."""
        if self._writer is not None and self._pid == os.getpid():
            try:
                self._writer.flush()
            except OSError as e:
                raise self.storage_error(e) from e

    def storage_error(self, error: OSError) -> StorageError:
        """The error a writer can act on when the cache cannot be written (a full disk)."""
        return StorageError(
            f"{self.folder.parent}: cannot write the build cache ({error.strerror}); "
            "free some space, or build with --no-cache"
        )

    def read(self, ref: EntryRef) -> bytes | None:
        """The blob ``ref`` points at; ``None`` if its pack is gone or cut short."""
        self.flush()
        try:
            with (self.folder / ref.pack).open("rb") as handle:
                handle.seek(ref.offset)
                blob = handle.read(ref.length)
        except OSError:
            return None
        return blob if len(blob) == ref.length else None

    def close(self) -> None:
        """Close this process's pack."""
        if self._writer is not None and self._pid == os.getpid():
            self._writer.close()
        self._pid, self._writer = -1, None


@dataclass(slots=True)
class CachedArticle:
    """One file's cached parse (the article without body, or its rejection), and its entry.

    The entry is kept pickled in a pack: a warm build unpickles only the entries of feeds it
    renders.
    """

    __reduce__ = pickle_by_fields

    digest: str
    result: Article | InvalidArticleError
    entry_ref: EntryRef | None = None
    entry_digest: str = ""
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
    packs: EntryPacks = field(init=False)
    _pending_feeds: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    #: Whether anything changed since loading: an unchanged cache is not rewritten, so a build
    #: that changes nothing leaves the output folder untouched.
    dirty: bool = True

    def __post_init__(self) -> None:
        self.packs = EntryPacks(self.folder / PACK_FOLDER)

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

    def entry(self, key: str) -> Entry | None:
        """The rendered entry of ``key``, if it is cached (and its pack is intact)."""
        cached = self.articles.get(key)
        if cached is None or cached.entry_ref is None:
            return None
        blob = self.packs.read(cached.entry_ref)
        if blob is None:
            return None
        entry = pickle.loads(blob)  # noqa: S301 - see the module docstring
        assert isinstance(entry, Entry)
        return entry

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

    def store_entry(self, key: str, ref: EntryRef, entry_digest: str) -> None:
        """Remember where the rendered entry of ``key`` was packed (by whichever process)."""
        self.dirty = True
        cached = self.articles[key]
        cached.entry_ref = ref
        cached.entry_digest = entry_digest

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
            raise self.packs.storage_error(e) from e
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
            Path(tmp).replace(self.folder / CACHE_FILE)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise self.packs.storage_error(e) from e
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _live_refs(self) -> list[CachedArticle]:
        return [c for c in self.articles.values() if c.entry_ref is not None]

    def _forget_damaged(self) -> None:
        """Forget every article whose entry is not whole in its pack (a pack deleted or cut
        short): its file is simply parsed again. Every article the cache vouches for then has
        its parse and its entry."""
        sizes = {p.name: p.stat().st_size for p in self.packs.folder.glob("*.pack")}
        for key, cached in list(self.articles.items()):
            ref = cached.entry_ref
            if isinstance(cached.result, InvalidArticleError):
                continue  # a rejection has no entry
            if ref is None or ref.offset + ref.length > sizes.get(ref.pack, 0):
                del self.articles[key]
                self.dirty = True

    def _compact_packs(self) -> None:
        """Rewrite the live entries into one pack when packs are many or mostly dead."""
        live = self._live_refs()
        packs = {c.entry_ref.pack for c in live if c.entry_ref is not None}
        live_bytes = sum(c.entry_ref.length for c in live if c.entry_ref is not None)
        total = sum(
            (self.packs.folder / name).stat().st_size
            for name in packs
            if (self.packs.folder / name).exists()
        )
        if len(packs) <= _MAX_PACKS and total - live_bytes <= live_bytes:
            return
        compacted = EntryPacks(self.packs.folder)  # a new pack, read from the old ones
        for cached in sorted(live, key=lambda c: c.entry_ref or ("", 0, 0)):
            assert cached.entry_ref is not None
            blob = self.packs.read(cached.entry_ref)
            cached.entry_ref = None if blob is None else compacted.append(blob)
        compacted.close()
        self.packs = compacted

    def _remove_dead_packs(self) -> None:
        """Delete packs no cached entry points into (after the index that says so is saved)."""
        live = {c.entry_ref.pack for c in self._live_refs() if c.entry_ref is not None}
        for path in self.packs.folder.glob("*.pack"):
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
    for name in _OUTPUT_LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=none".encode())
    return digest.hexdigest()
