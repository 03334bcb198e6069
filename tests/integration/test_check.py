"""``newswire check`` judges each partner feed as the build writes it: its items after the
byte limit, and any one item too big for its partner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newswire.cli import main

NOW = datetime(2026, 11, 1, tzinfo=UTC)
SITE = """\
title: Harbour News
description: News from the harbour.
base_url: https://harbour.example/
author: {name: Desk}
items_per_feed: 30
max_feed_bytes: %d
partners:
  google-news:
  flipboard:
  smartnews:
"""
IMAGE = "image: {url: a.jpg, width: 1600, height: 900, credit: Ann}\n"
#: Flipboard recommends an excerpt of 300 characters or more: each article gives one.
SUMMARY = 'summary: "%s"\n' % ("The harbour office explains the change. " * 8)


def write_content(folder: Path, max_feed_bytes: int, bodies: dict[str, str]) -> Path:
    """A content folder with one article per body, an hour apart, newest first."""
    (folder / "articles").mkdir(parents=True)
    (folder / "site.yaml").write_text(SITE % max_feed_bytes, encoding="utf-8")
    for hours, (name, body) in enumerate(bodies.items(), start=1):
        published = (NOW - timedelta(hours=hours)).isoformat()
        front = f'---\ntitle: "Story {name} from the harbour"\npublished: {published}\n'
        (folder / "articles" / f"{name}.md").write_text(
            front + IMAGE + SUMMARY + "---\n\n" + body + "\n", encoding="utf-8"
        )
    return folder


def check(content: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    status = main(["check", str(content), "--now", NOW.isoformat()])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err.splitlines()


def build(content: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["build", str(content), "--out", str(out), "--now", NOW.isoformat()]) == 0
    return capsys.readouterr().err.splitlines()


def test_a_feed_trimmed_by_its_byte_limit_below_the_item_floor_is_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paragraph = "The ferry timetable changes from Monday, the harbour office said. " * 30
    bodies = {f"{n:02}": paragraph for n in range(30)}
    content = write_content(tmp_path / "content", 20_000, bodies)

    status, out, _err = check(content, capsys)
    build_err = build(content, tmp_path / "out", capsys)

    flipboard = (tmp_path / "out" / "partners" / "flipboard" / "rss.xml").read_bytes()
    shown = flipboard.count(b"<item>")
    assert 0 < shown < 20
    assert status == 1
    assert out == [
        f"partners/flipboard/rss.xml: flipboard: items: {shown} items, trimmed from 30 to fit "
        "20000 bytes, expected at least 20 (Flipboard asks for a site's most recent ones)"
    ]
    # The build counts what check lists.
    assert build_err[0].startswith("newswire: 1 thing")


def test_one_article_too_big_for_a_partner_is_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Under the 1 MiB an article may be, over 1 MB once its markup is escaped in an item.
    huge = "**Dredging** & *tides* " * 16_000
    bodies = {"big": huge, **{f"{n:02}": "A short story." for n in range(3)}}
    content = write_content(tmp_path / "content", 5_000_000, bodies)

    status, out, _err = check(content, capsys)

    big = [line.split(": ", 3)[1:] for line in out if line.startswith(f"{content}/articles/big")]
    assert status == 1
    assert [(partner, field) for partner, field, _ in big] == [
        ("google-news", "size"),
        ("smartnews", "size"),
    ]
    google, smartnews = (message for _, _, message in big)
    assert google.endswith(
        "bytes as a feed item, expected at most 1000000 per article (Google News)"
    )
    assert smartnews.endswith("for a feed of it alone to fit SmartNews's 1000000 bytes")


def test_the_summary_counts_the_articles_judged_in_the_singular_for_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = write_content(tmp_path / "content", 1_000_000, {"only": "A short story."})
    draft = "---\ntitle: Not yet\npublished: 2026-10-01T10:00:00Z\ndraft: true\n---\n\nBody.\n"
    (content / "articles" / "draft.md").write_text(draft, encoding="utf-8")

    status, out, err = check(content, capsys)
    build_err = build(content, tmp_path / "out", capsys)

    assert status == 1
    assert out == [
        "partners/flipboard/rss.xml: flipboard: items: 1 item, expected at least 20 "
        "(Flipboard asks for a site's most recent ones)"
    ]
    # The draft is not judged, so not counted.
    assert err == [
        "newswire: 1 partner finding (google-news, flipboard, smartnews) in 1 article, 0 rejected"
    ]
    assert build_err[0] == (
        "newswire: 1 thing partners would refuse or downgrade (newswire check lists them)"
    )


def test_an_undated_withdrawal_of_an_old_article_is_warned_of_by_check_and_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its tombstone can only be dated when it is first seen, which a build does anew every
    time: both name the file and the field, and say what to write."""
    content = write_content(tmp_path / "content", 1_000_000, {"only": "A short story."})
    old = "---\ntitle: Old\npublished: 2026-08-01T10:00:00Z\nwithdrawn: Wrong\n---\n\nBody.\n"
    (content / "articles" / "old.md").write_text(old, encoding="utf-8")
    warning = (
        f"{content}/articles/old.md: withdrawn: no date, and its last update "
        "(2026-08-01T10:00:00+00:00) is over 30 days old, so its tombstone is dated when it is "
        "first seen (this build: "
        "2026-11-01T00:00:00+00:00), anew by every build, expected withdrawn: "
        "{reason: …, date: <when it was withdrawn>}"
    )

    status, out, err = check(content, capsys)
    build_err = build(content, tmp_path / "out", capsys)

    assert status == 1
    assert out[0] == warning
    assert err[-1].endswith(", 0 rejected, 1 warning")
    assert warning in build_err
    atom = (tmp_path / "out" / "atom.xml").read_bytes()
    assert b'articles/old/" when="2026-11-01T00:00:00+00:00"' in atom

    dated = old.replace("withdrawn: Wrong", "withdrawn: {reason: Wrong, date: 2026-10-30}")
    (content / "articles" / "old.md").write_text(dated, encoding="utf-8")
    _status, out, _err = check(content, capsys)
    assert not [line for line in out if "old.md" in line]
