"""A build's sqlite database: the rendered items every process of a build shares, and, for the
build cache, each file's parse and each feed's files.

A build renders each entry once per format (its *items*) and assembles feeds from them in
whichever process is free, so items never travel between processes: the process that renders
an entry stores its items here and any process reads them by their id. Each piece of work
opens a connection of its own, since a connection must not cross ``fork``; a worker's chunk of
files is written in one transaction, and sqlite serialises the workers' writes (WAL: readers
never wait). The build cache keeps its database (items of unchanged articles are never
rendered again); without a cache, a temporary folder holds one.

Tables: ``items`` (one column per format), ``articles`` (a file's digest, ``stat`` signature,
parse result and items' id; triggers delete an article's items with it, or when it is parsed
again), ``feeds`` and ``feed_files`` (a feed's digest and the size and modification time of
its files), ``meta`` (the stamp the rows depend on). The parse results are pickles: the
database is trusted like the content folder it was built from.
"""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from newswire.domain.feeds import FeedFormat
from newswire.domain.model import Article
from newswire.errors import InvalidArticleError, StorageError

#: A file's ``stat`` signature (see ``ArticleFile``): size, mtime and ctime in ns, inode.
Signature = tuple[int, int, int, int]
#: Reads go through a memory map of the file, not a ``read`` per page (see
#: benchmarks/RESULTS.md, "Measured choices").
_MMAP_BYTES = 1 << 30
#: How long a process waits for another's write transaction (a chunk of files) to end.
_BUSY_TIMEOUT_S = 60.0
#: One column per format, in :class:`FeedFormat` order.
_SCHEMA = """
CREATE TABLE meta (stamp TEXT NOT NULL);
CREATE TABLE items (
    id INTEGER PRIMARY KEY, rss BLOB NOT NULL, atom BLOB NOT NULL, json BLOB NOT NULL
);
CREATE TABLE articles (
    key TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, inode INTEGER,
    result BLOB NOT NULL,
    items INTEGER
);
CREATE TRIGGER article_deleted AFTER DELETE ON articles
BEGIN DELETE FROM items WHERE id = old.items; END;
CREATE TRIGGER article_replaced AFTER UPDATE OF items ON articles WHEN old.items IS NOT new.items
BEGIN DELETE FROM items WHERE id = old.items; END;
CREATE TABLE feeds (id TEXT PRIMARY KEY, digest TEXT NOT NULL);
CREATE TABLE feed_files (
    feed TEXT NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    PRIMARY KEY (feed, path)
) WITHOUT ROWID;
"""
_FORMATS = len(FeedFormat)
_ADD_ITEMS = "INSERT INTO items (rss, atom, json) VALUES (?, ?, ?)"
_PUT_ARTICLE = """
INSERT INTO articles (key, digest, size, mtime_ns, ctime_ns, inode, result, items)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    digest = excluded.digest, size = excluded.size, mtime_ns = excluded.mtime_ns,
    ctime_ns = excluded.ctime_ns, inode = excluded.inode, result = excluded.result,
    items = excluded.items
"""
_READ_ARTICLES = "SELECT key, digest, size, mtime_ns, ctime_ns, inode, result, items FROM articles"
#: The items of the ids in a JSON array, in its order.
_READ_ITEMS = """
SELECT items.rss, items.atom, items.json FROM json_each(?) AS wanted
JOIN items ON items.id = wanted.value ORDER BY wanted.key
"""
#: What a damaged file raises (as opposed to a full disk or a lock held too long).
_DAMAGED = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})


class Parsed(NamedTuple):
    """One parsed file, as a build's workers report it."""

    key: str
    result: Article | InvalidArticleError  # the article without body, or its rejection
    items: int | None  # the id of its entry's items (``None`` for a rejection)
    digest: str  # the file's SHA-256 (``""``: not to be cached, or a build without cache)
    signature: Signature | None  # its ``stat`` signature (``None``: not to be recorded)


@dataclass(slots=True)
class CachedArticle:
    """One file's cached parse (the article without body, or its rejection) and its items."""

    digest: str
    result: Article | InvalidArticleError
    items: int | None = None
    #: The file's ``stat`` signature when it was last seen (see ``ArticleFile``).
    signature: Signature | None = None


@dataclass(slots=True)
class CachedFeed:
    """One feed's digest, and the ``(size, mtime_ns)`` of each file written for it."""

    digest: str
    outputs: dict[str, tuple[int, int]]


#: Reads the items of several entries: ``[format][entry]``, in the order of the ids given.
ItemReader = Callable[[Sequence[int]], list[list[bytes]]]


