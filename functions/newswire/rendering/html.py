"""Article bodies to safe HTML with absolute URLs, and plain-text summaries.

Feeds are read far from the site: a reader cannot resolve ``../photo.jpg`` and must not run a
writer's (or an attacker's) script. So every body is sanitised with an allow-list (nh3), every
URL in it is made absolute against the article's canonical URL, and every character XML 1.0
forbids is removed, since one such character makes a whole RSS or Atom document unreadable.
Markdown is rendered by cmark once for both the body and the summary; when it holds no raw
HTML at all, cmark's own tags are rewritten exactly as the sanitiser would rewrite them (its
HTML parser is half the cost of an entry), and a property test holds the two to the same bytes.

This module joins the steps: the sanitiser and its cmark fast path are in
:mod:`~newswire.rendering.sanitize`, the nesting limit in :mod:`~newswire.rendering.nesting`,
the first paragraph a summary is taken from in :mod:`~newswire.rendering.summaries`. All of it
is pure: no I/O, no clock, the same article always gives the same output.
"""

from __future__ import annotations

import ctypes
import html
from collections.abc import Iterable
from typing import Final, NamedTuple

from cmarkgfm import _cmark  # type: ignore[import-untyped]
from cmarkgfm.cmark import Options as _CmarkOptions  # type: ignore[import-untyped]

from newswire.domain.model import Article, BodyFormat, Correction, Source
from newswire.domain.text import clean_plain_text, clean_utf8, clean_xml_text
from newswire.errors import InvalidArticleError
from newswire.rendering.nesting import MAX_NESTING, cmark_tree_depth, nests_deeper_than
from newswire.rendering.sanitize import (
    BASE_URL,
    absolute_url,
    sanitize_cmark_output,
    sanitizer,
    url_scheme,
)
from newswire.rendering.summaries import cmark_summary_text, html_first_paragraph, truncate

__all__ = [
    "MAX_NESTING",
    "RenderedBody",
    "absolute_url",
    "nests_deeper_than",
    "render_body",
    "render_body_html",
    "summarize",
]


class RenderedBody(NamedTuple):
    """An article's body as feeds show it: sanitised HTML, and the plain-text summary."""

    html: str
    summary: str


def render_body(article: Article, max_summary_chars: int = 300) -> RenderedBody:
    """Render the article's body and its summary, parsing the Markdown once for both.

    See :func:`render_body_html` and :func:`summarize`; this is what entries use, since a
    build renders thousands of bodies and the Markdown parse is the costly part of both.
    """
    # Cleaned first: nh3 cannot even receive a lone surrogate, and CommonMark would turn a
    # NUL into U+FFFD instead of removing it. A clean body (nearly every one) is encoded once,
    # for both the check and cmark.
    encoded = clean_utf8(article.body)
    body = article.body if encoded is not None else clean_xml_text(article.body)
    markdown = article.body_format is BodyFormat.MARKDOWN
    markup_free = markdown and "<" not in body
    rendered = _cmark_html(body, sourcepos=not markup_free, encoded=encoded) if markdown else body
    content = _finish_html(rendered, body, article, markup_free=markup_free)
    summary = _explicit_summary(article)
    if not summary:
        if markdown:
            text = cmark_summary_text(body, rendered, markup_free)
        else:
            text = html_first_paragraph(body, max_summary_chars)
        summary = truncate(clean_plain_text(text), max_summary_chars)
    return RenderedBody(content, summary)


def render_body_html(article: Article) -> str:
    """Render the article's body to sanitised HTML with absolute URLs.

    Markdown is CommonMark (raw HTML allowed, then sanitised like an HTML body); typographic
    quotes stay exactly as written. When the article names sources, an attribution paragraph
    ends the content.

    Args:
        article: the article; its ``canonical_url`` is the base for relative URLs.

    Returns:
        An HTML fragment safe to embed in any feed: allow-listed tags and attributes only,
        http/https/mailto URLs only, no XML-illegal character.
    """
    return render_body(article).html


def _finish_html(rendered: str, source: str, article: Article, *, markup_free: bool = False) -> str:
    """Sanitise a rendered body against the article's URL and add its sources paragraph.

    ``source`` is the body as written (cleaned of XML-illegal characters). ``markup_free``:
    ``rendered`` is cmark's rendering of Markdown with no ``<`` at all, so every tag in it is
    one cmark wrote; see :func:`sanitize_cmark_output`.
    """
    # Fewer tags than the limit cannot nest past it: most bodies, checked by one count in C.
    few_tags = rendered.count("<") <= MAX_NESTING
    tree_depth = cmark_tree_depth(rendered) if markup_free and not few_tags else None
    if (
        not few_tags
        and (tree_depth is None or tree_depth > MAX_NESTING)
        and nests_deeper_than(rendered, MAX_NESTING)
    ):
        raise InvalidArticleError(
            article.key,
            "body",
            f"nests elements more than {MAX_NESTING} deep",
            f"HTML (or Markdown quotes and lists) nested at most {MAX_NESTING} levels deep",
        )
    token = BASE_URL.set(article.canonical_url)
    try:
        if markup_free:
            content = sanitize_cmark_output(rendered, source)
        else:
            content = sanitizer().clean(rendered)
    finally:
        BASE_URL.reset(token)
    # The source was cleaned, but numeric character references ("&#1;") are decoded by cmark
    # and by the sanitiser, so clean again if it has any. (Looking for "#" alone first is
    # faster: one character is found with memchr, two are searched for character by character.)
    if "#" in source and "&#" in source:
        content = clean_xml_text(content)
    content = content.strip()
    if article.sources:
        content = f"{content}\n{_sources_paragraph(article.sources)}".lstrip()
    if article.corrections:
        content = f"{content}\n{correction_notices(article.corrections)}".lstrip()
    return content


