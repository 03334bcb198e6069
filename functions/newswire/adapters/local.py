"""The local-folder adapter: ``content/`` in, a feed tree out. Serves the CLI."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from newswire.content.articles import ArticleFile, is_article_key
from newswire.content.site import MAX_SITE_BYTES, SITE_CONFIG_KEY, oversized_site
from newswire.domain.feeds import is_feed_path
from newswire.errors import StorageError


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
        """Every article file under ``articles/``, in path order, not yet read."""
        folder = self.root / "articles"
        if not folder.is_dir():
            return ArticleListing([])
        # os.scandir: file types come with the listing, and no Path is made per file.
        with os.scandir(folder) as listing:
            names = sorted(e.name for e in listing if is_article_key(e.name) and e.is_file())
        prefix = f"{folder}{os.sep}"
        return ArticleListing([prefix + name for name in names])


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


class LocalFeedTree:
    """A folder that receives feed files, written so that readers of it never see half a file.

    A file whose bytes did not change is left alone, so its modification time (and any
    ETag/Last-Modified derived from it) stays stable between builds.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, path: str, body: bytes) -> bool:
        """Write one feed file if its bytes changed; say whether it was written."""
        target = self.root / path
        try:
            if target.read_bytes() == body:
                return False
        except (FileNotFoundError, NotADirectoryError):
            pass  # a new file (or a folder in the way, which writing reports)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        except OSError as e:
            raise StorageError(f"{target}: cannot write the feed file ({e.strerror})") from e
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
            Path(tmp).chmod(0o644)
            Path(tmp).replace(target)
        except BaseException as e:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(e, OSError):
                raise StorageError(f"{target}: cannot write the feed file ({e.strerror})") from e
            raise
        return True

    def prune(self, keep: Iterable[str]) -> list[str]:
        """Delete feed files no longer produced (a tag nobody uses any more).

        Only files named like feeds (``rss.xml``, ``atom.xml``, ``feed.json``) are touched, so
        anything else a user keeps in the folder is safe.
        """
        wanted = {os.path.normpath(self.root / p) for p in keep}
        removed = []
        # One bottom-up walk: files first, then each folder once its files are gone.
        for folder, _, files in os.walk(self.root, topdown=False):
            for name in files:
                path = os.path.join(folder, name)  # noqa: PTH118 - os.walk gives strings
                if is_feed_path(name) and path not in wanted:
                    Path(path).unlink()
                    removed.append(Path(path).relative_to(self.root).as_posix())
            if folder != str(self.root) and not any(Path(folder).iterdir()):
                Path(folder).rmdir()
        return sorted(removed)
