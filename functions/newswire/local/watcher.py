"""The content folder mirrored into the content bucket, as a writer's edits happen.

Every :data:`WATCH_INTERVAL` the folder is compared with its last snapshot (modification time
and size of each file); what changed is uploaded, what went is deleted, and the bucket's
notifications take it from there, as they would for an upload to AWS.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from newswire.content.site import SITE_CONFIG_KEY

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: How often the content folder is compared with its last snapshot.
WATCH_INTERVAL = 0.5
#: File names the watcher leaves alone: editor backups and swap files.
_IGNORED_SUFFIXES = ("~", ".swp", ".swx", ".tmp")

#: ``{key: (mtime_ns, size)}`` of the files the watcher mirrors.
Snapshot = dict[str, tuple[int, int]]


class ContentWatcher:
    """Mirrors ``content_dir`` into ``bucket`` until ``stopping`` is set.

    Args:
        content_dir: the folder with ``site.yaml`` and ``articles/``.
        s3: the client the uploads and deletes go through.
        bucket: the content bucket.
        on_site_change: called after a changed ``site.yaml`` is uploaded (the stack reindexes,
            since a site change affects every feed and no notification says so).
        say: where a failed comparison is reported; the watcher keeps watching.
        stopping: set to end :meth:`run`.
    """

    def __init__(
        self,
        content_dir: Path,
        s3: S3Client,
        bucket: str,
        *,
        on_site_change: Callable[[], None],
        say: Callable[[str], None],
        stopping: threading.Event,
    ) -> None:
        self.content_dir = content_dir
        self._s3 = s3
        self._bucket = bucket
        self._on_site_change = on_site_change
        self._say = say
        self._stopping = stopping
        self._snapshot: Snapshot = {}

    def upload_all(self) -> None:
        """Upload every file in the folder; :meth:`run` then watches from this snapshot."""
        self._snapshot = snapshot(self.content_dir)
        for key in sorted(self._snapshot):
            self._upload(key)

    def run(self) -> None:
        """Compare and mirror every :data:`WATCH_INTERVAL` until ``stopping`` is set."""
        while not self._stopping.wait(WATCH_INTERVAL):
            try:
                self._snapshot = self._sync(self._snapshot)
            except Exception as e:  # keep watching whatever went wrong
                self._say(f"newswire: watching {self.content_dir} failed: {e}")

    def _sync(self, before: Snapshot) -> Snapshot:
        """Mirror what changed since ``before`` into the content bucket; the new snapshot."""
        now = snapshot(self.content_dir)
        changed = sorted(k for k, stamp in now.items() if before.get(k) != stamp)
        removed = sorted(k for k in before if k not in now)
        for key in changed:
            self._upload(key)
        for key in removed:
            self._s3.delete_object(Bucket=self._bucket, Key=key)
        if SITE_CONFIG_KEY in changed:
            self._on_site_change()
        return now

    def _upload(self, key: str) -> None:
        try:
            body = (self.content_dir / key).read_bytes()
        except OSError:
            return  # gone again since the snapshot; the next one will say so
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body)


def snapshot(root: Path) -> Snapshot:
    """``{key: (mtime_ns, size)}`` of every file under ``root`` the watcher mirrors."""
    stamps: Snapshot = {}
    for path in _content_files(root):
        try:
            stat = path.stat()
        except OSError:
            continue  # deleted while listing
        stamps[path.relative_to(root).as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return stamps


def _content_files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        relative = path.relative_to(root).parts
        if any(part.startswith(".") for part in relative):
            continue  # hidden files and folders (.git, editors' state)
        if path.name.endswith(_IGNORED_SUFFIXES) or not path.is_file():
            continue
        yield path
