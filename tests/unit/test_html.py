"""Article bodies become safe HTML with absolute URLs; summaries become plain text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from newswire.domain.model import BodyFormat, Source
from newswire.domain.text import WHITESPACE_RUNS, clean_plain_text, clean_xml_text
from newswire.errors import InvalidArticleError
from newswire.rendering import html as html_module
from newswire.rendering import nesting, sanitize, summaries
from newswire.rendering.html import (
    MAX_NESTING,
    absolute_url,
    nests_deeper_than,
    render_body,
    render_body_html,
    summarize,
)
from tests.support.factories import ARTICLE_URL, make_article
from tests.support.feedcheck import is_xml_char

MD = BodyFormat.MARKDOWN
HTML = BodyFormat.HTML


# --- Markdown ---------------------------------------------------------------------------------


def test_markdown_is_rendered_as_commonmark() -> None:
    body = (
        "Some *emphasis*, **strong** and `code()`.\n\n"
        "- one\n- two\n\n"
        "1. first\n2. second\n\n"
        "> quoted\n\n"
        "```\nx = 1 < 2\n```\n\n"
        "[a link](https://example.org/page)"
    )

    out = render_body_html(make_article(body))

    assert "<p>Some <em>emphasis</em>, <strong>strong</strong> and <code>code()</code>.</p>" in out
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in out
    assert "<ol>\n<li>first</li>\n<li>second</li>\n</ol>" in out
    assert "<blockquote>\n<p>quoted</p>\n</blockquote>" in out
    assert "<pre><code>x = 1 &lt; 2\n</code></pre>" in out
    assert '<a href="https://example.org/page" rel="noopener noreferrer">a link</a>' in out


def test_markdown_keeps_quotes_and_dashes_exactly_as_written() -> None:
    body = "He said “no” -- it’s ‘final’... \"straight\" and 'single'"

    out = render_body_html(make_article(body))

    assert out == "<p>He said “no” -- it’s ‘final’... \"straight\" and 'single'</p>"


# --- sanitising -------------------------------------------------------------------------------

DANGEROUS = [
    pytest.param("<script>alert('x')</script>", ["<script", "alert"], id="script"),
    pytest.param('<img src="a.png" onerror="alert(1)">', ["onerror", "alert"], id="onerror"),
    pytest.param('<a href="javascript:alert(1)">x</a>', ["javascript", "alert"], id="js-href"),
    pytest.param('<a href="JaVaScRiPt:alert(1)">x</a>', ["href", "alert"], id="js-href-case"),
    pytest.param('<a href="jav&#x61;script:alert(1)">x</a>', ["href", "alert"], id="js-entity"),
    pytest.param('<img src="data:image/png;base64,AAAA">', ["data:", "src="], id="data-src"),
    pytest.param('<iframe src="https://evil.example/"></iframe>', ["iframe", "evil"], id="iframe"),
    pytest.param("<style>p { color: red }</style>", ["<style", "color"], id="style"),
    pytest.param('<p style="position: fixed">x</p>', ["style", "fixed"], id="style-attribute"),
    pytest.param("<object data='x.swf'></object>", ["object", "swf"], id="object"),
    pytest.param('<form action="https://evil.example/"><input>', ["form", "input"], id="form"),
]


@pytest.mark.parametrize("body_format", [MD, HTML])
@pytest.mark.parametrize(("attack", "forbidden"), DANGEROUS)
def test_dangerous_html_is_removed_and_the_text_around_it_kept(
    body_format: BodyFormat, attack: str, forbidden: list[str]
) -> None:
    # A blank line before the attack makes Markdown treat it as a raw HTML block.
    body = f"<p>before</p>\n\n{attack}\n\n<p>after</p>"

    out = render_body_html(make_article(body, body_format))

    for fragment in forbidden:
        assert fragment not in out.lower()
    assert "before" in out
    assert "after" in out


def test_dangerous_markdown_links_and_images_are_not_linked() -> None:
    body = "[click](javascript:alert(1)) and ![pixel](data:image/png;base64,AAAA)"

    out = render_body_html(make_article(body))

    assert 'href="javascript' not in out
    assert "src=" not in out
    assert 'alt="pixel"' in out


@pytest.mark.parametrize("body_format", [MD, HTML])
def test_mailto_and_https_links_survive(body_format: BodyFormat) -> None:
    body = '<p><a href="mailto:desk@example.com">mail</a> <a href="https://x.example/">x</a></p>'

    out = render_body_html(make_article(body, body_format))

    assert 'href="mailto:desk@example.com"' in out
    assert 'href="https://x.example/"' in out


# --- absolute URLs ----------------------------------------------------------------------------

RELATIVE_URLS = [
    pytest.param("../x", "https://news.example.com/articles/x", id="parent"),
    pytest.param("/img/a.png", "https://news.example.com/img/a.png", id="root"),
    pytest.param("img.png", "https://news.example.com/articles/slug/img.png", id="sibling"),
    pytest.param("//cdn.example.net/a.png", "https://cdn.example.net/a.png", id="protocol"),
    pytest.param("#notes", f"{ARTICLE_URL}#notes", id="fragment"),
    pytest.param("https://other.example/a", "https://other.example/a", id="absolute"),
]


@pytest.mark.parametrize(("relative", "absolute"), RELATIVE_URLS)
def test_relative_urls_in_html_become_absolute(relative: str, absolute: str) -> None:
    body = (
        f'<p><a href="{relative}">link</a> <img src="{relative}" alt="">'
        f'</p><blockquote cite="{relative}">q</blockquote>'
    )

    out = render_body_html(make_article(body, HTML))

    assert f'<a href="{absolute}"' in out
    assert f'<img src="{absolute}"' in out
    assert f'<blockquote cite="{absolute}">' in out


@pytest.mark.parametrize(("relative", "absolute"), RELATIVE_URLS)
def test_relative_urls_in_markdown_become_absolute(relative: str, absolute: str) -> None:
    out = render_body_html(make_article(f"[link]({relative}) ![alt]({relative})"))

    assert f'<a href="{absolute}"' in out
    assert f'<img src="{absolute}" alt="alt">' in out


def test_urls_resolve_against_a_canonical_url_on_another_site() -> None:
    article = make_article("![chart](chart.png)", canonical_url="https://partner.example/story")

    assert 'src="https://partner.example/chart.png"' in render_body_html(article)


# --- XML-illegal characters -------------------------------------------------------------------

ILLEGAL = ["\x00", "\x08", "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff", "\ud800", "\udfff"]


#: Short texts go to the regex; long ones (a body) are checked by their bytes first.
PADDING = ["", "é “long” text " * 40]


@pytest.mark.parametrize("pad", PADDING, ids=["short", "long"])
@pytest.mark.parametrize("char", ILLEGAL)
def test_clean_xml_text_removes_illegal_characters(char: str, pad: str) -> None:
    assert clean_xml_text(f"a{char}b{char}{pad}") == f"ab{pad}"


@pytest.mark.parametrize("pad", PADDING, ids=["short", "long"])
def test_clean_xml_text_keeps_everything_xml_allows(pad: str) -> None:
    text = f"tab\tnew\nline\rret é 中文 \ud7ff\ue000\ufffd\uffef \U0001f600 \x7f\x85{pad}"

    assert clean_xml_text(text) == text


@given(
    st.text(st.one_of(st.characters(exclude_categories=()), st.sampled_from(ILLEGAL)), max_size=40),
    st.sampled_from(PADDING),
)
def test_clean_xml_text_removes_exactly_what_xml_forbids(text: str, pad: str) -> None:
    forbidden = set(ILLEGAL) | {chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"}

    cleaned = clean_xml_text(pad + text)

    assert cleaned == "".join(
        c for c in pad + text if c not in forbidden and not ("\ud800" <= c <= "\udfff")
    )


@pytest.mark.parametrize("body_format", [MD, HTML])
@pytest.mark.parametrize("char", ILLEGAL)
def test_illegal_characters_are_removed_from_the_body(char: str, body_format: BodyFormat) -> None:
    article = make_article(f"<p>one{char}two</p>", body_format, sources=(Source(f"S{char}"),))

    out = render_body_html(article)

    assert "onetwo" in out
    assert all(is_xml_char(c) for c in out)


@pytest.mark.parametrize("body_format", [MD, HTML])
def test_character_references_to_illegal_characters_are_removed(body_format: BodyFormat) -> None:
    out = render_body_html(make_article("<p>a&#1;b&#xFFFE;c&#0;d</p>", body_format))

    assert all(is_xml_char(c) for c in out)
    assert "&#" not in out


@pytest.mark.parametrize("body_format", [MD, HTML])
def test_references_to_noncharacters_in_markdown_text_are_removed(body_format: BodyFormat) -> None:
    # cmark writes U+FFFE and U+FFFF as the lone bytes FE and FF: its output was not UTF-8,
    # and decoding it failed the whole build.
    body = "a&#1;b&#xFFFE;c&#xFFFF;d&#65535;e&#0;f"

    rendered = render_body(make_article(body, body_format))

    # NUL is no character: CommonMark and HTML both read "&#0;" as U+FFFD.
    assert rendered.html.removeprefix("<p>").removesuffix("</p>") == "abcde\ufffdf"
    assert rendered.summary == "abcde\ufffdf"


# --- sources ----------------------------------------------------------------------------------


def test_sources_paragraph_links_sources_with_a_web_url_and_escapes_names() -> None:
    sources = (
        Source("RT", "https://www.rt.com/?a=1&b=2"),
        Source("A & B <x>"),
        Source("Wire", "javascript:alert(1)"),
        Source("Desk", "/relative"),
    )

    out = render_body_html(make_article("Text.", sources=sources))

    assert out == (
        "<p>Text.</p>\n"
        '<p>Sources: <a href="https://www.rt.com/?a=1&amp;b=2">RT</a>, '
        "A &amp; B &lt;x&gt;, Wire, Desk</p>"
    )


def test_no_sources_paragraph_without_sources() -> None:
    assert "Sources" not in render_body_html(make_article("Text."))


def test_sources_alone_make_the_content_of_an_empty_body() -> None:
    out = render_body_html(make_article("", sources=(Source("BBC"),)))

    assert out == "<p>Sources: BBC</p>"


# --- summaries --------------------------------------------------------------------------------


def test_summary_is_the_first_paragraph_as_plain_text() -> None:
    body = (
        "# A heading\n\n"
        "![Lead photo](lead.jpg)\n\n"
        "<div>raw html block</div>\n\n"
        "The *first* paragraph, with [a link][ref] &amp; `code`\n"
        "on two lines.\n\n"
        "The second paragraph.\n\n"
        "[ref]: https://example.org/"
    )

    summary = summarize(make_article(body))

    assert summary == "The first paragraph, with a link & code on two lines."


def test_summary_of_an_html_body_is_its_first_paragraph_with_text() -> None:
    body = (
        "<h1>Heading</h1><p><img src='x.png'></p>"
        "<p>First&nbsp;<b>bold</b> &amp; <a href='/x'>linked</a><br>line\n  two</p>"
        "<p>Second</p>"
    )

    assert summarize(make_article(body, HTML)) == "First\xa0bold & linked line two"


def test_summary_of_an_html_body_without_paragraphs_is_its_text() -> None:
    body = "<div>One</div><div>two <script>alert(1)</script>three</div>"

    assert summarize(make_article(body, HTML)) == "One two three"


@pytest.mark.parametrize("body", ["<![0 broken<p>First para</p>", "<![A:<p>First para</p>"])
def test_summary_of_malformed_html_is_still_found(body: str) -> None:
    # Python's html.parser raises on these declarations; a summary must not.
    assert summarize(make_article(body, HTML)) == "First para"


@pytest.mark.parametrize("body_format", [MD, HTML])
def test_long_summary_is_cut_on_a_word_boundary(body_format: BodyFormat) -> None:
    words = "Moscow officials said on Tuesday that the talks would continue next week " * 10
    body = f"<p>{words}</p>" if body_format is HTML else words

    summary = summarize(make_article(body, body_format), max_chars=60)

    assert len(summary) <= 60
    assert summary.endswith("…")
    assert words.startswith(summary.removesuffix("…"))
    assert words[len(summary) - 1] == " "  # the cut fell between two words
    assert summary == "Moscow officials said on Tuesday that the talks would…"


def test_a_single_long_word_is_cut_hard() -> None:
    summary = summarize(make_article("x" * 500), max_chars=10)

    assert summary == "xxxxxxxxx…"


def test_short_summary_is_not_cut() -> None:
    assert summarize(make_article("Short text."), max_chars=11) == "Short text."


def test_explicit_summary_wins_over_the_body() -> None:
    article = make_article("Body paragraph.", summary="  The writer's\n  own   summary. ")

    assert summarize(article) == "The writer's own summary."


def test_blank_explicit_summary_falls_back_to_the_body() -> None:
    assert summarize(make_article("Body paragraph.", summary=" \n ")) == "Body paragraph."


@pytest.mark.parametrize("body_format", [MD, HTML])
def test_empty_body_without_summary_gives_an_empty_summary(body_format: BodyFormat) -> None:
    assert summarize(make_article("", body_format)) == ""
    assert summarize(make_article("# Only a heading", MD)) == ""


def test_summary_has_no_illegal_characters() -> None:
    summary = summarize(make_article("a\x00b\x0bc\ud800d\ufffe"))

    assert summary == "abcd"


# --- one Markdown parse for body and summary --------------------------------------------------

_INLINES = st.sampled_from(
    [
        "plain words",
        "*emphasis*",
        "**strong**",
        "`a < b & c`",
        "[a link](https://example.org/x?a=1&b=2)",
        "[relative](../up/page)",
        "![an image](photo.jpg)",
        "[![linked image](i.png)](https://example.org/)",
        "<b>inline html</b>",
        '<span title="a>b">quoted</span>',
        "<!-- a comment -->",
        "&amp; &copy; &#8217;",
        "line  \nbreak",
        "soft\nbreak",
        "“curly” quotes",
        "\\*escaped\\*",
        "<https://example.org/auto>",
        "[ref link][r]",
        "</p> stray close",
    ]
)
_BLOCKS = st.one_of(
    st.lists(_INLINES, min_size=1, max_size=4).map(" ".join),
    st.sampled_from(
        [
            "# A heading",
            "![only an image](lead.jpg)",
            "<div>raw html <p>block</p></div>",
            "- tight\n- list",
            "- loose\n\n  list",
            "3. ordered\n4. list",
            "> a quote\nlazy line",
            "> - nested\n>   list",
            "```\ncode block\n```",
            "    indented code",
            "---",
            "[r]: https://example.org/ref",
            "",
        ]
    ),
)


@pytest.mark.parametrize(
    "body",
    [
        "> - > - nested\n\nThe top paragraph.",
        "- a\n  - b\n    > c\n\n1. d\n\nThe top paragraph.",
        "> " * 200 + "deep\n\nThe top paragraph.",
        "<div>raw</div>\n\n> - > - nested\n\nThe top paragraph.",
    ],
)
def test_summary_skips_paragraphs_in_nested_containers_for_a_top_level_one(body: str) -> None:
    assert summarize(make_article(body, MD)) == "The top paragraph."


_HTML_PIECES = st.sampled_from(
    ["<span>w</span>", "<b>x</b>", " ", "\n\n", "<li>item</li>", "<br>", "<script>x</script>",
     "&amp; &#1; &#xFFFE;", "<div>a</div>", "</div>", "long-word-" * 8, "a, b; c:", "<!-- c -->"]
)  # fmt: skip


@given(st.lists(_HTML_PIECES, max_size=40), st.integers(1, 200), st.integers(1, 60))
def test_summary_of_a_long_html_body_without_paragraphs_is_its_whole_texts(
    pieces: list[str], times: int, max_chars: int
) -> None:
    # Without <p>, parsing stops once the text is long enough for the summary.
    body = "".join(pieces) * times
    whole_text = summaries._first_paragraph_text(body, None)

    assert summarize(make_article(body, HTML), max_chars) == summaries.truncate(
        clean_plain_text(whole_text), max_chars
    )


_LONG = 40_000  # longer than the first prefix searched for a paragraph in a list or quote


@pytest.mark.parametrize(
    "body",
    [
        "- item *x* [y](z)\n" * (_LONG // 18),
        "- ![no text](a.png)\n" * (_LONG // 20) + "- the first text\n",
        "> ![no text](a.png)\n>\n" * (_LONG // 22) + "> - the first text\n",
        # A paragraph in a list item, running across the end of the first prefix.
        "- ![no text](a.png)\n" * 800 + "- " + "a long line\n  " * (_LONG // 14),
        # A reference defined at the end, used by the first paragraph.
        "- see [the report][r]\n" * (_LONG // 22) + "\n[r]: https://example.org/r\n",
        "- see [the report][r]\n" * (_LONG // 22) + "\n[r]:\n  https://example.org/r\n",
    ],
)
def test_summary_of_a_long_body_without_top_level_paragraph_is_the_whole_parse(
    body: str,
) -> None:
    expected = clean_plain_text(summaries._markdown_first_paragraph(body))

    assert summarize(make_article(body, MD), len(expected) + 1) == expected
    assert expected


def test_summary_skips_a_long_top_level_paragraph_without_text() -> None:
    # cmark found no text in the top-level paragraph; its length does not hide the list's.
    body = "- item text\n\n" + "![](x)\n" * 12_000

    assert summarize(make_article(body, MD)) == "item text"


def test_summary_resolves_its_labels_among_many_later_definitions() -> None:
    definitions = "".join(f"[a{i}]: /b\n" for i in range(20_000))
    body = f"- [x] y, [z][a7]\n\n{definitions}[x]: /x\n[ A7 ]: /ignored\n"

    assert summarize(make_article(body, MD)) == "x y, z"
    assert summaries._markdown_first_paragraph(body) == "x y, z"


@pytest.mark.parametrize("definitions", ["", "[a]: /b\n", "[a]: /b\n" * 20_000])
def test_summary_keeps_brackets_no_definition_resolves(definitions: str) -> None:
    # The list runs past the first prefix searched, so later definitions are looked up.
    body = "- [x] y [] [\\[]\n" + "- ![](i.png)\n" * 3_000 + "\n" + definitions

    assert summarize(make_article(body, MD)) == "[x] y [] [[]"


def test_a_body_with_no_paragraph_text_near_its_start_has_an_empty_summary() -> None:
    # Lists and quotes are searched for a summary only so far into a body.
    body = "- ![no text](a.png)\n" * 20_000 + "- far text\n"

    assert summarize(make_article(body, MD)) == ""


@given(st.lists(_BLOCKS, max_size=6), st.sampled_from(["\n\n", "\n"]))
def test_summary_read_from_cmark_output_is_the_markdown_it_summary(
    blocks: list[str], separator: str
) -> None:
    # The summary is read from the body's cmark rendering; markdown-it's token stream is the
    # reference it must agree with (and the fallback when no top-level paragraph has text),
    # wherever the two engines agree on the document (they differ on rare corners, e.g. a list
    # right after a link reference definition; the body is cmark's, so its summary is too).
    # Both ways of finding top-level paragraphs are checked: by source positions (any body)
    # and by counting cmark's container tags (a body with no raw HTML).
    body = separator.join(blocks)
    cmark = html_module._cmark_html(body)
    assume(summaries._markdown().render(body) == cmark)
    expected = clean_plain_text(summaries._markdown_first_paragraph(body))

    with_positions = html_module._cmark_html(body, sourcepos=True)

    assert clean_plain_text(summaries.cmark_summary_text(body, with_positions, False)) == (expected)
    if "<" not in body:
        assert clean_plain_text(summaries.cmark_summary_text(body, cmark, True)) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/reports/1?a=1&b=2",
        "http://example.org",
        "https://example.org/a/../b#frag",
        "https://user@example.org:8080/x?q=%20",
    ],
)
def test_plain_absolute_urls_take_the_fast_path_unchanged(url: str) -> None:
    assert sanitize._PLAIN_ABSOLUTE_URL.fullmatch(url)
    assert absolute_url(url, ARTICLE_URL) == url


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40))
def test_fast_path_urls_are_those_the_join_leaves_unchanged(tail: str) -> None:
    for url in (f"https://{tail}", f"http://example.org/{tail}"):
        if sanitize._PLAIN_ABSOLUTE_URL.fullmatch(url):
            assert absolute_url(url, ARTICLE_URL) == url


@pytest.mark.parametrize("path", ["/background/12/", "/", "/a//b.jpg?x=1#top", "/.well/x"])
def test_root_relative_paths_join_the_base_origin(path: str) -> None:
    fast = sanitize._PLAIN_ROOT_PATH.fullmatch(path)
    origin = sanitize._PLAIN_ORIGIN.match(ARTICLE_URL)

    assert origin is not None
    if fast:
        assert origin[0] + path == absolute_url(path, ARTICLE_URL)
    else:
        assert path == "/.well/x"  # a dot segment start: left to urljoin


@given(
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40),
    st.sampled_from([ARTICLE_URL, "http://h.example:8080/a/b", "https://h.example"]),
)
def test_fast_path_root_paths_join_as_urljoin_does(tail: str, base: str) -> None:
    path = "/" + tail
    origin = sanitize._PLAIN_ORIGIN.match(base)
    if origin is not None and sanitize._PLAIN_ROOT_PATH.fullmatch(path):
        assert origin[0] + path == absolute_url(path, base)


@given(
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40),
    st.sampled_from(
        [ARTICLE_URL, "http://h.example:8080/a/b", "https://h.example", "https://h.example/a/",
         "https://u@h.example/a/b?q=1#f", "https://h.example/a//b/c", "https://h.example/./a"]
    ),
)  # fmt: skip
def test_fast_path_relative_paths_join_as_urljoin_does(path: str, base: str) -> None:
    parts = sanitize._PLAIN_BASE_DIRECTORY.fullmatch(base)
    if parts is not None and sanitize._PLAIN_RELATIVE_PATH.fullmatch(path):
        assert f"{parts[1]}{parts[2] or '/'}{path}" == absolute_url(path, base)


@pytest.mark.parametrize("path", ["photos/lead.jpg", "a", "a/b/", "%20x/y"])
def test_plain_relative_paths_take_the_fast_path(path: str) -> None:
    assert sanitize._PLAIN_RELATIVE_PATH.fullmatch(path)
    assert sanitize._PLAIN_BASE_DIRECTORY.fullmatch(ARTICLE_URL)


@pytest.mark.parametrize("path", ["../up", "./x", "a/../b", ".x", "a//b", "mailto:x", "a;b", "a?b"])
def test_relative_paths_urljoin_may_change_are_left_to_it(path: str) -> None:
    assert not sanitize._PLAIN_RELATIVE_PATH.fullmatch(path)


_MARKDOWN_TEXT = st.lists(
    st.sampled_from([*"ab cé\"'&>*_`[]()!#-.:/\\\n\r\t\xa0“’=?%;", "&amp;", "&#39;", "&nbsp;"]),
    max_size=30,
).map("".join)
_URLS = st.one_of(
    _MARKDOWN_TEXT.filter(lambda u: " " not in u and "\n" not in u),
    st.sampled_from(
        [
            "https://example.org/a?b=1&c='2'",
            "/root/path/",
            "../up",
            "//cdn.example/x.png",
            "javascript:alert(1)",
            "mailto:desk@example.org",
            "ftp://x.example/",
            "",
            "#frag",
            'https://example.org/a%20b"c',
        ]
    ),
)


@st.composite
def _markdown_without_markup(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["text", "link", "image", "block"]))
        text = draw(_MARKDOWN_TEXT)
        title = draw(st.one_of(st.just(""), _MARKDOWN_TEXT.map(lambda t: f' "{t}"')))
        if kind == "link":
            parts.append(f"[{text}]({draw(_URLS)}{title})")
        elif kind == "image":
            parts.append(f"![{text}]({draw(_URLS)}{title})")
        elif kind == "block":
            parts.append(
                draw(
                    st.sampled_from(
                        [
                            "\n\n# h\n\n",
                            '\n\n```py x"y\ncode\n```\n\n',
                            "\n\n~~~js\ncode\n~~~\n\n",
                            "\n\n- a\n- b\n\n",
                            "\n\n> q\n\n",
                            "\n\n---\n\n",
                            "\n\n    indented\n\n",
                            "  \nnext",
                        ]
                    )
                )
            )
        else:
            parts.append(text)
    return "".join(parts).replace("<", "")


@given(_markdown_without_markup())
def test_cmark_output_without_raw_html_is_sanitised_as_nh3_would(body: str) -> None:
    # Markdown with no "<" skips the HTML sanitiser: cmark's own tags are rewritten directly.
    # The two must agree byte for byte, or the shortcut is a second, weaker sanitiser.
    body = clean_xml_text(body)
    rendered = html_module._cmark_html(body)
    token = sanitize.BASE_URL.set(ARTICLE_URL)
    try:
        assert sanitize.sanitize_cmark_output(rendered, body) == (
            sanitize.sanitizer().clean(rendered)
        )
    finally:
        sanitize.BASE_URL.reset(token)


def test_markdown_with_raw_html_still_goes_through_the_sanitiser() -> None:
    out = render_body_html(make_article('Text <script>alert(1)</script> [x](javascript:y) "q"'))

    assert "script" not in out
    assert "javascript" not in out
    assert (
        out
        == render_body(make_article('Text <script>alert(1)</script> [x](javascript:y) "q"')).html
    )


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS from /proc")
def test_rendering_markdown_frees_what_cmark_allocates() -> None:
    # cmarkgfm's own markdown_to_html never frees cmark's output: ~10 KB per article.
    body = "A paragraph with *emphasis* and [a link](https://example.org/).\n\n" * 80

    def resident_mb() -> int:
        status = Path("/proc/self/status").read_text().splitlines()
        return int(next(line for line in status if line.startswith("VmRSS")).split()[1]) // 1024

    html_module._cmark_html(body)
    before = resident_mb()
    for _ in range(5000):  # ~60 MB of output in all
        html_module._cmark_html(body)

    assert resident_mb() - before < 15


_SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]


@given(st.text(st.one_of(st.characters(), st.sampled_from(_SPACES)), max_size=30))
def test_plain_text_collapses_white_space_except_no_break_spaces(text: str) -> None:
    # Without a no-break space the fast path (str.split) runs; with one, the regex.
    for sample in (text, f"{text}\xa0{text}"):
        expected = WHITESPACE_RUNS.sub(" ", clean_xml_text(sample)).strip()

        assert clean_plain_text(sample) == expected


@pytest.mark.parametrize(
    ("body", "body_format"),
    [
        ("<div>" * (MAX_NESTING + 1) + "deep" + "</div>" * (MAX_NESTING + 1), BodyFormat.HTML),
        ("<div>" * (MAX_NESTING + 1) + "never closed", BodyFormat.HTML),
        ("<ul><li>" * (MAX_NESTING + 1) + "deep", BodyFormat.HTML),
        ("<blockquote>" * (MAX_NESTING + 1) + "deep", BodyFormat.MARKDOWN),
        ("> " * (MAX_NESTING + 1) + "deep", BodyFormat.MARKDOWN),
        ("<b>" * (MAX_NESTING + 1) + "deep", BodyFormat.HTML),
    ],
)
def test_a_body_nested_too_deeply_is_rejected(body: str, body_format: BodyFormat) -> None:
    # The sanitiser's time grows with depth times tags: 1 MB of nesting took half a minute.
    with pytest.raises(InvalidArticleError) as caught:
        render_body(make_article(body, body_format))

    assert (caught.value.key, caught.value.field) == ("articles/slug.md", "body")
    assert f"at most {MAX_NESTING} levels" in caught.value.expected


@pytest.mark.parametrize(
    ("body", "body_format"),
    [
        ("<div>" * MAX_NESTING + "deep" + "</div>" * MAX_NESTING, BodyFormat.HTML),
        ("> " * MAX_NESTING + "deep", BodyFormat.MARKDOWN),
        # Siblings, however many, are no nesting: paragraphs and items close one another.
        ("<p>One" * 1000, BodyFormat.HTML),
        ("<ul>" + "<li>item" * 1000 + "</ul>", BodyFormat.HTML),
        ("<div>a</div>" * 1000 + "<br><img src=a.png><hr>" * 1000, BodyFormat.HTML),
        ("<!--" + "<div>" * 1000 + "-->Text", BodyFormat.HTML),
    ],
)
def test_a_body_within_the_nesting_limit_is_published(body: str, body_format: BodyFormat) -> None:
    assert render_body(make_article(body, body_format)).html


@pytest.mark.parametrize(
    ("markup", "depth"),
    [
        ("<div>" * 300, 300),
        ("</div>" * 300 + "<div>" * 300, 300),  # stray end tags close nothing
        ("<DIV>" * 300 + "</div>" * 300 + "<i>" * 10, 300),
        ("<ul><li>" * 300, 300),
        ("<div>" * 300 + "<p>" * 1000 + "<td>" * 1000 + "<br/>" * 1000, 300),
        ("<div>" * 300 + "<!--" + "<div>" * 1000 + "-->", 300),
        # End tags that close nothing, and misnested formatting, keep the parser's elements open.
        ("<div></span>" * 300, 300),
        ("<span></div>" * 300, 300),
        ("<b><div></b>" * 150, 300),
        # Formatting elements a block closed stay on the parser's list, to be opened again.
        ("".join(f"<div><b id={i}></div>x" for i in range(300)), 300),
        # Void elements, table parts outside a table, options and a "</p>" with no paragraph
        # open close nothing: formatting elements before them stay open, one in the other.
        ("<b><br>" * 300, 300),
        ("<b><td>" * 300, 300),
        ("<b><option>" * 300, 300),
        ("<b></p>" * 300, 300),
        # A block closes an open paragraph: "</p>" after it finds none and closes nothing.
        ("<p><div></p>" * 300, 300),
    ],
)
def test_nesting_is_counted_in_open_elements(markup: str, depth: int) -> None:
    assert nests_deeper_than(markup, depth - 1)
    assert not nests_deeper_than(markup, depth)


@pytest.mark.parametrize(
    "markup",
    [
        "<p><b>Name:</p>" * 1000,  # the parser keeps at most three identical ones
        "".join(f"<p><b id={i}>Name:</b> text</p>" for i in range(1000)),
        "".join(f"<a href='/{i}'>link " for i in range(1000)),  # each link closes the last
        "<table><tr><td>a</td></tr></table>" * 1000,
    ],
)
def test_siblings_and_closed_elements_are_no_nesting(markup: str) -> None:
    assert not nests_deeper_than(markup, 3)


_NESTED_MARKDOWN = st.lists(
    st.sampled_from(["> ", "- ", "1. ", "*", "**", "[", "](u)", "`", "x ", "![", "](i.png)"]),
    max_size=60,
).map("".join)


@given(st.lists(_NESTED_MARKDOWN, min_size=1, max_size=4).map("\n\n".join))
def test_cmark_output_nests_no_deeper_than_its_tree(body: str) -> None:
    # Without raw HTML the tree's depth, summed over cmark's tags, bounds the tag-by-tag count.
    rendered = html_module._cmark_html(body)

    depth = nesting.cmark_tree_depth(rendered)

    assert depth is not None
    assert not nests_deeper_than(rendered, depth)


_NESTING_TAGS = st.sampled_from(
    ["<div>", "</div>", "<DIV>", "<div class=x>", '<div title="a<b">', "<div\n>", "<span>",
     "</span>", "<b>", "</b>", "<b id=1>", "<a href=x>", "</a>", "<p>", "<li>", "</ul>",
     "<ul>", "<br/>", "x", " < y ", "<!-- <div> -->", "<b>x</b>", "<a href=y>y</a>",
     "<div>x</DIV>", "<i>x</i >", "<p>x</p>"]
)  # fmt: skip


@given(st.lists(st.tuples(_NESTING_TAGS, st.integers(1, 40)), max_size=12), st.integers(1, 60))
def test_runs_of_one_tag_count_as_the_tags_one_by_one(
    parts: list[tuple[str, int]], limit: int
) -> None:
    # Runs of a tag are counted in one step; a comment between tags ends every run.
    markup = "".join(tag * times for tag, times in parts)
    tag_by_tag = "".join("<!---->".join([tag] * times) + "<!---->" for tag, times in parts)

    assert nests_deeper_than(markup, limit) == nests_deeper_than(tag_by_tag, limit)
