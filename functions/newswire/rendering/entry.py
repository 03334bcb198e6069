"""An article as every feed shows it: one :class:`~newswire.domain.model.Entry`.

Each article is rendered once, here, and the entry is shared by the RSS, Atom and JSON feeds
of every tag and author it belongs to, so all of them show the same text, dates and URLs.
"""

from __future__ import annotations

from newswire.domain.model import Article, Entry, Image, Person, Tag
from newswire.domain.text import clean_plain_text, clean_xml_text
from newswire.rendering.html import absolute_url, render_body
from newswire.rendering.sitemap import SitemapUrl


def render_entry(article: Article) -> Entry:
    """Render ``article`` into the entry its feeds show.

    The article was validated when it was parsed (authors defaulted to the site's); this
    only renders and makes every text XML-safe.

    Args:
        article: a parsed article: it carries its canonical URL and authors already, so
            the site configuration is not needed.

    Returns:
        The entry: sanitised HTML content with absolute URLs, a plain-text summary, a clean
        title, names and tags.
    """
    body = render_body(article)
    return _entry(article, body.summary, body.html)


def entry_head(article: Article) -> Entry:
    """The entry of ``article`` without its content and summary, which only rendering the
    body gives: what the news sitemap reads, at a fraction of the cost.

    Args:
        article: a parsed article (its body is not read).
    """
    return _entry(article, "", "")


def _entry(article: Article, summary: str, content_html: str) -> Entry:
    image = article.image
    return Entry(
        slug=article.slug,
        id=clean_xml_text(article.id),
        id_is_permalink=article.id == article.canonical_url,
        url=clean_xml_text(article.canonical_url),
        title=clean_plain_text(article.title),
        summary=summary,
        content_html=content_html,
        published=article.published,
        updated=article.shown_updated,
        authors=tuple(_clean_person(author) for author in article.authors),
        tags=tuple(Tag(name=clean_plain_text(tag.name), slug=tag.slug) for tag in article.tags),
        section=None if article.section is None else clean_plain_text(article.section),
        image=None if image is None else _absolute_image(image, article.canonical_url),
        expires=article.expires,
    )


def _clean_person(person: Person) -> Person:
    return Person(
        name=clean_plain_text(person.name),
        email=None if person.email is None else clean_xml_text(person.email),
        url=None if person.url is None else clean_xml_text(person.url),
    )


def _absolute_image(image: Image, base_url: str) -> Image:
    """The lead image with its URL absolute: enclosures and Media RSS require one."""
    return Image(
        url=absolute_url(clean_xml_text(image.url), base_url),
        alt=clean_plain_text(image.alt),
        media_type=image.media_type,
        length=image.length,
        width=image.width,
        height=image.height,
        credit=None if image.credit is None else clean_plain_text(image.credit),
        caption=None if image.caption is None else clean_plain_text(image.caption),
    )


def sitemap_url_of(article: Article) -> SitemapUrl:
    """The URL and ``updated`` time the entry of ``article`` has (:func:`render_entry`), for
    the sitemaps, at a fraction of :func:`entry_head`'s cost."""
    return SitemapUrl(clean_xml_text(article.canonical_url), article.shown_updated)
