"""Reading article files: every field, and every way a writer can get one wrong."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.content.articles import (
    MAX_BODY_BYTES,
    MAX_FILE_BYTES,
    MAX_ID_BYTES,
    MAX_KEY_BYTES,
    MAX_SLUG_CHARS,
    _stem_and_suffix,
    parse_article,
    read_article_file,
    read_articles,
)
from newswire.domain.model import BodyFormat, Person, SiteConfig, Tag
from newswire.domain.slugs import is_valid_slug
from newswire.errors import InvalidArticleError
from tests.support.factories import CONTENT, SEED, SEED_KEY, make_site


def md(front: str, body: str = "Body text.") -> bytes:
    return f"---\n{front.strip()}\n---\n\n{body}".encode()


def rejected(key: str, data: bytes, site: SiteConfig) -> InvalidArticleError:
    with pytest.raises(InvalidArticleError) as caught:
        parse_article(key, data, site)
    return caught.value


VALID = 'title: "A title"\npublished: 2024-03-01T10:00:00Z'


def test_markdown_article_fields(site: SiteConfig) -> None:
    article = parse_article(
        "articles/full-example.md",
        md(
            """
title: Full example
published: 2024-03-01T10:00:00+01:00
updated: 2024-03-02T08:30:00Z
summary: A summary.
authors:
  - {name: Ann Writer, email: ann@news.example, url: https://news.example/ann}
  - Bob Reporter
tags: [World, Café Society]
section: World
image: {url: images/a.jpg, alt: A harbour, type: image/jpeg, length: 1234}
sources: [{name: RT, url: https://www.rt.com/}, BBC]
"""
        ),
        site,
    )
    assert article.slug == "full-example"
    assert article.published == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert article.updated == datetime(2024, 3, 2, 8, 30, tzinfo=UTC)
    assert article.authors == (
        Person("Ann Writer", "ann@news.example", "https://news.example/ann"),
        Person("Bob Reporter"),
    )
    assert article.tags == (Tag("World", "world"), Tag("Café Society", "cafe-society"))
    assert article.image is not None and article.image.length == 1234
    assert [s.name for s in article.sources] == ["RT", "BBC"]
    assert article.canonical_url == "https://news.example/articles/full-example/"
    assert article.id == article.canonical_url
    assert article.body == "Body text."
    assert article.body_format is BodyFormat.MARKDOWN


def test_image_size_credit_and_caption_are_read(site: SiteConfig) -> None:
    front = VALID + (
        "\nimage: {url: a.jpg, width: 1600, height: 900, credit: ' Photo: Ann ',"
        " caption: Ships at dawn}"
    )

    image = parse_article("articles/x.md", md(front), site).image

    assert image is not None
    assert (image.width, image.height, image.credit, image.caption) == (
        1600,
        900,
        "Photo: Ann",
        "Ships at dawn",
    )


def test_defaults_author_and_stable_id(site: SiteConfig) -> None:
    first = parse_article("articles/story.md", md(VALID, "One."), site)
    edited = parse_article(
        "articles/story.md", md('title: "Another title"\npublished: 2024-03-01', "Two."), site
    )
    assert first.authors == (site.author,)
    assert first.id == edited.id == "https://news.example/articles/story/"


def test_json_article_with_html_body(site: SiteConfig) -> None:
    data = json.dumps(
        {
            "title": "JSON story",
            "published": "2024-03-01T10:00:00Z",
            "body_html": "<p>Hello</p>",
            "id": "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        }
    ).encode()
    article = parse_article("articles/json-story.json", data, site)
    assert article.body_format is BodyFormat.HTML
    assert article.body == "<p>Hello</p>"
    assert article.id == "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-07-01T08:00:00", datetime(2025, 7, 1, 7, 0, tzinfo=UTC)),  # BST, not UTC
        ("2025-01-10T08:00:00", datetime(2025, 1, 10, 8, 0, tzinfo=UTC)),  # GMT
        ("2024-06-14", datetime(2024, 6, 13, 23, 0, tzinfo=UTC)),  # midnight in London
        ("2022-02-25T19:10:00+03:00", datetime(2022, 2, 25, 16, 10, tzinfo=UTC)),
        ("2022-02-25 19:10Z", datetime(2022, 2, 25, 19, 10, tzinfo=UTC)),
    ],
)
def test_dates_without_zone_are_read_in_site_time_zone(
    site: SiteConfig, value: str, expected: datetime
) -> None:
    article = parse_article("articles/dated.md", md(f"title: T\npublished: {value}"), site)
    assert article.published == expected


def test_draft_and_scheduled(site: SiteConfig) -> None:
    draft = parse_article("articles/d.md", md(VALID + "\ndraft: true"), site)
    later = parse_article("articles/l.md", md("title: T\npublished: 2031-01-01T09:00:00Z"), site)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert not draft.is_live(now)
    assert not later.is_live(now)
    assert later.is_live(datetime(2031, 1, 1, 9, 0, tzinfo=UTC))


def test_seed_article_is_word_for_word() -> None:
    """The site's first article keeps its headline, standfirst and paragraphs byte for byte."""
    from newswire.content.site import parse_site

    site = parse_site("site.yaml", (CONTENT / "site.yaml").read_bytes())
    article = parse_article(SEED_KEY, (CONTENT / SEED_KEY).read_bytes(), site)
    lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    headline = lines.index(article.title)
    assert lines[headline + 1] == article.summary
    assert article.body.strip().split("\n\n") == lines[headline + 2 :]
    assert [t.slug for t in article.tags] == ["russia", "ukraine", "world"]
    assert [s.name for s in article.sources] == ["RT", "BBC"]
    assert article.published.astimezone(site.timezone).date().isoformat() == "2022-02-25"


# --- bad input: each case names the file, the field and what was expected ---------------------


@pytest.mark.parametrize(
    ("key", "data", "field", "words"),
    [
        (
            "articles/x.md",
            b"---\ntitle: [unclosed\n---\n",
            "front matter",
            "invalid YAML at line 3",
        ),
        ("articles/x.md", b"no front matter", "front matter", "'---'"),
        ("articles/x.md", b"---\ntitle: T\n", "front matter", "no closing"),
        ("articles/x.md", md("published: 2024-01-01"), "title", "is missing"),
        ("articles/x.md", md('title: "  "\npublished: 2024-01-01'), "title", "is empty"),
        ("articles/x.md", md("title: [a, b]\npublished: 2024-01-01"), "title", "is a list"),
        ("articles/x.md", md("title: T"), "published", "is missing"),
        ("articles/x.md", md("title: T\npublished: yesterday"), "published", "is not a date"),
        ("articles/x.md", md("title: T\npublished: 2022-02-30"), "published", "not a possible"),
        ("articles/x.md", md("title: T\npublished: 2022-13-01T10:00"), "published", "possible"),
        ("articles/x.md", md(VALID + "\nupdated: 25/02/2022"), "updated", "is not a date"),
        ("articles/x.md", md(VALID + "\ntittle: typo"), "tittle", "did you mean 'title'"),
        ("articles/x.md", md(VALID + "\nauthor: Ann"), "author", "did you mean 'authors'"),
        ("articles/x.md", md(VALID + "\ndraft: maybe"), "draft", "true or false"),
        ("articles/x.md", md(VALID + "\ncanonical_url: /a/b"), "canonical_url", "absolute"),
        ("articles/x.md", md(VALID + "\nid: has space"), "id", "white space"),
        # Atom's <id> must be an absolute IRI (the W3C validator: InvalidFullLink).
        ("articles/x.md", md(VALID + "\nid: story-123"), "id", "not an absolute URI"),
        ("articles/x.md", md(VALID + "\nid: 'urn:'"), "id", "not an absolute URI"),
        ("articles/x.md", md(VALID + "\ntags: ['']"), "tags[0]", "is not a tag"),
        ("articles/x.md", md(VALID + "\nauthors: [{email: a@b.c}]"), "authors[0].name", "missing"),
        (
            "articles/x.md",
            md(VALID + "\nauthors: [{name: A, email: nope}]"),
            "authors[0].email",
            "",
        ),
        ("articles/x.md", md(VALID + "\nimage: {alt: x}"), "image.url", "is missing"),
        ("articles/x.md", md(VALID + "\nimage: {url: 'javascript:x'}"), "image.url", "scheme"),
        # The enclosure's url would be no URL (the W3C validator: InvalidURLAttribute).
        ("articles/x.md", md(VALID + "\nimage: {url: 'a b.jpg'}"), "image.url", "white space"),
        (
            "articles/x.md",
            md(VALID + "\nimage: {url: 'https://cdn.example/a b.jpg'}"),
            "image.url",
            "white space",
        ),
        ("articles/x.md", md(VALID + "\nimage: {url: a.jpg, length: -1}"), "image.length", ""),
        (  # JSON readers hold no larger whole number exactly
            "articles/x.md",
            md(VALID + f"\nimage: {{url: a.jpg, length: {2**53}}}"),
            "image.length",
            "at most 9007199254740991",
        ),
        ("articles/x.md", md(VALID + "\nimage: {url: a.jpg, width: 0}"), "image.width", "from 1"),
        ("articles/x.md", md(VALID + "\nimage: {url: a.jpg, height: '9'}"), "image.height", ""),
        ("articles/x.md", md(VALID + "\nimage: {url: a.jpg, width: 1.5}"), "image.width", ""),
        ("articles/x.md", md(VALID + "\nimage: {url: a.jpg, credit: [a]}"), "image.credit", "text"),
        (
            "articles/x.md",
            md(VALID + "\nimage: {url: a.jpg, captoin: x}"),
            "image.captoin",
            "caption",
        ),
        ("articles/x.md", md(VALID + "\nsources: [{url: 'https://a.b/'}]"), "sources[0].name", ""),
        ("articles/Bad_Slug.md", md(VALID), "slug", "lowercase letters"),
        ("articles/x.txt", md(VALID), "file", ".md or .json"),
        ("articles/x.md", b"---\ntitle: caf\xe9\n---\n", "file", "byte 0xe9 at offset 14"),
        ("articles/x.json", b"{not json", "file", "invalid JSON at line 1"),
        ("articles/x.json", b"[1, 2]", "file", "JSON object"),
        (
            "articles/x.json",
            b'{"title": "T", "published": "2024-01-01", "body_html": "a", "body_markdown": "b"}',
            "body_html",
            "only one",
        ),
        ("articles/x.json", b'{"title": "T", "published": "2024-01-01", "body": "x"}', "body", ""),
    ],
)
def test_bad_input_gets_a_clear_error(
    site: SiteConfig, key: str, data: bytes, field: str, words: str
) -> None:
    error = rejected(key, data, site)
    assert error.key == key
    assert error.field == field
    assert words in str(error)
    assert str(error).startswith(f"{key}: {field}: ")
    assert ", expected " in str(error)


def test_too_many_tags_or_authors_are_rejected(site: SiteConfig) -> None:
    tags = ", ".join(f"t{i}" for i in range(31))
    error = rejected("articles/tagged.md", md(VALID + f"\ntags: [{tags}]"), site)
    assert (error.field, error.expected) == ("tags", "at most 30")
    names = ", ".join(f"Writer {i}" for i in range(11))
    error = rejected("articles/crowd.md", md(VALID + f"\nauthors: [{names}]"), site)
    assert (error.field, error.expected) == ("authors", "at most 10")
    thirty = ", ".join(f"t{i}" for i in range(30))
    assert len(parse_article("articles/ok.md", md(VALID + f"\ntags: [{thirty}]"), site).tags) == 30


def test_body_over_one_mebibyte_is_rejected(site: SiteConfig) -> None:
    error = rejected("articles/huge.md", md(VALID, "x" * (MAX_BODY_BYTES + 1)), site)
    assert error.field == "body"


def test_tags_become_safe_path_slugs(site: SiteConfig) -> None:
    article = parse_article(
        "articles/t.md",
        md(VALID + "\ntags: [Café Society, ../../etc/passwd, 日本, 'cafe society', 2024]"),
        site,
    )
    slugs = [t.slug for t in article.tags]
    assert slugs[:2] == ["cafe-society", "etc-passwd"]
    assert slugs[2].startswith("tag-") and len(slugs[2]) == 14
    assert slugs[3] == "2024"  # "cafe society" shares Café Society's folder: kept once
    assert all("/" not in s and "." not in s for s in slugs)


def test_duplicate_ids_reject_the_second_article_only(site: SiteConfig) -> None:
    shared_id = "\nid: urn:uuid:00000000-0000-0000-0000-000000000001"
    articles, errors = read_articles(
        [
            ("articles/b.md", md(VALID + shared_id)),
            ("articles/a.md", md(VALID + shared_id)),
            ("articles/c.md", md(VALID)),
            ("articles/c.json", b'{"title": "T", "published": "2024-01-01", "body_html": "B"}'),
        ],
        site,
    )
    assert [a.key for a in articles] == ["articles/a.md", "articles/c.json"]
    assert [(e.key, e.field) for e in errors] == [("articles/b.md", "id"), ("articles/c.md", "id")]
    assert "already the id of articles/a.md" in str(errors[0])


def test_bad_articles_never_stop_the_good_ones(site: SiteConfig) -> None:
    articles, errors = read_articles(
        [
            ("articles/good.md", md(VALID)),
            ("articles/bad.md", b"\xff\xfe"),
            ("articles/worse.md", b""),
        ],
        site,
    )
    assert [a.slug for a in articles] == ["good"]
    assert {e.key for e in errors} == {"articles/bad.md", "articles/worse.md"}


@given(st.text(alphabet="ab./-", max_size=12))
def test_a_keys_stem_and_suffix_are_those_of_its_path(key: str) -> None:
    path = PurePosixPath(key)

    assert _stem_and_suffix(key) == (path.stem, path.suffix)


def test_nesting_too_deep_for_the_json_parser_is_rejected(site: SiteConfig) -> None:
    nested = "[" * 2000 + "]" * 2000
    data = f'{{"title": "T", "published": "2024-01-01", "summary": {nested}}}'.encode()

    error = rejected("articles/deep.json", data, site)

    assert error.field == "file"
    assert "nested" in error.problem


@pytest.mark.parametrize(
    ("key", "front", "field"),
    [
        (f"articles/{'a' * 1000}.md", VALID, "slug"),
        (f"articles/{'a' * (MAX_SLUG_CHARS + 1)}.md", VALID, "slug"),
        ("articles/x.md", VALID + f"\nid: urn:x:{'a' * 1000}", "id"),
        # Bytes, not characters: the index's keys are limited in UTF-8 bytes.
        ("articles/x.md", VALID + f"\nid: urn:x:{'é' * (MAX_ID_BYTES // 2)}", "id"),
    ],
)
def test_a_slug_or_id_too_long_for_the_index_is_rejected(
    site: SiteConfig, key: str, front: str, field: str
) -> None:
    error = rejected(key, md(front), site)

    assert [problem.field for problem in error.problems] == [field]
    # an id is limited in UTF-8 bytes (the index's keys), a slug in characters
    assert ("bytes" if field == "id" else "characters") in error.problem


@pytest.mark.parametrize("size", [MAX_KEY_BYTES + 1, 1024])
def test_a_key_too_long_for_the_index_is_rejected_however_short_its_slug(
    site: SiteConfig, size: int
) -> None:
    head, tail = "articles/", "/story.md"
    room = size - len(head) - len(tail)
    key = head + "é" * (room // 2) + "a" * (room % 2) + tail  # bytes, not characters

    error = rejected(key, md(VALID + "\nid: urn:x:1"), site)

    assert [problem.field for problem in error.problems] == ["file"]
    assert str(error).startswith(f"{key}: file: key is {size} bytes long in UTF-8")
    assert error.expected == f"a key (folders and file name) of at most {MAX_KEY_BYTES} bytes"


def test_the_longest_slug_and_id_are_accepted(site: SiteConfig) -> None:
    slug = "a" * MAX_SLUG_CHARS
    article_id = "urn:x:" + "é" * ((MAX_ID_BYTES - 6) // 2)
    article = parse_article(f"articles/{slug}.md", md(VALID + f"\nid: {article_id}"), site)

    assert (article.slug, article.id) == (slug, article_id)


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "T", "published": "2024-01-01"},
        {"title": "T", "published": "2024-01-01", "body_markdown": ""},
        {"title": "T", "published": "2024-01-01", "body_html": "  \n"},
    ],
)
def test_a_json_article_without_a_body_is_rejected(
    site: SiteConfig, fields: dict[str, str]
) -> None:
    error = rejected("articles/empty.json", json.dumps(fields).encode(), site)

    assert error.field == "body"
    assert "body_markdown or body_html" in error.expected


@pytest.mark.parametrize("slug", ["story\n", "story\r", "\nstory", "sto\nry", "story\x00"])
def test_a_slug_with_a_line_break_is_rejected(site: SiteConfig, slug: str) -> None:
    assert not is_valid_slug(slug)
    assert rejected(f"articles/{slug}.md", md(VALID), site).field == "slug"


def _alias_bomb(levels: int) -> str:
    """A flow list whose last item expands to 9**levels strings, written in a few hundred
    bytes."""
    names = "abcdefghij"
    parts = ["&a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    parts += [f"&{names[i]} [{', '.join([f'*{names[i - 1]}'] * 9)}]" for i in range(1, levels)]
    return f"[{', '.join(parts)}]"


@pytest.mark.parametrize("field", ["draft", "tags", "summary", "image"])
def test_a_yaml_alias_bomb_is_rejected_with_a_short_message(site: SiteConfig, field: str) -> None:
    data = md(f"title: T\npublished: 2024-01-01\n{field}: {_alias_bomb(8)}")
    assert len(data) < 600

    error = rejected("articles/bomb.md", data, site)

    assert error.field == "front matter"
    assert "alias" in error.problem
    assert len(str(error)) < 1000


@pytest.mark.parametrize(
    ("key", "data"),
    [
        ("articles/x.md", md(VALID + "\ndraft: [" + ", ".join(["x" * 1000] * 100) + "]")),
        ("articles/x.md", md(VALID + "\ntags: [[" + "x" * 100_000 + "]]")),
        ("articles/x.md", md(VALID + "\npublished: " + "x" * 100_000)),
        ("articles/x.md", md(VALID + "\nid: '" + "x " * 50_000 + "'")),
        ("articles/x.json", json.dumps({"x" * 100_000: 1}).encode()),
    ],
)
def test_a_message_quotes_little_of_a_long_value(site: SiteConfig, key: str, data: bytes) -> None:
    assert len(str(rejected(key, data, site))) < 1000


def test_every_problem_of_an_article_is_reported_at_once(site: SiteConfig) -> None:
    front = (
        "titel: A title\npublished: next Tuesday\ndraft: maybe\n"
        "tags: [World, '']\nauthors: [{name: Ann, email: nope}]\nimage: {alt: x}"
    )

    error = rejected("articles/Bad_Slug.md", md(front), site)

    fields = [problem.field for problem in error.problems]
    assert fields == [
        "slug",
        "titel",
        "title",
        "published",
        "authors[0].email",
        "tags[1]",
        "image.url",
        "draft",
    ]
    lines = str(error).splitlines()
    assert len(lines) == len(fields)
    for line, problem in zip(lines, error.problems, strict=True):
        assert line == f"articles/Bad_Slug.md: {problem}"
        assert ", expected " in line
    assert (error.field, error.problem, error.expected) == (
        "slug",
        error.problems[0].problem,
        error.problems[0].expected,
    )


def test_every_problem_survives_pickling(site: SiteConfig) -> None:
    error = rejected("articles/x.md", md("title: ''\npublished: never"), site)

    copy = pickle.loads(pickle.dumps(error))

    assert copy.problems == error.problems
    assert str(copy) == str(error)


def test_a_file_over_the_size_limit_is_refused_with_its_size(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    with path.open("wb") as sparse:
        sparse.truncate(MAX_FILE_BYTES + 1)

    error = read_article_file(str(path))

    assert isinstance(error, InvalidArticleError)
    assert (error.field, error.problem) == ("file", f"{MAX_FILE_BYTES + 1} bytes is too large")


#: JSON values, some long (texts and lists made long cheaply: drawing them is slow).
_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=10)
    | st.integers(0, 5000).map(lambda n: "x\n" * n)
    | st.integers(0, 5000).map(lambda n: ["item"] * n),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "title",
                "published",
                "authors",
                "tags",
                "image",
                "id",
                "draft",
                "body_html",
                "x" * 500,
            ]
        ),
        _JSON_VALUES,
    )
)
def test_any_json_article_is_read_or_rejected_in_short_lines(fields: dict[str, object]) -> None:
    site = make_site()
    try:
        parse_article("articles/any.json", json.dumps(fields).encode(), site)
    except InvalidArticleError as error:
        lines = str(error).splitlines()
        assert len(lines) == len(error.problems)
        assert all(len(line) < 1500 for line in lines)


def test_an_endless_file_is_read_no_further_than_the_size_limit() -> None:
    error = read_article_file("/dev/zero")  # what a link named like an article may point to

    assert isinstance(error, InvalidArticleError)
    assert error.field == "file"
    assert "too large" in error.problem


def test_a_key_is_measured_from_articles_wherever_the_content_folder_is(
    site: SiteConfig,
) -> None:
    # the same file is published by the bucket, so a long path to the folder must not refuse it
    name = "é" * ((MAX_KEY_BYTES - len("articles//story.md")) // 2)
    relative = f"articles/{name}/story.md"
    for folder in ("content", "/tmp/" + "deep/" * 40 + "content"):
        article = parse_article(f"{folder}/{relative}", md(VALID), site)
        assert article.slug == "story"
