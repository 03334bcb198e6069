"""``newswire check`` on the repository's ``content/``: each partner's findings with their
rules, and what a site without partners gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswire.cli import main
from tests.support.cli import FINDINGS_IN_CONTENT, NOW, VALID_IN_CONTENT, add_articles, run


def check(content: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    status = main(["check", str(content), "--now", NOW])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err.splitlines()


def test_check_lists_each_partner_finding_with_its_rule(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = check(content, capsys)

    assert status == 1
    assert len(out) == FINDINGS_IN_CONTENT
    harbour = f"{content}/articles/harbour-festival-returns-to-the-waterfront.md"
    rail = f"{content}/articles/rail-timetable-changes-confirmed.md"
    assert f"{harbour}: msn: published: 532 days ago, expected within 365 days " in "\n".join(out)
    assert (
        f"{rail}: msn: image: missing, expected a lead image "
        "(MSN publishes only articles with one by itself)"
    ) in out
    assert (
        f"{rail}: newsbreak: image: missing, expected a lead image (NewsBreak requires one)" in out
    )
    assert out[-2] == (
        "partners/flipboard/rss.xml: flipboard: items: 6 items, expected at least 20 "
        "(Flipboard asks for a site's most recent ones)"
    )
    # What site.yaml gives the channel is judged too: SmartNews wants a short description.
    assert out[-1] == (
        "partners/smartnews/rss.xml: smartnews: description: 56 characters (site.yaml), "
        "expected at most 30 (SmartNews)"
    )
    # The draft is no partner's business.
    assert not [line for line in out if "ferry-service-review" in line]
    assert err[-1] == (
        f"newswire: {FINDINGS_IN_CONTENT} partner findings "
        "(msn, google-news, flipboard, smartnews, newsbreak) in 7 articles, 0 rejected"
    )


def test_check_names_each_rule_broken(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_articles(
        content,
        {
            "short.md": (
                b"---\ntitle: Short title\npublished: 2026-10-30T10:00:00Z\n"
                b"image: {url: a.jpg, width: 640, height: 360}\n---\n\nBody.\n"
            )
        },
    )

    _status, out, _err = check(content, capsys)

    mine = [line.split(": ", 2)[1:] for line in out if "short.md" in line]
    assert mine == [
        ["msn", "title: 11 characters, expected 21–150 (MSN)"],
        [
            "msn",
            "image: 640×360 px, expected at least 720 px in height or width (MSN recommends it)",
        ],
        [
            "google-news",
            "image: 640×360 px, expected at least 800 px on the shortest side "
            "(Google News recommends it)",
        ],
        [
            "flipboard",
            "image: 640×360 px, expected at least 500 px on the shortest side (Flipboard)",
        ],
        ["newsbreak", "image.credit: missing, expected who took the image (NewsBreak asks)"],
        # Judged on the item: its description is the summary taken from the body, "Body."
        [
            "flipboard",
            "summary: 5 characters in the item, expected at least 300 "
            "(Flipboard recommends it for the excerpt it shows)",
        ],
    ]


def test_check_of_a_clean_site_exits_zero(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = (content / "site.yaml").read_text(encoding="utf-8")
    site = site.replace("News from the UK and around the world, in plain English.", "UK news")
    (content / "site.yaml").write_text(site.split("partners:")[0] + "partners:\n  smartnews:\n")

    status, out, _err = check(content, capsys)

    assert (status, out) == (0, [])


def test_check_of_a_site_with_no_partner_says_so(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = (content / "site.yaml").read_text(encoding="utf-8")
    (content / "site.yaml").write_text(site.split("partners:")[0])

    status, out, err = check(content, capsys)

    assert status == 0
    # Not a finding: stdout holds findings alone, as a script reading it expects.
    assert out == []
    assert err == ["newswire: no partner enabled (partners: in site.yaml), nothing to check"]


def test_check_of_a_site_with_no_partner_fails_on_a_rejected_article(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rejected article is what a newsroom runs check for, partners or not: it is listed as
    the build lists it and the status says so."""
    site = (content / "site.yaml").read_text(encoding="utf-8")
    (content / "site.yaml").write_text(site.split("partners:")[0])
    add_articles(content, {"broken.md": b"---\ntitle: Broken\n---\n\nNo date.\n"})

    status, out, err = check(content, capsys)

    assert status == 1
    assert out == [
        f"{content}/articles/broken.md: published: is missing, expected an ISO 8601 date "
        "such as 2022-02-25T14:30:00+03:00"
    ]
    assert err == [
        "newswire: no partner enabled (partners: in site.yaml), nothing to check but 1 rejected"
    ]


def test_check_of_an_invalid_site_exits_two(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = (content / "site.yaml").read_text(encoding="utf-8")
    (content / "site.yaml").write_text(site + "  msm:\n")

    status, _out, err = check(content, capsys)

    assert status == 2
    assert "partners.msm: unknown partner (did you mean 'msn'?)" in err[0]


def test_a_site_without_partners_builds_no_partner_feed_and_counts_nothing(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = (content / "site.yaml").read_text(encoding="utf-8")
    (content / "site.yaml").write_text(site.split("partners:")[0])
    out = tmp_path / "feeds"

    status, err = run(content, out, capsys)

    assert status == 0
    assert len(err) == 1
    assert err[0].startswith(f"newswire: {VALID_IN_CONTENT} articles published")
    assert not (out / "partners").exists()
