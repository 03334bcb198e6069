"""The build cache's index in sqlite: each file's parse and where its items lie, each feed's
files, and the stamp they depend on.

Only the parent process of a build opens it, one connection per call (a connection must not
cross ``fork``, and workers are forked meanwhile); everything a build changes is written in
one transaction (WAL), so a build that dies leaves the index of the last one.

Tables: ``batches`` holds the parse results as a worker pickled them (a chunk of files per
row, not pickled again per article: see benchmarks/RESULTS.md, "Measured choices"), and goes
once no article points into it; ``articles`` a file's digest, ``stat`` signature, the batch
and position of its parse and where its items lie (see :mod:`newswire.itemfiles`); ``feeds``
and ``feed_files`` a feed's digest and the size and modification time of its files (with the
SHA-256 of those the feed directory names); ``meta``
the stamp. The pickles are trusted like the content folder they were built from.
"""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from newswire.domain.model import Article
from newswire.errors import InvalidArticleError, StorageError
from newswire.itemfiles import ItemRef

#: A file's ``stat`` signature (see ``ArticleFile``): size, mtime and ctime in ns, inode.
Signature = tuple[int, ...]
#: How long a build waits for another's write to end (two builds sharing a cache).
_BUSY_TIMEOUT_S = 60.0

_SCHEMA = """
CREATE TABLE meta (stamp TEXT NOT NULL);
CREATE TABLE batches (id INTEGER PRIMARY KEY, parsed BLOB NOT NULL);
CREATE TABLE articles (
    key TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, inode INTEGER,
    batch INTEGER NOT NULL,
    position INTEGER NOT NULL,
    item_file TEXT, item_offset INTEGER, rss_bytes INTEGER, atom_bytes INTEGER, json_bytes INTEGER
);
CREATE TABLE feeds (id TEXT PRIMARY KEY, digest TEXT NOT NULL);
CREATE TABLE feed_files (
    feed TEXT NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT,
    PRIMARY KEY (feed, path)
) WITHOUT ROWID;
"""
_READ_ARTICLES = """
SELECT key, digest, size, mtime_ns, ctime_ns, inode, batch, position,
    item_file, item_offset, rss_bytes, atom_bytes, json_bytes
FROM articles
"""
_PUT_ARTICLE = """
INSERT INTO articles (size, mtime_ns, ctime_ns, inode, item_file, item_offset,
    rss_bytes, atom_bytes, json_bytes, key, digest, batch, position)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    digest = excluded.digest, size = excluded.size, mtime_ns = excluded.mtime_ns,
    ctime_ns = excluded.ctime_ns, inode = excluded.inode, batch = excluded.batch,
    position = excluded.position, item_file = excluded.item_file,
    item_offset = excluded.item_offset, rss_bytes = excluded.rss_bytes,
    atom_bytes = excluded.atom_bytes, json_bytes = excluded.json_bytes
"""
_UPDATE_ARTICLE = """
UPDATE articles SET size = ?, mtime_ns = ?, ctime_ns = ?, inode = ?, item_file = ?,
    item_offset = ?, rss_bytes = ?, atom_bytes = ?, json_bytes = ?
WHERE key = ?
"""


class Parsed(NamedTuple):
    """One parsed file, as a build's workers report it (a pickled list of them: a *batch*)."""

    key: str
    result: Article | InvalidArticleError  # the article without body, or its rejection
    items: ItemRef | None  # where its entry's items lie (``None`` for a rejection)
    digest: str  # the file's SHA-256 (``""``: not to be cached, or a build without cache)
    signature: Signature | None  # its ``stat`` signature (``None``: not to be recorded)


@dataclass(slots=True)
class CachedArticle:
    """One file's cached parse (the article without body, or its rejection), and where its
    entry's items lie."""

    digest: str
    result: Article | InvalidArticleError
    items: ItemRef | None = None
    #: The file's ``stat`` signature when it was last seen (see ``ArticleFile``).
    signature: Signature | None = None


@dataclass(slots=True)
class CachedFeed:
    """One feed's digest, the ``(size, mtime_ns)`` of each file written for it, and the
    SHA-256 of those the feed directory names (its RSS document's, for a listed feed)."""

    digest: str
    outputs: dict[str, tuple[int, int]]
    sha256: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Changes:
    """What one build changed, for :meth:`BuildStore.save`."""

    #: Batches of parses, as workers pickled them.
    batches: Sequence[bytes] = ()
    #: Articles parsed anew: each with the index of its batch in ``batches``, and its
    #: position there.
    parsed: Sequence[tuple[str, CachedArticle, int, int]] = ()
    #: Articles kept whose signature or items moved.
    kept: Sequence[tuple[str, CachedArticle]] = ()
    gone: Iterable[str] = ()
    feeds: Iterable[tuple[str, CachedFeed]] = ()
    gone_feeds: Iterable[str] = ()


