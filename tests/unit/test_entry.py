"""An article becomes the entry every feed shows."""

from __future__ import annotations

import re
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.domain.model import BodyFormat, Image, Person, Source, Tag
from newswire.rendering.entry import render_entry
from tests.support.factories import ARTICLE_PUBLISHED, ARTICLE_URL, make_article
from tests.support.feedcheck import is_xml_char


def test_entry_shows_the_rendered_article() -> None:
    article = make_article(
        title="Talks  resume\n in Geneva",
        authors=(Person("Anna Petrova", "anna@example.com"),),
        tags=(Tag("Russia", "russia"),),
        section="World",
    )

    entry = render_entry(article)

    assert entry.slug == "slug"
    assert entry.url == ARTICLE_URL
    assert entry.id == ARTICLE_URL
    assert entry.title == "Talks resume in Geneva"
    assert entry.summary == "Body text."
    assert entry.content_html == "<p>Body <em>text</em>.</p>"
    assert entry.published == ARTICLE_PUBLISHED
    assert entry.authors == (Person("Anna Petrova", "anna@example.com"),)
    assert entry.tags == (Tag("Russia", "russia"),)
    assert entry.section == "World"
    assert entry.image is None


def test_default_id_is_a_permalink() -> None:
    assert render_entry(make_article()).id_is_permalink


def test_custom_id_is_not_a_permalink() -> None:
    urn = "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427"

    entry = render_entry(make_article(id=urn))

    assert entry.id == urn
    assert not entry.id_is_permalink
    assert entry.url == ARTICLE_URL


def test_updated_defaults_to_published() -> None:
    assert render_entry(make_article(updated=None)).updated == ARTICLE_PUBLISHED


def test_later_updated_is_kept() -> None:
    later = ARTICLE_PUBLISHED + timedelta(days=2)

    assert render_entry(make_article(updated=later)).updated == later


def test_updated_before_published_is_clamped_to_published() -> None:
    earlier = ARTICLE_PUBLISHED - timedelta(days=1)

    assert render_entry(make_article(updated=earlier)).updated == ARTICLE_PUBLISHED


def test_explicit_summary_is_used() -> None:
    entry = render_entry(make_article(summary="What happened,\n in short."))

    assert entry.summary == "What happened, in short."


def test_image_url_is_made_absolute_and_alt_cleaned() -> None:
    image = Image("../../img/lead.jpg", alt="Lead\x00  photo", media_type="image/jpeg", length=9)

    entry = render_entry(make_article(image=image))

    assert entry.image == Image(
        "https://news.example.com/img/lead.jpg", alt="Lead photo", media_type="image/jpeg", length=9
    )


def test_protocol_relative_image_url_gets_https() -> None:
    entry = render_entry(make_article(image=Image("//cdn.example.net/a.jpg")))

    assert entry.image is not None
    assert entry.image.url == "https://cdn.example.net/a.jpg"


def test_illegal_characters_are_removed_from_every_text() -> None:
    bad = "\x00\x0b\x1f\ufffe\ud800"
    article = make_article(
        title=f"Ti{bad}tle",
        body=f"Bo{bad}dy",
        authors=(Person(f"An{bad}na"),),
        tags=(Tag(f"Rus{bad}sia", "russia"),),
        section=f"Wo{bad}rld",
    )

    entry = render_entry(article)

    assert entry.title == "Title"
    assert entry.summary == "Body"
    assert entry.content_html == "<p>Body</p>"
    assert entry.authors == (Person("Anna"),)
    assert entry.tags == (Tag("Russia", "russia"),)
    assert entry.section == "World"


# A hostile writer: any Unicode (controls and lone surrogates included), mixed with fragments
# that steer the Markdown and HTML parsers into their corners.
_ANY_CHAR = st.characters(exclude_categories=())
_FRAGMENTS = st.sampled_from(
    [
        "<script>", "</script>", "<SCRIPT src=x>", "<scr", "ipt>", "<p>", "</p>", "<",
        "<!--", "-->", "<![CDATA[", "]]>", "<!", "<?", "&#0;", "&#1;", "&#xD800;", "&amp",
        "javascript:", '<a href="', '">', "<img src=x onerror=alert(1)>", "<iframe>",
        "<style>", "[x](", ")", "![", "\n\n", "\n", "    ", "> ", "- ", "# ", "```", "`",
        "*", "_", "\\",
    ]
)  # fmt: skip
_HOSTILE_TEXT = st.lists(st.one_of(st.text(_ANY_CHAR, max_size=20), _FRAGMENTS), max_size=30).map(
    "".join
)
_SCRIPT_TAG = re.compile(r"<\s*script", re.IGNORECASE)


@settings(deadline=None)
@given(
    title=st.text(_ANY_CHAR),
    body=_HOSTILE_TEXT,
    body_format=st.sampled_from(BodyFormat),
    source_name=st.text(_ANY_CHAR, max_size=10),
    source_url=st.one_of(st.none(), st.text(_ANY_CHAR, max_size=10), _HOSTILE_TEXT),
)
def test_any_text_renders_to_an_xml_safe_entry_without_scripts(
    title: str, body: str, body_format: BodyFormat, source_name: str, source_url: str | None
) -> None:
    article = make_article(
        title=title,
        body=body,
        body_format=body_format,
        sources=(Source(source_name, source_url),),
    )

    entry = render_entry(article)

    for text in (entry.title, entry.summary, entry.content_html):
        assert all(is_xml_char(c) for c in text)
    assert not _SCRIPT_TAG.search(entry.content_html)
    assert len(entry.summary) <= 300
