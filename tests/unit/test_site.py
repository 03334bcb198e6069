"""Reading site.yaml."""

from __future__ import annotations

import pytest

from newswire.content.site import MAX_HUBS, MAX_SITE_BYTES, parse_site
from newswire.errors import SiteConfigError
from tests.support.factories import CONTENT

MINIMAL = b"""
title: English News
description: News in plain English
base_url: https://englishnews.example
author: {name: Desk}
"""


def test_repository_site_config() -> None:
    site = parse_site("site.yaml", (CONTENT / "site.yaml").read_bytes())
    assert site.title == "English News"
    assert site.base_url.endswith("/") and site.feeds_url.endswith("/")
    assert site.timezone.key == "Europe/London"
    assert {link.name.lower() for link in site.social} == {"youtube", "facebook", "twitter"}
    assert site.items_per_feed == 50
    assert site.max_feed_bytes == 1024 * 1024


def test_defaults() -> None:
    site = parse_site("site.yaml", MINIMAL)
    assert site.base_url == "https://englishnews.example/"
    assert site.feeds_url == "https://englishnews.example/feeds/"
    assert site.language == "en"
    assert site.timezone.key == "UTC"
    assert site.author.name == "Desk"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (b"timezone: Mars/Olympus\n", "timezone"),
        (b"items_per_feed: 0\n", "items_per_feed"),
        (b"feeds_url: /feeds/\n", "feeds_url"),
        (b"titel: x\n", "titel"),
        (b"social: [{name: YouTube, url: youtube}]\n", "social[0].url"),
        (b"hub: pubsubhubbub\n", "hub"),
        (b"hub: [https://hub.example/, 7]\n", "hub[1]"),
    ],
)
def test_invalid_site_config_names_the_field(extra: bytes, field: str) -> None:
    with pytest.raises(SiteConfigError) as caught:
        parse_site("content/site.yaml", MINIMAL + extra)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"content/site.yaml: {field}: ")


def test_invalid_yaml() -> None:
    with pytest.raises(SiteConfigError, match="invalid YAML"):
        parse_site("site.yaml", b"title: [")


def test_websub_hubs() -> None:
    one = parse_site("site.yaml", MINIMAL + b"hub: https://pubsubhubbub.appspot.com/\n")
    assert one.hubs == ("https://pubsubhubbub.appspot.com/",)
    two = parse_site("site.yaml", MINIMAL + b"hub: [https://a.example/, https://b.example/]\n")
    assert two.hubs == ("https://a.example/", "https://b.example/")
    assert parse_site("site.yaml", MINIMAL).hubs == ()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (b'title: "English\\x01News"\n', "title"),
        (b'description: "News\\x00"\n', "description"),
        (b'language: "en\\x1b"\n', "language"),
        (b'author: {name: "Desk\\x08"}\n', "author.name"),
        (b'author: "Desk\\uffff"\n', "author.name"),
        (b'social: [{name: "You\\x02Tube", url: "https://y.example/"}]\n', "social[0].name"),
        (b'hub: "https://hub.example/\\x7f\\x0c"\n', "hub"),
    ],
)
def test_a_character_xml_forbids_is_refused_in_any_text(extra: bytes, field: str) -> None:
    # MINIMAL's own value of the field comes first; YAML keeps the last one.
    with pytest.raises(SiteConfigError) as caught:
        parse_site("site.yaml", MINIMAL + extra)

    assert [problem.field for problem in caught.value.problems] == [field]
    assert "control character U+" in str(caught.value)


def test_every_problem_of_site_yaml_is_reported_at_once() -> None:
    data = b"""
titel: English News
base_url: /relative/
timezone: Mars/Olympus
author: {name: "", email: nope}
items_per_feed: 0
social: [{name: YouTube, url: youtube}]
hub: [https://hub.example/, 7]
"""
    with pytest.raises(SiteConfigError) as caught:
        parse_site("content/site.yaml", data)

    fields = [problem.field for problem in caught.value.problems]
    assert fields == [
        "titel",
        "title",
        "description",
        "base_url",
        "timezone",
        "author.name",
        "author.email",
        "items_per_feed",
        "social[0].url",
        "hub[1]",
    ]
    lines = str(caught.value).splitlines()
    assert lines == [f"content/site.yaml: {problem}" for problem in caught.value.problems]
    assert caught.value.field == "titel"


def test_an_alias_bomb_is_refused_with_a_short_message() -> None:
    bomb = ["&a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    pairs = zip("abcdefg", "bcdefgh", strict=True)
    bomb += [f"&{n} [{', '.join([f'*{p}'] * 9)}]" for p, n in pairs]
    data = MINIMAL + f"social: [{', '.join(bomb)}]\n".encode()

    with pytest.raises(SiteConfigError) as caught:
        parse_site("site.yaml", data)

    assert caught.value.field == "file"
    assert "aliases expand" in str(caught.value)
    assert len(str(caught.value)) < 500


def test_a_long_value_is_quoted_short() -> None:
    with pytest.raises(SiteConfigError) as caught:
        parse_site("site.yaml", MINIMAL + b"timezone: " + b"x" * 100_000 + b"\n")

    assert len(str(caught.value)) < 500


def test_a_site_yaml_over_the_size_limit_is_refused() -> None:
    with pytest.raises(SiteConfigError) as caught:
        parse_site("site.yaml", MINIMAL + b"#" * MAX_SITE_BYTES)

    assert caught.value.field == "file"
    assert "too large" in str(caught.value)


def test_more_hubs_than_a_publish_can_ping_in_time_are_refused() -> None:
    hubs = ", ".join(f"https://hub{n}.example/" for n in range(MAX_HUBS + 1))
    with pytest.raises(SiteConfigError) as caught:
        parse_site("site.yaml", MINIMAL + f"hub: [{hubs}]\n".encode())
    assert caught.value.field == "hub"
    assert str(caught.value) == f"site.yaml: hub: {MAX_HUBS + 1} hubs, expected at most {MAX_HUBS}"
    listed = ", ".join(f"https://hub{n}.example/" for n in range(MAX_HUBS))
    assert len(parse_site("site.yaml", MINIMAL + f"hub: [{listed}]\n".encode()).hubs) == MAX_HUBS