class BuildStore:
    """The index at ``path``; see the module docstring.

    Args:
        path: the database file (:meth:`create` makes it).
        describe: the error a user can act on, for what sqlite or the system said (a full disk).
    """

    def __init__(self, path: Path, describe: Callable[[str], StorageError]) -> None:
        self.path = path
        self.describe = describe

    def create(self, stamp: str) -> None:
        """Make an empty index, in place of any left at ``path``, for rows that depend on
        ``stamp``."""
        try:
            for stale in self._files():
                stale.unlink(missing_ok=True)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, isolation_level=None)) as con:
                con.execute("PRAGMA journal_mode = WAL")
                con.executescript(f"BEGIN; {_SCHEMA} COMMIT;")
                con.execute("INSERT INTO meta (stamp) VALUES (?)", (stamp,))
        except OSError as e:
            raise self.describe(e.strerror or str(e)) from e
        except sqlite3.Error as e:
            raise self.describe(str(e)) from e

    def load(self, stamp: str) -> tuple[dict[str, CachedArticle], dict[str, CachedFeed]] | None:
        """Every article and feed recorded, or ``None`` if the index is missing, damaged or
        made for another ``stamp`` (the stamp covers the code, and with it the tables)."""
        if not self.path.is_file():
            return None
        try:
            with self._connection() as con:
                if con.execute("SELECT stamp FROM meta").fetchall() != [(stamp,)]:
                    return None
                (page,) = con.execute("PRAGMA page_size").fetchone()
                if self.path.stat().st_size % page:
                    return None  # cut inside a page, which sqlite would read padded with zeros
                batches: dict[int, list[Parsed]] = {
                    batch: pickle.loads(parsed)  # noqa: S301 - our own file, trusted like content
                    for batch, parsed in con.execute("SELECT id, parsed FROM batches")
                }
                articles = {
                    key: CachedArticle(
                        digest,
                        batches[batch][position].result,
                        None if file is None else ItemRef(file, offset, tuple(lengths)),
                        None if size is None else (size, mtime, ctime, inode),
                    )
                    for (
                        key,
                        digest,
                        size,
                        mtime,
                        ctime,
                        inode,
                        batch,
                        position,
                        file,
                        offset,
                        *lengths,
                    ) in con.execute(_READ_ARTICLES)
                }
                feeds = {
                    feed_id: CachedFeed(digest, {})
                    for feed_id, digest in con.execute("SELECT id, digest FROM feeds")
                }
                for feed_id, path, size, mtime, sha256 in con.execute(
                    "SELECT feed, path, size, mtime_ns, sha256 FROM feed_files"
                ):
                    feeds[feed_id].outputs[path] = (size, mtime)
                    if sha256:
                        feeds[feed_id].sha256[path] = sha256
        except (OSError, sqlite3.Error, StorageError, *_UNPICKLABLE):
            return None
        return articles, feeds

    def save(self, changes: Changes) -> None:
        """Record what a build changed, in one transaction; batches no article points into
        any longer go."""
        with self._connection() as con, self._errors():
            con.execute("BEGIN IMMEDIATE")
            try:
                ids = [
                    con.execute("INSERT INTO batches (parsed) VALUES (?)", (parsed,)).lastrowid
                    for parsed in changes.batches
                ]
                con.executemany(
                    "DELETE FROM articles WHERE key = ?", ((key,) for key in changes.gone)
                )
                con.executemany(
                    _PUT_ARTICLE,
                    (
                        (*_row(cached), key, cached.digest, ids[batch], position)
                        for key, cached, batch, position in changes.parsed
                    ),
                )
                con.executemany(
                    _UPDATE_ARTICLE, ((*_row(cached), key) for key, cached in changes.kept)
                )
                con.execute("DELETE FROM batches WHERE id NOT IN (SELECT batch FROM articles)")
                con.executemany(
                    "DELETE FROM feeds WHERE id = ?", ((feed_id,) for feed_id in changes.gone_feeds)
                )
                for feed_id, feed in changes.feeds:
                    con.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
                    con.execute(
                        "INSERT INTO feeds (id, digest) VALUES (?, ?)", (feed_id, feed.digest)
                    )
                    con.executemany(
                        "INSERT INTO feed_files (feed, path, size, mtime_ns, sha256)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (
                            (feed_id, path, size, mtime, feed.sha256.get(path))
                            for path, (size, mtime) in feed.outputs.items()
                        ),
                    )
            except BaseException:
                con.rollback()
                raise
            con.execute("COMMIT")

    def _files(self) -> list[Path]:
        """The index and the files sqlite keeps beside it."""
        return [self.path, *(Path(f"{self.path}{end}") for end in ("-wal", "-shm", "-journal"))]

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection closed after the block: it must not outlive a call, as a worker
        forked meanwhile would inherit it."""
        with self._errors():
            con = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=rw",  # never a new, empty file
                uri=True,
                timeout=_BUSY_TIMEOUT_S,
                isolation_level=None,
            )
        try:
            with self._errors():
                con.execute("PRAGMA synchronous = NORMAL")  # safe in WAL mode; fsync per checkpoint
                con.execute("PRAGMA foreign_keys = ON")
            yield con
        finally:
            con.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Raise what sqlite says as the user's error."""
        try:
            yield
        except sqlite3.Error as e:
            raise self.describe(str(e)) from e


def _row(cached: CachedArticle) -> tuple[object, ...]:
    """An article's signature and the place of its items, as the table's columns."""
    signature = cached.signature or (None,) * 4
    items = cached.items
    place = (None,) * 5 if items is None else (items.file, items.offset, *items.lengths)
    return (*signature, *place)


#: What unpickling a damaged or foreign batch raises, or a position not in it.
_UNPICKLABLE = (
    EOFError,
    pickle.UnpicklingError,
    AttributeError,
    TypeError,
    ValueError,
    KeyError,
    IndexError,
)
