"""The allow-list sanitiser of article bodies, and its fast path for cmark's own output.

Every URL is made absolute against the article's canonical URL (:data:`BASE_URL`) and
only http, https and mailto are kept: feeds are read far from the site.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from functools import cache
from typing import Final
from urllib.parse import urljoin, urlsplit

import nh3

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
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math", "title"}
)

_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})

#: The canonical URL of the article being sanitised, read by the sanitiser's attribute filter.
#: A context variable lets one sanitiser, built once, serve every article (and every thread).
BASE_URL: ContextVar[str] = ContextVar("newswire_html_base_url", default="")


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


@cache
def sanitizer() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=_ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=_absolutize_url_attribute,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


#: An absolute http(s) URL of printable ASCII with no ``;`` params and no empty query or
#: fragment: :func:`absolute_url` returns such a URL unchanged (urljoin only re-splits and
#: re-joins it), so the sanitiser's callback, which runs for every link, can skip the join
#: (measured: benchmarks/RESULTS.md, "Measured choices").
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


def sanitize_cmark_output(rendered: str, source: str) -> str:
    """What ``sanitizer().clean(rendered)`` gives, for cmark's output (without source
    positions) of a Markdown body with no ``<`` (so no raw HTML and no autolink: every tag is
    one cmark wrote).

    The sanitiser (html5ever underneath) is a large part of a build's time (measured:
    benchmarks/RESULTS.md, "Measured choices"), and for such a body it can only change a known
    handful of things, done here directly: code-language classes are dropped (not allowed),
    link and image URLs go through the same filter (absolute, http/https/mailto only), links
    get ``rel``, void elements lose their ``/``, and the serialiser's own escaping is applied
    (``"`` plain in text, no-break spaces as ``&nbsp;``). A property test holds the two to the
    same output. The one case where the HTML parser changes cmark's structure, a link cmark
    nested in another's text (``[a [b](c)](d)`` corner cases), still goes through the
    sanitiser.

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
            return sanitizer().clean(rendered)
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

    Split rather than matched by a regex with a callback (a Python call per link made that the
    costliest step here); a link with no title to a plain absolute URL or root-relative path,
    nearly every link, is written here directly, exactly as :func:`_cmark_url_tag` writes it.
    """
    origin = _PLAIN_ORIGIN.match(BASE_URL.get())
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
    base = BASE_URL.get()
    if _PLAIN_ROOT_PATH.fullmatch(value) and (origin := _PLAIN_ORIGIN.match(base)):
        return origin[0] + value
    if _PLAIN_RELATIVE_PATH.fullmatch(value) and (parts := _PLAIN_BASE_DIRECTORY.fullmatch(base)):
        return f"{parts[1]}{parts[2] or '/'}{value}"
    url = absolute_url(value, base)
    return url if url_scheme(url) in _URL_SCHEMES else None


def url_scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme
    except ValueError:
        return ""