def summarize(article: Article, max_chars: int = 300) -> str:
    """Give the article's summary as plain text.

    The writer's ``summary`` wins. Otherwise it is the first paragraph of the body (headings,
    image-only paragraphs and raw HTML blocks skipped; top-level paragraphs before those in
    lists and quotes), without markup, cut on a word boundary.

    Args:
        article: the article.
        max_chars: the longest summary taken from the body, "…" included. The writer's own
            summary is kept whole.

    Returns:
        The summary, whitespace collapsed; ``""`` when there is neither summary nor text.

    Raises:
        ValueError: if ``max_chars`` is less than 1.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    return render_body(article, max_chars).summary


def _explicit_summary(article: Article) -> str:
    return clean_plain_text(article.summary) if article.summary else ""


_CMARK_OPTIONS: Final = _CmarkOptions.CMARK_OPT_UNSAFE
_CMARK_SOURCEPOS_OPTIONS: Final = _CMARK_OPTIONS | _CmarkOptions.CMARK_OPT_SOURCEPOS
#: The C library's ``free``, which cmark allocates its output with (its default allocator).
_free = ctypes.CDLL(None).free
_free.argtypes = [ctypes.c_void_p]
_free.restype = None


def _cmark_html(body: str, *, sourcepos: bool = False, encoded: bytes | None = None) -> str:
    """Render CommonMark to (unsanitised) HTML with cmark, the reference implementation in C.

    Much faster than markdown-it-py (``benchmarks/RESULTS.md``, "Measured choices") and
    byte-identical to its "commonmark" preset on our corpus: raw HTML passes through (the
    sanitiser decides), no typographer ("smart" off), so quotes and dashes stay exactly as
    written. With ``sourcepos``, every block cmark writes
    carries ``data-sourcepos``: that tells cmark's own paragraphs and containers from raw HTML
    a writer typed (which carries none), so the summary can be found in this output instead of
    parsing the Markdown a second time; the sanitiser removes them. A body with no raw HTML
    needs no positions (every tag is cmark's), and is rendered without. ``encoded``: the body
    in UTF-8, if the caller has it.
    """
    if encoded is None:
        encoded = body.encode("utf-8")
    options = _CMARK_SOURCEPOS_OPTIONS if sourcepos else _CMARK_OPTIONS
    html_buffer = _cmark.lib.cmark_markdown_to_html(encoded, len(encoded), options)
    try:
        output: bytes = _cmark.ffi.string(html_buffer)
    finally:
        # cmark leaves freeing the buffer to its caller, and cmarkgfm's own wrapper never
        # does: a build's memory, and a warm Lambda container's, would grow with every article.
        _free(int(_cmark.ffi.cast("uintptr_t", html_buffer)))
    try:
        return output.decode("utf-8")
    except UnicodeDecodeError:
        # cmark writes U+FFFE and U+FFFF (from "&#xFFFF;" and the like) as the lone bytes FE
        # and FF, which no UTF-8 text holds (utf8proc's legacy). XML forbids both characters:
        # they are dropped, as clean_xml_text drops them from every other text.
        return output.replace(b"\xfe", b"").replace(b"\xff", b"").decode("utf-8")


def _sources_paragraph(sources: Iterable[Source]) -> str:
    """``<p>Sources: <a href="https://www.rt.com/">RT</a>, BBC</p>``, every part escaped."""
    parts = []
    for source in sources:
        name = html.escape(clean_plain_text(source.name))
        url = clean_xml_text(source.url or "").strip()
        if url_scheme(url) in {"http", "https"}:
            parts.append(f'<a href="{html.escape(url)}">{name}</a>')
        else:
            parts.append(name)
    return f"<p>Sources: {', '.join(parts)}</p>"


_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def correction_notices(corrections: Iterable[Correction]) -> str:
    """One ``<p><strong>Correction (2 June 2026):</strong> …</p>`` per correction, oldest
    first (as written, for one date), dated by the day in the site's time zone; every part
    escaped: a correction is plain text."""
    notices = []
    for correction in sorted(corrections, key=lambda c: c.date):
        day = correction.day
        text = html.escape(correction.text, quote=False)
        notices.append(
            f"<p><strong>Correction ({day.day} {_MONTHS[day.month - 1]} {day.year}):</strong>"
            f" {text}</p>"
        )
    return "\n".join(notices)
