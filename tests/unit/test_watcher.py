"""What ``newswire serve``'s watcher mirrors from the content folder, and what it leaves alone."""

from __future__ import annotations

from pathlib import Path

from newswire.local.watcher import snapshot


def test_snapshot_holds_the_content_and_leaves_out_hidden_and_editor_files(
    tmp_path: Path,
) -> None:
    for name in (
        "site.yaml",
        "articles/hello.md",
        "articles/2026/nested.md",
        "articles/hello.md~",
        "articles/.hello.md.swp",
        "articles/draft.swx",
        "articles/upload.tmp",
        ".git/config",
        "articles/.drafts/secret.md",
    ):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n", encoding="utf-8")

    assert sorted(snapshot(tmp_path)) == [
        "articles/2026/nested.md",
        "articles/hello.md",
        "site.yaml",
    ]


def test_snapshot_changes_when_a_file_is_edited(tmp_path: Path) -> None:
    article = tmp_path / "articles" / "hello.md"
    article.parent.mkdir()
    article.write_text("first\n", encoding="utf-8")
    before = snapshot(tmp_path)

    article.write_text("second, longer\n", encoding="utf-8")

    assert snapshot(tmp_path)["articles/hello.md"] != before["articles/hello.md"]
