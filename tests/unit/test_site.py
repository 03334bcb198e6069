"""Reading site.yaml."""

from __future__ import annotations

import pytest

from newswire.content.site import parse_site
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
