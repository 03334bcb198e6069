"""Article bodies to safe HTML with absolute URLs, and plain-text summaries.

Feeds are read far from the site: a reader cannot resolve ``../photo.jpg`` and must not run a
writer's (or an attacker's) script. So every body is sanitised with an allow-list (nh3), every
URL in it is made absolute against the article's canonical URL, and every character XML 1.0
forbids is removed, since one such character makes a whole RSS or Atom document unreadable.
Markdown is rendered by cmark once for both the body and the summary; when it holds no raw
HTML at all, cmark's own tags are rewritten exactly as the sanitiser would rewrite them (its
HTML parser is half the cost of an entry), and a property test holds the two to the same bytes.

Everything here is pure: no I/O, no clock, the same article always gives the same output.
"""

from __future__ import annotations

import ctypes
import html
import re
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from functools import cache
from html.parser import HTMLParser
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Final, NamedTuple
from urllib.parse import urljoin, urlsplit

import nh3
from cmarkgfm import _cmark  # type: ignore[import-untyped]
from cmarkgfm.cmark import Options as _CmarkOptions  # type: ignore[import-untyped]

from newswire.domain.model import Article, BodyFormat, Source
from newswire.domain.text import clean_plain_text, clean_utf8, clean_xml_text
from newswire.errors import InvalidArticleError

if TYPE_CHECKING:  # imported when first needed: only bodies with no top-level paragraph do
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

_ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "a", "em", "strong", "b", "i", "u", "s", "sub", "sup", "small",
        "mark", "q", "cite", "abbr", "blockquote", "ul", "ol", "li", "dl", "dt", "dd",
        "h1", "h2", "h3", "h4", "h5", "h6", "pre", "code", "kbd", "samp", "figure",
        "figcaption", "img", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
        "span", "div", "time", "del", "ins",
    }
)  # fmt: skip

_ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "blockquote": frozenset({"cite"}),
    "q": frozenset({"cite"}),
    "del": frozenset({"cite", "datetime"}),
    "ins": frozenset({"cite", "datetime"}),
    "time": frozenset({"datetime"}),
    "abbr": frozenset({"title"}),
    "ol": frozenset({"start"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
}

#: Tags dropped together with their content: their text is code or a fallback, never prose.
_DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math", "title"}
)

_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})

#: The canonical URL of the article being sanitised, read by the sanitiser's attribute filter.
#: A context variable lets one sanitiser, built once, serve every article (and every thread).
_BASE_URL: ContextVar[str] = ContextVar("newswire_html_base_url", default="")


