"""A content-hash cache for ``newswire build``: unchanged files skip YAML and Markdown.

What is kept, per article file, keyed by the SHA-256 of its bytes:

- the parse result: the article without its body, or the rejection (so an unchanged bad
  article is still reported, with the same message);
- the rendered entry, once some feed has shown the article, and a digest of it.

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

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

from newswire import __version__
from newswire.domain.model import Article, Entry, SiteConfig
from newswire.errors import InvalidArticleError

#: Bump when the cache's own layout changes.
CACHE_FORMAT = 1
CACHE_FILE = "build-cache.pickle"
#: Libraries whose version can change parsed or rendered output.
_OUTPUT_LIBRARIES = ("cmarkgfm", "nh3", "feedgen", "PyYAML", "lxml", "markdown-it-py")

#: A rejection as stored: the arguments of :class:`InvalidArticleError`.
RejectionArgs = tuple[str, str, str, str]


@dataclass(slots=True)
class CachedArticle:
    """One file's cached parse: ``article`` (without body) or ``rejection``, and its entry.

    The entry is kept pickled: a warm build unpickles only the entries of feeds it renders.
    """

    digest: str
    article: Article | None = None
    rejection: RejectionArgs | None = None
    entry_blob: bytes | None = None
    entry_digest: str = ""

    @property
    def entry(self) -> Entry | None:
        """The rendered entry, if the article was ever shown by a feed."""
        if self.entry_blob is None:
            return None
        entry = pickle.loads(self.entry_blob)  # noqa: S301 - see the module docstring
        assert isinstance(entry, Entry)
        return entry

    def result(self) -> Article | InvalidArticleError:
        """The parse result as :func:`~newswire.content.articles.parse_article` gave it."""
        if self.rejection is not None:
            return InvalidArticleError(*self.rejection)
        assert self.article is not None
        return self.article


@dataclass(slots=True)
class CachedFeed:
    """One feed's digest and the ``(path, size, mtime_ns)`` of the files written for it."""

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
    _pending_feeds: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    #: Whether anything changed since loading: an unchanged cache is not rewritten, so a build
    #: that changes nothing leaves the output folder untouched.
    dirty: bool = True

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
        return fresh

    def lookup(self, key: str, digest: str) -> CachedArticle | None:
        """The cached parse of ``key`` if its bytes still hash to ``digest``."""
        cached = self.articles.get(key)
        return cached if cached is not None and cached.digest == digest else None

    def store(self, key: str, digest: str, result: Article | InvalidArticleError) -> None:
        """Remember a fresh parse of ``key`` (any entry of an older version is forgotten)."""
        self.dirty = True
        if isinstance(result, InvalidArticleError):
            rejection = (result.key, result.field, result.problem, result.expected)
            self.articles[key] = CachedArticle(digest, rejection=rejection)
        else:
            self.articles[key] = CachedArticle(digest, article=without_body(result))

    def store_entry(self, key: str, blob: bytes, entry_digest: str) -> None:
        """Remember the rendered entry of ``key``, pickled (by the worker that rendered it)."""
        self.dirty = True
        cached = self.articles[key]
        cached.entry_blob = blob
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
        self.folder.mkdir(parents=True, exist_ok=True)
        state = {"stamp": self.stamp, "articles": self.articles, "feeds": self.feeds}
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
            Path(tmp).replace(self.folder / CACHE_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.dirty = False


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
    return Article(
        key=article.key,
        slug=article.slug,
        id=article.id,
        title=article.title,
        published=article.published,
        updated=article.updated,
        summary=article.summary,
        authors=article.authors,
        tags=article.tags,
        section=article.section,
        image=article.image,
        canonical_url=article.canonical_url,
        sources=article.sources,
        draft=article.draft,
        body="",
        body_format=article.body_format,
    )


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