class BuildStore:
    """The database at ``path``; see the module docstring.

    Args:
        path: the database file (:meth:`create` makes it).
        describe: the error a user can act on, for what sqlite or the system said (a full disk).
    """

    def __init__(self, path: Path, describe: Callable[[str], StorageError]) -> None:
        self.path = path
        self.describe = describe

    def create(self, stamp: str) -> None:
        """Make an empty database, in place of any left at ``path``, for rows that depend on
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
        """Every article and feed recorded, or ``None`` if the database is missing, damaged or
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
                articles = {
                    key: CachedArticle(
                        digest,
                        pickle.loads(result),  # noqa: S301 - our own file, trusted like content
                        items,
                        None if size is None else (size, mtime, ctime, inode),
                    )
                    for key, digest, size, mtime, ctime, inode, result, items in con.execute(
                        _READ_ARTICLES
                    )
                }
                feeds = {
                    feed_id: CachedFeed(digest, {})
                    for feed_id, digest in con.execute("SELECT id, digest FROM feeds")
                }
                for feed_id, path, size, mtime in con.execute(
                    "SELECT feed, path, size, mtime_ns FROM feed_files"
                ):
                    feeds[feed_id].outputs[path] = (size, mtime)
        except (OSError, sqlite3.Error, StorageError, *_UNPICKLABLE):
            return None
        return articles, feeds

    def add(
        self, parsed: Sequence[Parsed], items: Sequence[Sequence[bytes] | None]
    ) -> list[Parsed]:
        """Store the items of a chunk of parsed files (``None`` for a rejection), and record
        each file that has a digest (see :class:`Parsed`), in one transaction; return the
        files with their items' ids."""
        stored = []
        with self._transaction() as con:
            for file, entry in zip(parsed, items, strict=True):
                item_id = None if entry is None else con.execute(_ADD_ITEMS, entry).lastrowid
                if file.digest:
                    signature = file.signature or (None, None, None, None)
                    result = pickle.dumps(file.result, protocol=pickle.HIGHEST_PROTOCOL)
                    con.execute(_PUT_ARTICLE, (file.key, file.digest, *signature, result, item_id))
                stored.append(file._replace(items=item_id))
        return stored

    @contextmanager
    def reader(self) -> Iterator[ItemReader]:
        """A reader of items, on one connection while the block runs.

        Raises:
            StorageError: an item is missing or cannot be read (the file deleted or damaged
                during the build).
        """
        with self._connection() as con:

            def read(ids: Sequence[int]) -> list[list[bytes]]:
                with self._errors():
                    rows = con.execute(_READ_ITEMS, (f"[{','.join(map(str, ids))}]",)).fetchall()
                if len(rows) != len(ids):
                    raise self.describe("items missing: deleted during the build")
                if not rows:
                    return [[] for _ in range(_FORMATS)]
                return [list(column) for column in zip(*rows, strict=True)]

            yield read

    def items_of(self, item_id: int) -> list[bytes]:
        """One entry's items, one per format."""
        with self.reader() as read:
            return [column[0] for column in read([item_id])]

    def save(
        self,
        gone: Iterable[str],
        signatures: Iterable[tuple[str, Signature]],
        gone_feeds: Iterable[str],
        feeds: Iterable[tuple[str, CachedFeed]],
    ) -> None:
        """Record, in one transaction: the articles ``gone`` (their items with them), new
        ``signatures`` of unchanged files, feeds gone and feeds written again."""
        with self._transaction() as con:
            con.executemany("DELETE FROM articles WHERE key = ?", ((key,) for key in gone))
            con.executemany(
                "UPDATE articles SET size = ?, mtime_ns = ?, ctime_ns = ?, inode = ? WHERE key = ?",
                ((*signature, key) for key, signature in signatures),
            )
            con.executemany(
                "DELETE FROM feeds WHERE id = ?", ((feed_id,) for feed_id in gone_feeds)
            )
            for feed_id, feed in feeds:
                con.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
                con.execute("INSERT INTO feeds (id, digest) VALUES (?, ?)", (feed_id, feed.digest))
                con.executemany(
                    "INSERT INTO feed_files (feed, path, size, mtime_ns) VALUES (?, ?, ?, ?)",
                    ((feed_id, path, size, mtime) for path, (size, mtime) in feed.outputs.items()),
                )

    def _files(self) -> list[Path]:
        """The database and the files sqlite keeps beside it."""
        return [self.path, *(Path(f"{self.path}{end}") for end in ("-wal", "-shm", "-journal"))]

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection of this process's own, closed after the block (it must not outlive a
        piece of work: a worker forked meanwhile would inherit it)."""
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
                con.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
                con.execute("PRAGMA foreign_keys = ON")
            yield con
        finally:
            con.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed if the block ends normally, else rolled back."""
        with self._connection() as con, self._errors():
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.rollback()
                raise
            con.execute("COMMIT")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Raise what sqlite says as the user's error; a damaged database is removed, to be
        made again by the next build."""
        try:
            yield
        except sqlite3.Error as e:
            if getattr(e, "sqlite_errorname", "") in _DAMAGED:
                for damaged in self._files():
                    damaged.unlink(missing_ok=True)
                raise self.describe(f"{e}; removed, to be rebuilt by the next build") from e
            raise self.describe(str(e)) from e


#: What unpickling a damaged or foreign result raises.
_UNPICKLABLE = (EOFError, pickle.UnpicklingError, AttributeError, TypeError, ValueError, KeyError)
