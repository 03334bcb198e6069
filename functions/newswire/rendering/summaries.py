"""Plain-text summaries: the first paragraph with text of a Markdown or HTML body."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from functools import cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from newswire.domain.text import clean_plain_text
from newswire.rendering.sanitize import DROPPED_WITH_CONTENT, sanitizer

if TYPE_CHECKING:  # imported when first needed: only bodies with no top-level paragraph do
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

#: A block cmark wrote: a paragraph, or a container whose lines hold nested paragraphs.
_SOURCEPOS_BLOCK = re.compile(
    r'<(p|blockquote|ul|ol)\b[^>]*? data-sourcepos="(\d+):\d+-(\d+):\d+"[^>]*>'
)
#: In cmark's output of a body with no raw HTML: a paragraph opened, or a run of containers
#: opened or closed (with the items between them), one step however deeply they nest.
_CMARK_BLOCK = re.compile(
    r"<p>|(?P<opened>(?:<(?:blockquote|ul|ol)\b[^>]*>\s*(?:<li>\s*)?)+)"
    r"|(?P<closed>(?:</(?:blockquote|ul|ol)>\s*(?:</li>\s*)?)+)"
)
#: Markup inside a paragraph: comments, CDATA, then any tag (quoted attributes may hold ">").
_MARKUP = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.S)


def cmark_summary_text(body: str, rendered: str, markup_free: bool) -> str:
    """The plain text of the body's first paragraph with text, top-level paragraphs first.

    Read from cmark's output (``rendered``: with positions unless ``markup_free``): the first
    top-level paragraph (one outside every list and quote) with text is the answer for nearly
    every article, without parsing the Markdown again (measured: benchmarks/RESULTS.md,
    "Measured choices"). A body with none (only lists, quotes, headings…) is parsed again to
    look inside its containers.
    """
    for start in _top_level_paragraphs(rendered, markup_free):
        end = rendered.find("</p>\n", start)
        text = html.unescape(_MARKUP.sub("", rendered[start:end]))
        if text.strip():
            return text
    return _bounded_markdown_first_paragraph(body)


def _top_level_paragraphs(rendered: str, markup_free: bool) -> Iterator[int]:
    """Where the text of each top-level paragraph cmark wrote starts, in order.

    Without raw HTML every tag is cmark's, so nesting is counted from its container tags;
    otherwise a writer's ``<p>`` or ``<ul>`` could be unbalanced, and the source lines cmark
    gave each block decide (a paragraph within a container's lines is inside it).
    """
    if markup_free:
        depth = 0
        for block in _CMARK_BLOCK.finditer(rendered):
            if opened := block["opened"]:
                depth += opened.count("<") - opened.count("<li>")
            elif closed := block["closed"]:
                depth -= closed.count("<") - closed.count("</li>")
            elif depth == 0:
                yield block.end()
        return
    containers_end = 0
    for block in _SOURCEPOS_BLOCK.finditer(rendered):
        tag, first_line, last_line = block[1], int(block[2]), int(block[3])
        if tag != "p":
            containers_end = max(containers_end, last_line)
        elif first_line > containers_end:
            yield block.end()


@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # The "commonmark" preset has typographer off: quotes and dashes stay as written.
    return MarkdownIt("commonmark")


@cache
def _markdown_blocks() -> MarkdownIt:
    """A CommonMark parser that finds blocks but leaves their inline content unparsed.

    Block parsing costs far less than a full render and still collects link reference
    definitions, so the first paragraph can be rendered alone and correctly.
    """
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark")
    parser.core.ruler.disable("inline")
    return parser


def _markdown_first_paragraph(body: str) -> str:
    """The plain text of the first paragraph with text, top-level paragraphs first."""
    return _prefix_first_paragraph(body, body) or ""


#: How much of a Markdown body with no top-level paragraph is parsed to find one in a list or
#: quote: a little first, then more, and no more than the last (markdown-it's block parser
#: takes seconds for a megabyte of list items).
_FALLBACK_PREFIXES = (16_384, 65_536)
#: A line-leading link reference definition (the line, its label), with the next line unless
#: it starts another (it may hold the title), not consumed: each definition is its own match.
_REFERENCE_DEFINITION = re.compile(
    r"^( {0,3}\[((?:[^\\\[\]\n]|\\[^\n])*)\]:[^\n]*)(?=(\n(?! {0,3}\[)[^\n]*)?)", re.M
)
#: A bracketed text with no bracket inside: the only kind that can be a reference's label.
_BRACKETED = re.compile(r"\[((?:[^\\\[\]]|\\.)*)\]", re.S)
#: Joins labels to fold them in one call (a cleaned body holds no NUL).
_LABEL_SEPARATOR = "\x00"


def _label_keys(labels: Sequence[str]) -> list[str]:
    """Each label without white space, case-folded as markdown-it folds labels.

    Labels that markdown-it takes for the same have the same key (it only collapses white
    space), so a key finds every definition a label may resolve to. Folded together: one
    call for all, as a body may define a hundred thousand.
    """
    keys = "".join(_LABEL_SEPARATOR.join(labels).split()).lower().upper().split(_LABEL_SEPARATOR)
    if len(keys) != len(labels):  # no label, or one holding the separator
        keys = ["".join(label.split()).lower().upper() for label in labels]
    return keys


def _bounded_markdown_first_paragraph(body: str) -> str:
    """The plain text of the first paragraph with text inside a list or quote, parsing no
    more than a bounded prefix of ``body``.

    For a body whose top-level paragraphs cmark found without text: they are skipped, so a
    long one cannot hide the lists. A paragraph that ends before the prefix does is the same
    in the whole body (CommonMark closes blocks line by line), so the prefix decides unless it
    ends inside the paragraph sought; link references defined after it are gathered line by
    line, only those with a label the paragraph may use. A body with no such paragraph text
    in the largest prefix has an empty summary.
    """
    for size in _FALLBACK_PREFIXES:
        cut = body.find("\n", size) + 1
        if not cut:
            cut = len(body)  # the prefix is the whole body
        found = _prefix_first_paragraph(body[:cut], body, nested_only=True)
        if found is not None or cut == len(body):
            return found or ""
    return ""


def _prefix_first_paragraph(prefix: str, body: str, *, nested_only: bool = False) -> str | None:
    """The first paragraph with text in ``prefix`` (whole lines of ``body``), top-level
    paragraphs first (or only those in lists and quotes, with ``nested_only``); ``None`` if
    the prefix cannot tell: it ends inside a paragraph reached first, or it is not the whole
    body and has none with text.
    """
    whole = len(prefix) == len(body)
    lines = prefix.count("\n")
    env: dict[str, Any] = {}
    tokens = _markdown_blocks().parse(prefix, env)
    paragraphs = [
        (opening.level, opening.map, tokens[i + 1].content)
        for i, opening in enumerate(tokens)
        if opening.type == "paragraph_open" and (opening.level > 0 or not nested_only)
    ]
    later = None if whole else _LaterDefinitions(body, len(prefix))
    # A stable sort: top-level paragraphs in order, then those inside lists and quotes.
    for _, lines_map, source in sorted(paragraphs, key=lambda p: p[0] > 0):
        if later is not None and (lines_map is None or lines_map[1] >= lines):
            return None  # the paragraph may go on after the prefix
        if later is not None and "[" in source:
            later.define(source, env)
        inline = _markdown().parseInline(source, env)
        text = _inline_plain_text(inline[0].children or [])
        if text.strip():
            return text
    return "" if whole else None


class _LaterDefinitions:
    """The link reference definitions of a body after a prefix, found when first needed."""

    def __init__(self, body: str, start: int) -> None:
        self._body = body
        self._start = start
        self._by_key: dict[str, list[int]] | None = None
        self._labels: list[str] = []
        self._pieces: list[str] = []
        self._defined: set[str] = set()

    def define(self, source: str, env: dict[str, Any]) -> None:
        """Add to ``env`` the first later definition of each label ``source`` may use.

        Only those: markdown-it's block parser takes seconds for a megabyte of definitions,
        and it keeps a label's first definition.
        """
        from markdown_it.common.utils import normalizeReference

        if self._by_key is None:
            found = _REFERENCE_DEFINITION.findall(self._body, self._start)
            self._labels = [label for _, label, _ in found]
            self._pieces = [line + title for line, _, title in found]
            self._by_key = {}
            for i, key in enumerate(_label_keys(self._labels)):
                self._by_key.setdefault(key, []).append(i)
        labels = _BRACKETED.findall(source)
        wanted = {
            label: key
            for label, key in zip(map(normalizeReference, labels), _label_keys(labels), strict=True)
            if label not in self._defined
        }
        self._defined |= wanted.keys()
        first: dict[str, int] = {}
        for key in set(wanted.values()):
            for i in self._by_key.get(key, ()):
                label = normalizeReference(self._labels[i])
                if label in wanted:
                    first.setdefault(label, i)
        if first:  # in the body's order
            pieces = [self._pieces[i] for i in sorted(first.values())]
            _markdown_blocks().parse("\n\n".join(pieces), env)


def _inline_plain_text(children: Sequence[Token]) -> str:
    """Text of inline tokens: words and code kept; markup, raw HTML and images dropped."""
    parts = []
    for child in children:
        if child.type in {"text", "text_special", "code_inline"}:
            parts.append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            parts.append(" ")
    return "".join(parts)


#: Tags whose start or end separates words: "<li>a</li><li>b</li>" reads "a b", not "ab".
_WORD_BREAKING_TAGS = frozenset(
    {
        "br", "hr", "div", "li", "dt", "dd", "td", "th", "tr", "blockquote", "figcaption",
        "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "pre", "section",
        "article", "header", "footer", "aside", "figure", "caption", "img",
    }
)  # fmt: skip

#: How much HTML is parsed before looking for a finished paragraph.
_HTML_CHUNK = 1024


class _FirstParagraphParser(HTMLParser):
    """Finds the text of the first ``<p>`` that has any; keeps all text as a fallback."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = ""
        self.all_text: list[str] = []
        self._paragraph: list[str] | None = None
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED_WITH_CONTENT:
            self._skip_depth += 1
        elif tag == "p":
            self._end_paragraph()  # an unclosed <p> ends where the next begins
            self._paragraph = []
        elif tag in _WORD_BREAKING_TAGS:
            self._add_text(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _WORD_BREAKING_TAGS:
            self._add_text(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED_WITH_CONTENT:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "p":
            self._end_paragraph()
        elif tag in _WORD_BREAKING_TAGS:
            self._add_text(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self._add_text(data)

    def close(self) -> None:
        super().close()
        self._end_paragraph()

    def _add_text(self, text: str) -> None:
        self.all_text.append(text)
        if self._paragraph is not None:
            self._paragraph.append(text)

    def _end_paragraph(self) -> None:
        if self._paragraph is not None and not self.found:
            self.found = "".join(self._paragraph).strip()
        self._paragraph = None


def html_first_paragraph(body: str, max_chars: int) -> str:
    """The text of the first ``<p>`` with text, or of the whole body if it has none.

    The body is parsed in chunks and parsing stops at the first paragraph with text, so a
    long article costs no more than its opening. A body with no ``<p>`` tag at all stops
    once its text passes ``max_chars`` (the summary cut from it is then the whole text's),
    unless a marked section could make html.parser give up further on.
    """
    enough = None if _PARAGRAPH_OR_MARKED_SECTION.search(body) else max_chars
    try:
        return _first_paragraph_text(body, enough)
    except AssertionError:
        # html.parser gives up on some malformed declarations ("<![x"); the sanitiser's
        # output is well-formed HTML it always reads.
        return _first_paragraph_text(sanitizer().clean(body), None)


#: A ``<p>`` start tag as html.parser reads its name, or a marked section (``<![``), which
#: may make it give up.
_PARAGRAPH_OR_MARKED_SECTION = re.compile(r"<[pP](?:[\t\n\r\f />\x00]|\Z)|<!\[")


def _first_paragraph_text(body: str, enough: int | None) -> str:
    """The text of the first ``<p>`` with text, or else of the whole body; with ``enough``,
    the body has no ``<p>`` and the text is cut once it passes that many characters.
    """
    parser = _FirstParagraphParser()
    visible = counted = 0  # characters other than white space, in all_text[:counted]
    for start in range(0, len(body), _HTML_CHUNK):
        parser.feed(body[start : start + _HTML_CHUNK])
        if parser.found:
            return parser.found
        if enough is not None:
            visible += len("".join("".join(parser.all_text[counted:]).split()))
            counted = len(parser.all_text)
            if visible > enough:
                text = "".join(parser.all_text)
                if len(clean_plain_text(text)) > enough:
                    return text
                enough = None  # characters XML forbids made up the count: read it all
    parser.close()
    return parser.found or "".join(parser.all_text)


def truncate(text: str, max_chars: int) -> str:
    """Cut ``text`` to at most ``max_chars`` on a word boundary, marking the cut with "…"."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]  # room for the ellipsis
    if text[max_chars - 1] != " " and " " in cut:  # the cut would split a word
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"
