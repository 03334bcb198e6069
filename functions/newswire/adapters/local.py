"""The local-folder adapter: ``content/`` in, a feed tree out. Serves the CLI."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from newswire.buildworkers import Written
from newswire.content.articles import ArticleFile, is_article_key
from newswire.content.site import MAX_SITE_BYTES, SITE_CONFIG_KEY, oversized_site
from newswire.domain.feeds import is_feed_path
from newswire.errors import StorageError
from newswire.rendering.directory import DIRECTORY_PATHS
from newswire.rendering.sitemap import NEWS_SITEMAP_PATH, is_sitemap_path
from newswire.rendering.stylesheet import STYLESHEET_PATH

#: The list of files a build wrote into its output folder, kept there for the next build.
MANIFEST_FILE = ".newswire-manifest.json"
_MANIFEST_FORMAT = 1
_MANIFEST_ABOUT = (
    "The files `newswire build` wrote into this folder, with their size and modification time: "
    "the next build may replace or remove these, and no other file."
)


class LocalContent:
    """A content folder laid out like the content bucket: ``site.yaml``, ``articles/*``.

    Keys are the files' paths as the user typed them (``content/articles/x.md``), so error
    messages point at a file the writer can open.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def read_site(self) -> bytes:
        """The bytes of ``site.yaml``.

        Raises:
            StorageError: the folder has no readable ``site.yaml``.
            SiteConfigError: it is too large to be one.
        """
        path = self.root / SITE_CONFIG_KEY
        try:
            with path.open("rb") as file:
                data = file.read(MAX_SITE_BYTES + 1)  # never read whole: it could be gigabytes
                size = max(len(data), os.fstat(file.fileno()).st_size)
                if (too_large := oversized_site(str(path), size)) is not None:
                    raise too_large
                return data
        except OSError as e:
            raise StorageError(f"{path}: cannot read the site configuration ({e.strerror})") from e

    def site_key(self) -> str:
        """The path shown in messages about the site configuration."""
        return str(self.root / SITE_CONFIG_KEY)

    def article_files(self) -> ArticleListing:
        """Every article file under ``articles/``, its folders included, in path order, not
        yet read: the pipeline publishes every article key under ``articles/``, so a build of
        the same content must read the same files. Hidden files and folders (``.git``, an
        editor's ``.#x.md`` lock) are skipped, as ``newswire serve`` never uploads them.

        Raises:
            StorageError: a folder under ``articles/`` cannot be listed.
        """
        paths: list[str] = []
        folders = [str(self.root / "articles")]
        while folders:
            folder = folders.pop()
            try:
                # os.scandir: file types come with the listing, and no Path is made per file.
                with os.scandir(folder) as listing:
                    entries = [e for e in listing if not e.name.startswith(".")]
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as e:  # articles left out unsaid would vanish from the feeds
                raise StorageError(f"{folder}: cannot list the articles ({e.strerror})") from e
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                elif is_article_key(entry.name) and entry.is_file():
                    paths.append(entry.path)
        return ArticleListing(sorted(paths))


class ArticleListing(Iterable[ArticleFile]):
    """The article files of a folder: counted at once, each ``stat``-ed only when reached.

    A build sends the first files to its workers while later ones are still being looked
    at, and knowing how many there are lets it shrink its last requests (see ``build``).
    """

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[ArticleFile]:
        return (ArticleFile.at(path) for path in self.paths)


class Pruned(NamedTuple):
    """What :meth:`LocalFeedTree.finish` did with the last build's files this one did not
    write: ``removed``, or ``kept`` because they changed since (paths relative to the folder)."""

    removed: list[str]
    kept: list[str]


class LocalFeedTree:
    """A folder that receives feed files, written so that readers of it never see half a file.

    A file whose bytes did not change is left alone, so its modification time (and any
    ETag/Last-Modified derived from it) stays stable between builds.

    The folder may hold other files (a site's pages, another tool's feeds): a build touches
    only its own. :meth:`finish` lists the files of a build, with their size and modification
    time, in :data:`MANIFEST_FILE`; the next build replaces or removes those, and never
    another file (see :meth:`write`). Without a manifest nothing is removed.

    Raises:
        StorageError: the manifest exists but cannot be read.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifest = root / MANIFEST_FILE
        #: The files the last build wrote, as ``path -> (size, mtime_ns)``.
        self.owned: dict[str, tuple[int, int]] = {}
        #: What is wrong with the manifest, if it is ignored.
        self.problem: str | None = None
        self._manifest_bytes: bytes | None = None
        try:
            self._manifest_bytes = self.manifest.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as e:
            raise StorageError(f"{self.manifest}: cannot read it ({e.strerror})") from e
        try:
            self.owned = _parse_manifest(self._manifest_bytes)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            self.problem = (
                f"{self.manifest}: ignored, not a list of files newswire can read ({e}); "
                "no file is removed, and the files it named are left alone"
            )

    @property
    def has_manifest(self) -> bool:
        """Whether an earlier build left a manifest (readable or not)."""
        return self._manifest_bytes is not None

    def write(self, path: str, body: bytes) -> Written:
        """Write one feed file if its bytes changed; say what was done.

        A file already at ``path`` that the last build did not write (its manifest does not
        name it) is someone else's: it is left as it is (:attr:`Written.REFUSED`), unless it
        holds these very bytes (a copy of an earlier build's output), which are then ours.
        """
        target = self.root / path
        try:
            if target.read_bytes() == body:
                return Written.UNCHANGED
        except (FileNotFoundError, NotADirectoryError):
            pass  # a new file (or a file in the way of its folder, which writing reports)
        except OSError:  # unreadable, or a folder
            if path not in self.owned:
                return Written.REFUSED
        else:
            if path not in self.owned:
                return Written.REFUSED
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(f"{target}: cannot write the feed file ({e.strerror})") from e
        _write_atomically(target, body, "the feed file")
        return Written.WRITTEN

    def finish(self, paths: Iterable[str]) -> Pruned:
        """Remove the last build's files that this one did not write, then list this one's.

        A stale file is removed only if it is as the last build left it (same size and
        modification time, a plain file inside the folder): one changed since may be someone
        else's now, so it is kept, and forgotten. Folders are removed only when removing a
        file left them empty.

        Args:
            paths: every file of this build (written now or left unchanged), relative to the
                folder.

        Raises:
            StorageError: a file cannot be removed, or the manifest cannot be written.
        """
        current = set(paths)
        pruned = self._prune(sorted(self.owned.keys() - current))
        files: dict[str, list[int]] = {}
        for path in sorted(current):
            try:
                status = (self.root / path).lstat()
            except FileNotFoundError:
                continue
            except OSError as e:
                raise StorageError(f"{self.root / path}: cannot read it ({e.strerror})") from e
            if stat.S_ISREG(status.st_mode):
                files[path] = [status.st_size, status.st_mtime_ns]
        manifest = {"about": _MANIFEST_ABOUT, "format": _MANIFEST_FORMAT, "files": files}
        data = json.dumps(manifest, separators=(",", ":")).encode() + b"\n"
        if data != self._manifest_bytes:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StorageError(f"{self.root}: cannot write the feeds ({e.strerror})") from e
            _write_atomically(self.manifest, data, "the list of files newswire wrote")
        return pruned

    def _prune(self, stale: list[str]) -> Pruned:
        pruned = Pruned([], [])
        real_root = Path(os.path.realpath(self.root))
        for path in stale:
            target = self.root / path
            try:
                status = target.lstat()
            except (FileNotFoundError, NotADirectoryError):
                continue  # gone already
            except OSError:
                pruned.kept.append(path)
                continue
            if (
                not stat.S_ISREG(status.st_mode)
                or (status.st_size, status.st_mtime_ns) != self.owned[path]
                # no folder on the way is a link to elsewhere
                or Path(os.path.realpath(target.parent)) != real_root / PurePosixPath(path).parent
            ):
                pruned.kept.append(path)
                continue
            try:
                target.unlink()
            except OSError as e:
                raise StorageError(
                    f"{target}: cannot remove the stale feed file ({e.strerror})"
                ) from e
            pruned.removed.append(path)
            folder = target.parent
            while folder != self.root:
                try:
                    folder.rmdir()
                except OSError:  # not empty: someone else's files, or ours still
                    break
                folder = folder.parent
        return pruned


def _parse_manifest(data: bytes) -> dict[str, tuple[int, int]]:
    """The files a manifest names, as ``path -> (size, mtime_ns)``.

    Only paths a build can write are taken (a feed, a sitemap, the stylesheet, inside
    the folder): a hand-edited manifest can never make a build replace or remove another file.

    Raises:
        ValueError, TypeError, KeyError, AttributeError: not a manifest of this format.
    """
    manifest = json.loads(data)
    if manifest["format"] != _MANIFEST_FORMAT:
        raise ValueError(f"format {manifest['format']!r}, expected {_MANIFEST_FORMAT}")
    owned = {}
    for path, (size, mtime) in manifest["files"].items():
        if _is_output_path(path):
            owned[path] = (int(size), int(mtime))
    return owned


def _is_output_path(path: str) -> bool:
    parts = path.split("/")
    return all(part not in ("", ".", "..") for part in parts) and (
        is_feed_path(path)
        or is_sitemap_path(path)
        or path in (NEWS_SITEMAP_PATH, STYLESHEET_PATH, *DIRECTORY_PATHS)
    )


def _write_atomically(target: Path, body: bytes, what: str) -> None:
    """Write ``target`` through a temporary file beside it, so no reader sees half of it."""
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    except OSError as e:
        raise StorageError(f"{target}: cannot write {what} ({e.strerror})") from e
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        Path(tmp).chmod(0o644)
        Path(tmp).replace(target)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise StorageError(f"{target}: cannot write {what} ({e.strerror})") from e
        raise