def absolute_url(url: str, base: str) -> str:
    """Resolve ``url`` against ``base``; protocol-relative ``//host/x`` becomes https.

    Feed readers have no page to resolve a relative URL against, and https is the safe guess
    for a scheme the writer left out. A URL too malformed to join is returned unchanged.
    """
    url = url.strip()
    if url.startswith("//"):
        return "https:" + url
    try:
        return urljoin(base, url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: "http://[::1"
        return url


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
            text = _cmark_summary_text(body, rendered, markup_free)
        else:
            text = _html_first_paragraph(body, max_summary_chars)
        summary = _truncate(clean_plain_text(text), max_summary_chars)
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
    one cmark wrote; see :func:`_sanitize_cmark_output`.
    """
    # Fewer tags than the limit cannot nest past it: most bodies, checked by one count in C.
    few_tags = rendered.count("<") <= MAX_NESTING
    tree_depth = _cmark_tree_depth(rendered) if markup_free and not few_tags else None
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
    token = _BASE_URL.set(article.canonical_url)
    try:
        if markup_free:
            content = _sanitize_cmark_output(rendered, source)
        else:
            content = _sanitizer().clean(rendered)
    finally:
        _BASE_URL.reset(token)
    # The source was cleaned, but numeric character references ("&#1;") are decoded by cmark
    # and by the sanitiser, so clean again if it has any. (Looking for "#" alone first is
    # faster: one character is found with memchr, two are searched for character by character.)
    if "#" in source and "&#" in source:
        content = clean_xml_text(content)
    content = content.strip()
    if article.sources:
        content = f"{content}\n{_sources_paragraph(article.sources)}".lstrip()
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

    ~20 times faster than markdown-it-py and byte-identical to its "commonmark" preset on our
    corpus: raw HTML passes through (the sanitiser decides), no typographer ("smart" off), so
    quotes and dashes stay exactly as written. With ``sourcepos``, every block cmark writes
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
        # does: ~10 KB lost per article, 100 MB per 10,000-article build, and a warm Lambda
        # container's memory growing with every publish.
        _free(int(_cmark.ffi.cast("uintptr_t", html_buffer)))
    try:
        return output.decode("utf-8")
    except UnicodeDecodeError:
        # cmark writes U+FFFE and U+FFFF (from "&#xFFFF;" and the like) as the lone bytes FE
        # and FF, which no UTF-8 text holds (utf8proc's legacy). XML forbids both characters:
        # they are dropped, as clean_xml_text drops them from every other text.
        return output.replace(b"\xfe", b"").replace(b"\xff", b"").decode("utf-8")


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


def _cmark_summary_text(body: str, rendered: str, markup_free: bool) -> str:
    """The plain text of the body's first paragraph with text, top-level paragraphs first.

    Read from cmark's output (``rendered``: with positions unless ``markup_free``): the first
    top-level paragraph (one outside every list and quote) with text is the answer for nearly
    every article. A body with none (only lists, quotes, headings…) is parsed again to look
    inside its containers.
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

    Block parsing is ~30 times cheaper than a full render and still collects link reference
    definitions, so the first paragraph can be rendered alone and correctly.
    """
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark")
    parser.core.ruler.disable("inline")
    return parser


#: The deepest nesting of elements a rendered body may have (as :func:`nests_deeper_than`
#: counts it). The sanitiser's HTML parser (html5ever) looks through the open elements for each tag
#: it opens, so its time grows with depth times tags (1 MB of nested ``<div>`` took half a
#: minute), and Markdown nested deeply is slow to search for a summary. Browsers stop nesting
#: at 512 (Blink's parser); no article needs half of it.
MAX_NESTING = 256

#: A start or end tag (its name and attributes), or a comment (skipped: it may hold anything).
_TAG_OR_COMMENT = re.compile(r"<(/?)([A-Za-z][^\s/>]*)([^>]*)|<!--.*?(?:-->|\Z)", re.S)
#: The same, but an element with only text inside (``<em>x</em>``) is matched whole as a leaf,
#: and a tag followed by more of its kind (same name and slash, with only text between) is
#: matched with them as one run: deep nesting is long runs (a quote nested 254 deep renders
#: 254 ``<blockquote>`` in a row), and a run or a leaf costs one step instead of one per tag.
#: Each tag in a run after the first has no ``<`` in its attributes, so the run's ``<`` count
#: them.
_TAG_RUN_OR_COMMENT = re.compile(
    r"<(?P<leaf>[A-Za-z][^\s/>]*)(?![^\s/>])(?P<leaf_attributes>[^>]*)>[^<]*"
    r"</(?P=leaf)(?![^\s/>])[^>]*"
    r"|<(?P<slash>/?)(?P<name>[A-Za-z][^\s/>]*)(?P<attributes>[^>]*)"
    r"(?P<more>(?:[^<]*<(?P=slash)(?P=name)(?![^\s/>])[^<>]*(?=>|\Z))*)"
    r"|<!--.*?(?:-->|\Z)",
    re.S,
)


#: Elements that never deepen the tree the parser builds: void elements, and table and list
#: parts whose next sibling closes them. They close no formatting element either: outside
#: their table or list the parser ignores them, so counting them as nothing is never lenient.
_NOT_NESTING = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "tr", "td", "th", "thead", "tbody", "tfoot", "caption", "colgroup",
        "option", "optgroup", "rp", "rt",
    }
)  # fmt: skip
#: Elements whose start tag closes an open one of these kinds first (``<p>a<p>b`` and
#: ``<li>a<li>b`` are siblings, not nested), with the formatting elements inside it.
_CLOSES_SIBLING: Final = {"p": ("p",), "li": ("li",), "dt": ("dt", "dd"), "dd": ("dt", "dd")}
#: HTML's formatting elements: the parser keeps them in a list of its own, reopens them after
#: a block that closed them, and keeps blocks open across their misnested end tags.
_FORMATTING = frozenset(
    {
        "a",
        "b",
        "big",
        "code",
        "em",
        "font",
        "i",
        "nobr",
        "s",
        "small",
        "strike",
        "strong",
        "tt",
        "u",
    }
)
#: How many identical formatting elements the parser's list keeps (HTML's "Noah's Ark" rule).
_NOAHS_ARK = 3


def nests_deeper_than(markup: str, limit: int) -> bool:
    """Say whether the HTML parser would hold more than ``limit`` elements open at once in
    ``markup``, or more than ``limit`` formatting elements left unclosed.

    One pass over the tags, no tree built, following the parser's rules closely enough to be
    no more lenient: an end tag closes the elements above the innermost open one of its name
    (and nothing if none is open); a formatting element's end tag closes it only when it is
    the innermost element (otherwise the parser keeps what follows open); paragraph, item and
    cell tags, which close their open siblings, close the formatting elements within them, but
    those stay on the parser's list to be reopened, and are counted apart.
    """
    if markup.count("<") <= limit:  # too few tags to pass the limit: most bodies
        return False
    nesting = _Nesting()
    for run in _TAG_RUN_OR_COMMENT.finditer(markup):
        if (leaf := run["leaf"]) is not None:
            name = leaf.lower()
            if name in _CLOSES_SIBLING:
                nesting.close_open(_CLOSES_SIBLING[name])
            if name not in _NOT_NESTING and nesting.leaf(name, run["leaf_attributes"]) > limit:
                return True
            continue
        if run["name"] is None:
            continue
        name = run["name"].lower()
        count = 1 + run["more"].count("<")
        if name in _NOT_NESTING:
            continue
        if name in _CLOSES_SIBLING:  # tag by tag: each start closes the last, each end its own
            for _ in range(count):
                nesting.close_open((name,) if run["slash"] else _CLOSES_SIBLING[name])
                if not run["slash"] and nesting.start_many(name, 1) > limit:
                    return True
        elif name in _FORMATTING:  # each one's attributes count: tag by tag
            tags = [(run["slash"], run["attributes"])]
            if count > 1:
                tags = [(t[1], t[3]) for t in _TAG_OR_COMMENT.finditer(markup, *run.span())]
            for slash, attributes in tags:
                if slash:
                    nesting.end(name)
                elif nesting.start(name, attributes) > limit:
                    return True
        elif run["slash"]:
            nesting.end_many(name, count)
        elif nesting.start_many(name, count) > limit:
            return True
    return False


#: The tags cmark writes for a body with no raw HTML, and what each adds to the nesting.
_CMARK_TAG_STEPS: Final = {
    f"{slash}{name}": (0 if name in _NOT_NESTING or name in _CLOSES_SIBLING else -1 if slash else 1)
    for slash in ("", "/")
    for name in (
        "p", "blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
        "code", "em", "strong", "a", "img", "br", "hr",
    )
}  # fmt: skip
_TAG_NAME = re.compile(r"<(/?[A-Za-z][^\s/>]*)")


def _cmark_tree_depth(rendered: str) -> int | None:
    """How deep the elements of cmark's output of a body with no raw HTML nest, counted as
    :func:`nests_deeper_than` counts (``None`` if it holds a tag cmark does not write then).

    Such output is a tree, each element closed after its children, and there
    :func:`nests_deeper_than` counts no deeper than the tree (its rules for misnested and
    unclosed markup only close elements sooner): the depth summed over the tags in C spares
    the tag-by-tag walk to all but trees deeper than the limit.
    """
    names = _TAG_NAME.findall(rendered)
    if not _CMARK_TAG_STEPS.keys() >= set(names):
        return None
    return max(accumulate(map(_CMARK_TAG_STEPS.__getitem__, names)), default=0)


class _Nesting:
    """The open elements and unclosed formatting elements of :func:`nests_deeper_than`."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.open_names: dict[str, int] = {}
        self.formatting: dict[str, list[str]] = {}  # name -> attributes of each left unclosed
        self.copies: dict[tuple[str, str], int] = {}
        self.unclosed = 0
        self.siblings = 0  # paragraphs and items on the stack: they hold no depth of their own

    def _depth(self) -> int:
        return len(self.stack) - self.siblings

    def _pop(self) -> str:
        name = self.stack.pop()
        self.open_names[name] -= 1
        self.siblings -= name in _CLOSES_SIBLING
        return name

    def start(self, name: str, attributes: str) -> int:
        """Open an element; return the larger count to hold against the limit."""
        if name in _CLOSES_ITS_OWN and self.formatting.get(name):
            self.end(name)  # a second link closes the first
        self.stack.append(name)
        self.open_names[name] = self.open_names.get(name, 0) + 1
        if name in _FORMATTING:
            self.formatting.setdefault(name, []).append(attributes)
            kind = (name, attributes)
            self.copies[kind] = self.copies.get(kind, 0) + 1
            self.unclosed += self.copies[kind] <= _NOAHS_ARK
        return max(self._depth(), self.unclosed)

    def end(self, name: str) -> None:
        if name in _FORMATTING:
            if self.formatting.get(name):
                kind = (name, self.formatting[name].pop())
                self.copies[kind] -= 1
                self.unclosed -= self.copies[kind] < _NOAHS_ARK
            if not self.stack or self.stack[-1] != name:
                return
        if self.open_names.get(name):
            while self._pop() != name:
                pass

    def leaf(self, name: str, attributes: str) -> int:
        """Open and close an element holding only text; return the count it reached.

        The two leave everything as it was, unless it is a second link, which closes the
        first.
        """
        if name in _CLOSES_ITS_OWN and self.formatting.get(name):
            reached = self.start(name, attributes)
            self.end(name)
            return reached
        unclosed = self.unclosed
        if name in _FORMATTING and self.copies.get((name, attributes), 0) < _NOAHS_ARK:
            unclosed += 1
        return max(self._depth() + (name not in _CLOSES_SIBLING), unclosed)

    def start_many(self, name: str, count: int) -> int:
        """Open ``count`` elements of a name that is not formatting; as :meth:`start`."""
        self.stack.extend([name] * count)
        self.open_names[name] = self.open_names.get(name, 0) + count
        self.siblings += count if name in _CLOSES_SIBLING else 0
        return max(self._depth(), self.unclosed)

    def end_many(self, name: str, count: int) -> None:
        """``count`` end tags of a name that is not formatting, as many :meth:`end`."""
        top = self.stack[-count:]
        if len(top) == count and top.count(name) == count:  # they close the innermost
            del self.stack[-count:]
            self.open_names[name] -= count
            return
        for _ in range(count):
            if not self.open_names.get(name):
                return
            self.end(name)

    def close_open(self, kinds: tuple[str, ...]) -> None:
        """Close the innermost open element of ``kinds`` and what is open inside it, if only
        formatting elements are: past any other element the parser may have closed it
        already (a ``<div>`` closes an open ``<p>``), and closing it here would count less
        than the parser nests."""
        for depth in range(len(self.stack) - 1, -1, -1):
            name = self.stack[depth]
            if name in kinds:
                while len(self.stack) > depth:
                    self._pop()
                return
            if name not in _FORMATTING:
                return


#: Formatting elements whose start tag closes an unclosed one of the same name.
_CLOSES_ITS_OWN = frozenset({"a", "nobr"})


@cache
def _sanitizer() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=_ALLOWED_TAGS,
        clean_content_tags=_DROPPED_WITH_CONTENT,
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=_absolutize_url_attribute,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


#: An absolute http(s) URL of printable ASCII with no ``;`` params and no empty query or
#: fragment: :func:`absolute_url` returns such a URL unchanged (urljoin only re-splits and
#: re-joins it), so the sanitiser's callback, which runs for every link, can skip the join.
_PLAIN_ABSOLUTE_URL = re.compile(
    r'https?://[!"$-.0-:<->@-Z^-~]+'  # host: no "/?#;" and no brackets (IPv6 is checked)
    r'(?:/[!"$-:<->@-~]*)?'  # path: no "?#;"
    r'(?:\?[!"$-~]+)?'  # query: no "#"
    r"(?:#[!-~]+)?"
)
#: A root-relative path with no dot segment ("/background/12/"): joined, it is the base's
#: origin followed by the path as written.
_PLAIN_ROOT_PATH = re.compile(
    r'(?!//)(?:/(?!\.)[!"$-.0-:<->@-~]*)+'  # segments: no "?#;", none starting with "."
    r'(?:\?[!"$-~]+)?'
    r"(?:#[!-~]+)?"
)
#: The scheme and host of a plain http(s) base URL.
_PLAIN_ORIGIN = re.compile(r'https?://[!"$-.0-:<->@-Z^-~]+(?=/|$)')
#: A relative path with no dot segment, no empty segment and no ":" ("photos/lead.jpg"):
#: joined, it follows the base's directory as written.
_PLAIN_RELATIVE_PATH = re.compile(r'(?!\.)[!"$-.0-9<->@-~]+(?:/(?!\.)[!"$-.0-9<->@-~]+)*/?')
#: A plain http(s) base URL with no query, fragment, dot or empty segment: its origin, then
#: its directory (the path up to its last "/").
_PLAIN_BASE_DIRECTORY = re.compile(
    r'(https?://[!"$-.0-:<->@-Z^-~]+)(/(?:(?!\.)[!"$-.0-:<->@-~]+/)*)?(?:(?!\.)[!"$-.0-:<->@-~]+)?'
)


#: In cmark's own output, what the sanitiser removes: code-language classes.
_CMARK_CODE_CLASS = re.compile(r'<code class="[^"]*">')
#: cmark's image tags: the URL (escaped by cmark as ``&amp;`` and ``&#x27;``, every other
#: unsafe character percent-encoded), then alt and title (with no raw ``"`` or ``>``).
_CMARK_IMAGE = re.compile(r'<img src="([^"]*)"([^>]*)>')
_REL: Final = ' rel="noopener noreferrer"'
#: Stands for ``&quot;`` inside attributes while text quotes are unescaped (a cleaned body
#: holds no NUL, and cmark writes none).
_ATTRIBUTE_QUOTE = "\x00"


def _sanitize_cmark_output(rendered: str, source: str) -> str:
    """What ``_sanitizer().clean(rendered)`` gives, for cmark's output (without source
    positions) of a Markdown body with no ``<`` (so no raw HTML and no autolink: every tag is
    one cmark wrote).

    The sanitiser (html5ever underneath) costs half of an entry's rendering, and for such a
    body it can only change a known handful of things, done here directly: code-language
    classes are dropped (not allowed), link and image URLs go through the same filter
    (absolute, http/https/mailto only), links get ``rel``, void elements lose their ``/``, and
    the serialiser's own escaping is applied (``"`` plain in text, no-break spaces as
    ``&nbsp;``). A property test holds the two to the same output. The one case where the HTML
    parser changes cmark's structure, a link cmark nested in another's text (``[a [b](c)](d)``
    corner cases), still goes through the sanitiser.

    ``source`` is the Markdown: an image needs a ``!`` in it and a code-language class a
    fence of backticks or tildes. Looking for one character there is cheaper than for a tag
    in the output (found with memchr, not character by character), so most bodies skip those
    searches.
    """
    out = rendered
    if ("`" in source or "~" in source) and "<code class=" in out:
        out = _CMARK_CODE_CLASS.sub("<code>", out)
    if " />" in out:
        out = out.replace(" />", ">")
    if "<a " in out:
        links = out.split('<a href="')
        # Each link's text must close before the next link opens: otherwise cmark nested a
        # link in another's text, and the sanitiser's HTML parser restructures it.
        if not all("</a>" in text for text in links[1:]):
            return _sanitizer().clean(rendered)
        out = _rewrite_cmark_links(links)
    if "!" in source and "<img " in out:
        out = _CMARK_IMAGE.sub(lambda m: _cmark_url_tag("img", "src", m[1], m[2]), out)
    if "&quot;" in out:
        out = out.replace("&quot;", '"')
    if _ATTRIBUTE_QUOTE in out:
        out = out.replace(_ATTRIBUTE_QUOTE, "&quot;")
    if "\xa0" in out:
        out = out.replace("\xa0", "&nbsp;")
    return out


def _rewrite_cmark_links(parts: list[str]) -> str:
    """cmark's output split on ``<a href="``, joined again with every link through
    :func:`_cmark_url_tag`.

    Split rather than matched by a regex with a callback (~15 links per article made that the
    costliest step here); a link with no title to a plain absolute URL or root-relative path,
    nearly every link, is written here directly, exactly as :func:`_cmark_url_tag` writes it.
    """
    origin = _PLAIN_ORIGIN.match(_BASE_URL.get())
    origin_value = None if origin is None else _attribute_value(origin[0])
    for i in range(1, len(parts)):
        part = parts[i]
        quote = part.index('"')
        escaped = part[:quote]
        if part.startswith('">', quote) and "&#x27;" not in escaped:
            value = escaped.replace("&amp;", "&") if "&" in escaped else escaped
            if _PLAIN_ABSOLUTE_URL.fullmatch(value):  # kept as cmark escaped it
                parts[i] = f'<a href="{escaped}"{_REL}>{part[quote + 2 :]}'
                continue
            if origin_value is not None and _PLAIN_ROOT_PATH.fullmatch(value):
                # origin + value, escaped: cmark left no '"', "<" or ">" in it, "&" escaped.
                parts[i] = f'<a href="{origin_value}{escaped}"{_REL}>{part[quote + 2 :]}'
                continue
        close = part.index(">", quote)
        tag = _cmark_url_tag("a", "href", escaped, part[quote + 1 : close])
        parts[i] = tag + part[close + 1 :]
    return "".join(parts)


def _cmark_url_tag(tag: str, attribute: str, escaped: str, rest: str) -> str:
    """The tag the sanitiser writes for cmark's ``<tag attribute="escaped"rest>``."""
    value = escaped.replace("&#x27;", "'").replace("&amp;", "&") if "&" in escaped else escaped
    url = _absolutize_url_attribute(tag, attribute, value)
    if url is None:
        url_attribute = ""
    elif url == value:  # the sanitiser escapes only "&" of what cmark left unencoded
        url_attribute = f' {attribute}="{escaped.replace("&#x27;", chr(39))}"'
    else:
        url_attribute = f' {attribute}="{_attribute_value(url)}"'
    if "&quot;" in rest:
        rest = rest.replace("&quot;", _ATTRIBUTE_QUOTE)
    rel = _REL if tag == "a" else ""  # after the others, as nh3 does
    return f"<{tag}{url_attribute}{rest}{rel}>"


def _attribute_value(value: str) -> str:
    """Escape an attribute value as the sanitiser's serialiser does."""
    for char, reference in _ATTRIBUTE_ESCAPES:
        if char in value:
            value = value.replace(char, reference)
    return value


_ATTRIBUTE_ESCAPES = (("&", "&amp;"), ('"', _ATTRIBUTE_QUOTE), ("<", "&lt;"), (">", "&gt;"))


def _absolutize_url_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3 attribute filter: make URLs absolute; drop any that is not http(s) or mailto."""
    del tag  # every URL attribute is handled the same, whatever its tag
    if attribute not in _URL_ATTRIBUTES:
        return value
    # Fast paths for the three common shapes; each gives what absolute_url would.
    if _PLAIN_ABSOLUTE_URL.fullmatch(value):
        return value
    base = _BASE_URL.get()
    if _PLAIN_ROOT_PATH.fullmatch(value) and (origin := _PLAIN_ORIGIN.match(base)):
        return origin[0] + value
    if _PLAIN_RELATIVE_PATH.fullmatch(value) and (parts := _PLAIN_BASE_DIRECTORY.fullmatch(base)):
        return f"{parts[1]}{parts[2] or '/'}{value}"
    url = absolute_url(value, base)
    return url if _scheme(url) in _URL_SCHEMES else None


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme
    except ValueError:
        return ""


def _sources_paragraph(sources: Iterable[Source]) -> str:
    """``<p>Sources: <a href="https://www.rt.com/">RT</a>, BBC</p>``, every part escaped."""
    parts = []
    for source in sources:
        name = html.escape(clean_plain_text(source.name))
        url = clean_xml_text(source.url or "").strip()
        if _scheme(url) in {"http", "https"}:
            parts.append(f'<a href="{html.escape(url)}">{name}</a>')
        else:
            parts.append(name)
    return f"<p>Sources: {', '.join(parts)}</p>"


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
        if tag in _DROPPED_WITH_CONTENT:
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
        if tag in _DROPPED_WITH_CONTENT:
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


def _html_first_paragraph(body: str, max_chars: int) -> str:
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
        return _first_paragraph_text(_sanitizer().clean(body), None)


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


def _truncate(text: str, max_chars: int) -> str:
    """Cut ``text`` to at most ``max_chars`` on a word boundary, marking the cut with "…"."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]  # room for the ellipsis
    if text[max_chars - 1] != " " and " " in cut:  # the cut would split a word
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"
