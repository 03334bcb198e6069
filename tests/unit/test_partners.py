"""Partner feeds: what each partner requires is in its feed, and the feed is valid RSS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
from lxml import etree

from newswire.content.site import parse_site
from newswire.domain.model import Image, Person
from newswire.domain.partners import (
    Partner,
    PartnerFeed,
    article_findings,
    excerpt_finding,
    feed_findings,
    site_rule_findings,
)
from newswire.errors import SiteConfigError
from newswire.rendering.partners import (
    partner_description,
    render_partner_files,
    render_partner_item,
)
from tests.support.factories import make_entry, make_site
from tests.support.feedcheck import check_rss

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "media": "http://search.yahoo.com/mrss/",
    "dcterms": "http://purl.org/dc/terms/",
    "snf": "http://www.smartnews.be/snf",
}
IMAGE = Image(
    "https://cdn.news.example/1.jpg", "A cat", "image/jpeg", 2048, 1600, 900, "Ann", "Ships"
)
LOGO = "https://news.example/logo.png"
ALL = tuple(PartnerFeed(p, LOGO if p is Partner.SMARTNEWS else None) for p in Partner)


def entries(count: int = 3, **changes: Any) -> list[Any]:
    image = changes.pop("image", IMAGE)
    return [
        make_entry(
            n,
            image=image,
            authors=(Person("Ann Writer"), Person("Bob Reporter")),
            updated=make_entry(n).published + timedelta(days=1),
            **changes,
        )
        for n in range(1, count + 1)
    ]


def documents(site_changes: dict[str, Any] | None = None, **changes: Any) -> dict[Partner, bytes]:
    site = make_site(partners=ALL, **(site_changes or {}))
    files = render_partner_files(site, entries(**changes))
    return {Partner(file.path.split("/")[1]): file.body for file in files}


def items(body: bytes) -> list[Any]:
    return etree.fromstring(body).findall("channel/item")


@pytest.mark.parametrize("partner", list(Partner))
def test_every_partner_feed_is_strictly_valid_and_parses_cleanly(partner: Partner) -> None:
    body = documents()[partner]

    assert check_rss(body) == []
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert len(parsed.entries) == 3


def test_msn_is_told_when_an_article_expires_and_the_others_are_not() -> None:
    expires = datetime(2021, 4, 1, 6, 0, tzinfo=UTC)
    feeds = documents(expires=expires)
    msn = items(feeds[Partner.MSN])[0]

    # MSN takes the item down by itself at its dcterms:valid time
    assert msn.findtext("dcterms:valid", namespaces=NS) == "2021-04-01T06:00:00+00:00"
    for partner in set(Partner) - {Partner.MSN}:
        assert items(feeds[partner])[0].find("dcterms:valid", NS) is None, partner
    assert check_rss(feeds[Partner.MSN]) == []
    assert feedparser.parse(feeds[Partner.MSN]).bozo == 0
    assert items(documents()[Partner.MSN])[0].find("dcterms:valid", NS) is None


@pytest.mark.parametrize("partner", list(Partner))
def test_every_partner_gets_full_body_bylines_guid_and_described_image(partner: Partner) -> None:
    (item, *_) = items(documents()[partner])

    assert item.findtext("content:encoded", namespaces=NS) == make_entry(1).content_html
    assert [c.text for c in item.findall("dc:creator", NS)] == ["Ann Writer", "Bob Reporter"]
    assert item.find("author") is None
    guid = item.find("guid")
    assert (guid.text, guid.get("isPermaLink")) == (make_entry(1).id, "true")
    media = item.find("media:content", NS)
    assert media.attrib == {
        "url": IMAGE.url,
        "fileSize": "2048",
        "type": "image/jpeg",
        "medium": "image",
        "width": "1600",
        "height": "900",
    }
    assert media.findtext("media:credit", namespaces=NS) == "Ann"
    assert media.findtext("media:description", namespaces=NS) == "Ships"


def test_each_partner_reads_an_update_where_its_spec_says() -> None:
    feeds = documents()
    entry = entries()[0]
    msn = items(feeds[Partner.MSN])[0]
    google = items(feeds[Partner.GOOGLE_NEWS])[0]
    flipboard = items(feeds[Partner.FLIPBOARD])[0]

    # MSN: dcterms:modified; Google News: pubDate; the others: pubDate is the first publication.
    assert msn.findtext("dcterms:modified", namespaces=NS) == entry.updated.isoformat()
    assert google.findtext("pubDate") == "Sat, 20 Mar 2021 09:30:00 +0000"
    assert flipboard.findtext("pubDate") == "Fri, 19 Mar 2021 09:30:00 +0000"
    assert google.find("dcterms:modified", NS) is None


@pytest.mark.parametrize("partner", list(Partner))
def test_every_partner_reads_the_summary_as_the_plain_text_written(partner: Partner) -> None:
    (item, *_) = items(documents(summary="Harbour & Maritime <Festival>")[partner])

    # Escaped once for XML: the partner shows the text, not "&amp;".
    assert item.findtext("description") == "Harbour & Maritime <Festival>"


def test_smartnews_has_its_logo_and_thumbnail() -> None:
    root = etree.fromstring(documents()[Partner.SMARTNEWS])

    assert root.findtext("channel/snf:logo/url", namespaces=NS) == LOGO
    thumbnail = root.find("channel/item/media:thumbnail", NS)
    assert thumbnail.get("url") == IMAGE.url
    # No other partner declares or uses the SmartNews namespace.
    assert b"snf" not in documents()[Partner.MSN]


@pytest.mark.parametrize("partner", list(Partner))
def test_every_partner_gets_an_iri_as_the_uri_rss_wants(partner: Partner) -> None:
    image = Image("https://cdn.news.example/straße.jpg", "A street", width=1600, height=900)
    body = documents(url="https://news.example/café/", image=image)[partner]

    (item, *_) = items(body)
    assert item.findtext("link") == "https://news.example/caf%C3%A9/"
    uri = "https://cdn.news.example/stra%C3%9Fe.jpg"
    assert item.find("enclosure").get("url") == uri
    assert item.find("media:content", NS).get("url") == uri
    for thumbnail in item.findall("media:thumbnail", NS):
        assert thumbnail.get("url") == uri
    assert check_rss(body) == []


def test_one_language_and_the_self_link_per_feed() -> None:
    for partner, body in documents().items():
        channel = etree.fromstring(body).find("channel")
        assert channel.findtext("language") == "en"
        self_link = channel.find("atom:link[@rel='self']", NS)
        assert self_link.get("href") == f"https://news.example/feeds/partners/{partner}/rss.xml"


def test_a_feed_over_its_partners_limit_carries_fewer_items() -> None:
    # The site's limit applies to a partner that states none; SmartNews' 1 MB is its own.
    big = "<p>" + "harbour ferry council " * 2000 + "</p>"
    feeds = documents({"max_feed_bytes": 100_000}, content_html=big)
    many = documents({"max_feed_bytes": 100_000}, content_html=big, count=3)

    assert len(items(feeds[Partner.MSN])) == 2
    assert len(feeds[Partner.MSN]) <= 100_000
    assert len(items(many[Partner.SMARTNEWS])) == 3  # within 1 MB


def test_items_are_the_same_whatever_feed_renders_them() -> None:
    entry = entries()[0]
    for partner in Partner:
        assert render_partner_item(entry, partner) in documents()[partner]


def test_site_yaml_enables_partners_with_their_settings() -> None:
    base = b"title: T\ndescription: D\nbase_url: https://a.example/\nauthor: {name: A}\n"
    site = parse_site(
        "site.yaml", base + b"partners:\n  smartnews: {logo: https://a.example/l.png}\n  msn:\n"
    )

    assert site.partners == (
        PartnerFeed(Partner.MSN),
        PartnerFeed(Partner.SMARTNEWS, "https://a.example/l.png"),
    )


@pytest.mark.parametrize(
    ("partners", "message"),
    [
        (b"  msm:\n", "partners.msm: unknown partner (did you mean 'msn'?), expected one of msn,"),
        (b"  msn: {logo: x}\n", "partners.msn.logo: unknown setting, expected no setting"),
        (b"  smartnews: {logo: rel.png}\n", "partners.smartnews.logo: 'rel.png' is not an absol"),
        (b"  smartnews: {lgo: x}\n", "partners.smartnews.lgo: unknown setting, expected one of"),
        (b"  flipboard: 3\n", "partners.flipboard: 3 is not a mapping"),
    ],
)
def test_site_yaml_rejects_unknown_partners_and_settings(partners: bytes, message: str) -> None:
    base = b"title: T\ndescription: D\nbase_url: https://a.example/\nauthor: {name: A}\n"

    with pytest.raises(SiteConfigError) as raised:
        parse_site("site.yaml", base + b"partners:\n" + partners)

    assert message in str(raised.value)


def test_site_yaml_partners_must_be_a_mapping() -> None:
    base = b"title: T\ndescription: D\nbase_url: https://a.example/\nauthor: {name: A}\n"

    with pytest.raises(SiteConfigError, match="partners: is a list, expected a mapping"):
        parse_site("site.yaml", base + b"partners: [msn]\n")


def test_an_image_of_unknown_size_is_judged_by_no_size_rule() -> None:
    from newswire.content.articles import parse_article

    now = datetime(2024, 3, 2, tzinfo=UTC)
    front = b'---\ntitle: "A title long enough for MSN"\npublished: 2024-03-01T10:00:00Z\n'
    article = parse_article("articles/a.md", front + b"image: a.jpg\n---\n\nBody.\n", make_site())

    found = {p: [f.field for f in article_findings(article, p, now)] for p in Partner}

    assert found == {p: ["image.credit"] if p is Partner.NEWSBREAK else [] for p in Partner}


@pytest.mark.parametrize(
    ("width", "height", "found"),
    [
        (600, 900, []),  # a portrait image: its long side is what MSN judges
        (None, 1000, []),
        (640, None, ["image: 640 px wide, expected at least 720 px in height or width"]),
        (640, 360, ["image: 640×360 px, expected at least 720 px in height or width"]),
    ],
)
def test_msn_recommends_720_px_on_the_long_side(
    width: int | None, height: int | None, found: list[str]
) -> None:
    from newswire.content.articles import parse_article

    now = datetime(2024, 3, 2, tzinfo=UTC)
    size = "".join(
        f", {name}: {value}" for name, value in (("width", width), ("height", height)) if value
    )
    front = b'---\ntitle: "A title long enough for MSN"\npublished: 2024-03-01T10:00:00Z\n'
    image = f"image: {{url: a.jpg{size}}}\n---\n\nBody.\n".encode()
    article = parse_article("articles/a.md", front + image, make_site())

    messages = [str(f).split(": ", 2)[2] for f in article_findings(article, Partner.MSN, now)]

    assert [m.removesuffix(" (MSN recommends it)") for m in messages] == found
    assert all(m.endswith("(MSN recommends it)") for m in messages)


NOW = datetime(2024, 3, 2, tzinfo=UTC)


def article(front: str = "", title: str = "A title long enough for MSN") -> Any:
    """An article published the day before NOW, with ``front`` added to its front matter."""
    from newswire.content.articles import parse_article

    data = f'---\ntitle: "{title}"\npublished: 2024-03-01T10:00:00Z\n{front}---\n\nBody.\n'
    return parse_article("articles/a.md", data.encode(), make_site())


def messages(partner: Partner, front: str = "", field: str | None = None) -> list[str]:
    """What ``partner`` says of an article with ``front``, without ``<key>: <partner>: ``."""
    found = article_findings(article(front), partner, NOW)
    return [str(f).split(": ", 2)[2] for f in found if field is None or f.field == field]


@pytest.mark.parametrize(
    ("size", "found"),
    [
        ("width: 1600, height: 900", []),  # 1.78
        ("width: 900, height: 1800", []),  # 0.5 exactly
        (
            "width: 2000, height: 800",
            [
                "image: 2000×800 px, a ratio of 2.50, expected a width-to-height ratio of "
                "0.5–1.89 (MSN may not display it correctly)"
            ],
        ),
        (
            "width: 800, height: 2000",
            [
                "image: 800×2000 px, a ratio of 0.40, expected a width-to-height ratio of "
                "0.5–1.89 (MSN may not display it correctly)"
            ],
        ),
        ("width: 2000", []),  # a ratio needs both sides
    ],
)
def test_msn_says_an_image_outside_its_aspect_ratios_may_not_display(
    size: str, found: list[str]
) -> None:
    assert messages(Partner.MSN, f"image: {{url: a.jpg, {size}}}\n", "image") == found


@pytest.mark.parametrize(
    ("expires", "found"),
    [
        ("2024-03-01T12:00:00Z", []),
        (
            "2024-03-01T11:00:00Z",
            [
                "expires: 60 minutes after published, expected at least 2 hours after "
                "(MSN takes no nearer expiration date)"
            ],
        ),
    ],
)
def test_msn_takes_an_expiration_date_at_least_two_hours_ahead(
    expires: str, found: list[str]
) -> None:
    assert messages(Partner.MSN, f"expires: {expires}\n", "expires") == found
    # No other partner reads an expiration date.
    assert messages(Partner.GOOGLE_NEWS, f"expires: {expires}\n", "expires") == []


def test_google_news_recommends_800_px_on_the_short_side_and_flipboard_requires_500() -> None:
    image = "image: {url: a.jpg, width: 1600, height: 450}\n"

    assert messages(Partner.GOOGLE_NEWS, image, "image") == [
        "image: 1600×450 px, expected at least 800 px on the shortest side "
        "(Google News recommends it)"
    ]
    assert messages(Partner.FLIPBOARD, image, "image") == [
        "image: 1600×450 px, expected at least 500 px on the shortest side (Flipboard)"
    ]
    assert messages(Partner.FLIPBOARD, "image: {url: a.jpg, width: 900, height: 500}\n") == []


@pytest.mark.parametrize(
    ("excerpt", "found"),
    [
        (
            "s" * 299,
            "articles/a.md: flipboard: summary: 299 characters in the item, expected at least "
            "300 (Flipboard recommends it for the excerpt it shows)",
        ),
        ("s" * 300, None),
        # A first paragraph newswire cut at its summary length: only a summary makes it longer.
        ("word " * 58 + "word…", None),
    ],
)
def test_flipboard_recommends_an_excerpt_of_300_characters(excerpt: str, found: str | None) -> None:
    said = excerpt_finding("articles/a.md", Partner.FLIPBOARD, excerpt)

    assert (None if said is None else str(said)) == found
    assert excerpt_finding("articles/a.md", Partner.MSN, "short") is None


def test_the_excerpt_judged_is_the_items_description() -> None:
    # A summary the writer did not give is taken from the body: the item carries it.
    entry = make_entry(1, summary="")

    assert partner_description(entry) == entry.title
    assert f"<description>{entry.title}</description>".encode() in render_partner_item(
        entry, Partner.FLIPBOARD
    )


@pytest.mark.parametrize(
    ("partner", "shown", "found"),
    [
        (Partner.FLIPBOARD, 20, []),
        (
            Partner.FLIPBOARD,
            19,
            [
                "items: 19 items, expected at least 20 "
                "(Flipboard asks for a site's most recent ones)"
            ],
        ),
        (Partner.GOOGLE_NEWS, 60, []),
        (
            Partner.GOOGLE_NEWS,
            61,
            [
                "items: 61 items, expected at most 60 new ones at a time "
                "(Google News reads no more per fetch; the rest wait for the next)"
            ],
        ),
        (Partner.MSN, 200, []),
    ],
)
def test_item_counts_each_partner_states(partner: Partner, shown: int, found: list[str]) -> None:
    said = [str(f) for f in feed_findings(partner, shown, shown, 1_000_000)]

    assert said == [f"partners/{partner}/rss.xml: {partner}: {line}" for line in found]


@pytest.mark.parametrize(
    ("changes", "found"),
    [
        ({}, []),
        (
            {"description": "News from the harbour, every day of the year"},
            [
                "partners/smartnews/rss.xml: smartnews: description: 44 characters (site.yaml), "
                "expected at most 30 (SmartNews)"
            ],
        ),
        (
            {"feeds_url": "http://news.example/feeds/"},
            [
                "partners/msn/rss.xml: msn: feeds_url: http://news.example/feeds/ (site.yaml), "
                "expected an https:// address (MSN reads HTTPS feeds only)"
            ],
        ),
        (
            {"language": "fr-FR"},
            [
                "partners/newsbreak/rss.xml: newsbreak: language: fr-FR (site.yaml), "
                "expected English (NewsBreak fails the rest)"
            ],
        ),
        ({"language": "en-GB"}, []),
    ],
)
def test_what_site_yaml_gives_a_feed_is_judged_by_its_partner(
    changes: dict[str, str], found: list[str]
) -> None:
    site = make_site(**{"description": "News from the harbour", **changes})

    said = [str(f) for p in Partner for f in site_rule_findings(p, site)]

    assert said == found
