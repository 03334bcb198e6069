"""Which files of a content folder a build reads: the ones the pipeline would publish."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from newswire.adapters.local import LocalContent
from newswire.errors import StorageError


def test_articles_in_folders_are_listed_and_hidden_or_broken_files_are_not(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    (articles / "2026" / "11").mkdir(parents=True)
    (articles / ".git").mkdir()
    for name in ("b.md", "a.json", "2026/11/c.md", ".hidden.md", ".git/d.md", "notes.txt"):
        (articles / name).write_text("x")
    (articles / ".#b.md").symlink_to("root@host.1234")  # an editor's lock: a broken link
    (articles / "gone.md").symlink_to(tmp_path / "nowhere.md")
    (articles / "loop").symlink_to(articles, target_is_directory=True)  # never followed

    listed = [
        Path(f.key).relative_to(articles).as_posix() for f in LocalContent(tmp_path).article_files()
    ]

    assert listed == ["2026/11/c.md", "a.json", "b.md"]


def test_a_folder_without_articles_lists_nothing(tmp_path: Path) -> None:
    assert list(LocalContent(tmp_path).article_files()) == []


def test_a_folder_that_cannot_be_listed_is_an_error_not_a_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "articles" / "locked").mkdir(parents=True)
    real_scandir = os.scandir

    def scandir(path: str) -> Any:  # as the kernel answers a folder without read permission
        if path.endswith("locked"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)

    with pytest.raises(
        StorageError, match=r"locked: cannot list the articles \(Permission denied\)"
    ):
        list(LocalContent(tmp_path).article_files())
