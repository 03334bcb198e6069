"""Reading one article file into a validated :class:`~newswire.domain.model.Article`.

An article is ``articles/<slug>.md`` (YAML front matter, then Markdown) or
``articles/<slug>.json`` (the same fields, the body as ``body_markdown`` or ``body_html``).
Everything a writer can get wrong becomes an :class:`InvalidArticleError` naming the file, the
field and what was expected; nothing else is raised for bad input. Each field is read by
:class:`~newswire.content.fields.FieldReader`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import PurePosixPath
from typing import Any

import yaml

from newswire.content.fields import FieldReader, has_white_space, kind
from newswire.content.yamlio import describe_yaml_error, load_yaml
from newswire.domain.model import Article, BodyFormat, Correction, SiteConfig, Tag, rfc3339
from newswire.domain.slugs import is_valid_slug
from newswire.errors import InvalidArticleError, quoted

#: A body larger than this is refused: no feed reader wants it and it would blow feed budgets.
MAX_BODY_BYTES = 1024 * 1024
#: Files larger than this are refused before decoding, so a stray video cannot eat the memory.
MAX_FILE_BYTES = 2 * MAX_BODY_BYTES

#: The index keys an article by ``<published>#<id>`` and ``<published>#<key>`` (DynamoDB
#: allows 1,024 bytes in a sort key), and S3 its report by ``_reports/<key>.json`` (1,024 bytes
#: in a key); a local file name has at most 255. These leave room for every prefix and suffix.
MAX_SLUG_CHARS = 200
MAX_ID_BYTES = 512
#: An absolute URI: a scheme (RFC 3986, 3.1), a colon, then something.
_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:.")
#: The longest key (folders included) in UTF-8 bytes: a scheduled article's ``due`` item is
#: sorted by ``<published>#<key>`` (a 27-character time, then ``#``) within those 1,024 bytes.
MAX_KEY_BYTES = 1024 - len("2026-01-01T00:00:00.000000Z#")

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
JSON_SUFFIXES = frozenset({".json"})
ARTICLE_SUFFIXES = MARKDOWN_SUFFIXES | JSON_SUFFIXES

_COMMON_FIELDS = frozenset(
    {
        "title",
        "published",
        "updated",
        "summary",
        "authors",
        "tags",
        "section",
        "image",
        "canonical_url",
        "id",
        "sources",
        "draft",
        "corrections",
        "withdrawn",
        "expires",
    }
)
_JSON_FIELDS = _COMMON_FIELDS | {"body_markdown", "body_html"}
_EXPECTED_NESTING = "fields nested no deeper than a list of mappings"
_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


def _stem_and_suffix(key: str) -> tuple[str, str]:
    """``PurePosixPath(key)``'s ``stem`` and ``suffix``, without making a path per file."""
    name = key.rpartition("/")[2]
    if name in ("", "."):  # a path ending in "/" or "/.": its last real part is the name
        path = PurePosixPath(key)
        return path.stem, path.suffix
    dot = name.rfind(".")
    if 0 < dot < len(name) - 1:
        return name[:dot], name[dot:]
    return name, ""


#: How long after its last change a file's stat signature is trusted (the coarsest file
#: system time resolution, FAT's 2 s).
SETTLED_NS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class ArticleFile:
    """An article file on disk, read only when its bytes are needed.

    ``signature`` is what ``stat`` says of it (size, modification and change times in ns,
    inode): the build cache takes a file with the same signature as the one it parsed for
    unchanged, without reading it, as make and git do. The change time cannot be set back by
    any tool, so an edited file always shows a new signature.
    """

    key: str
    signature: tuple[int, int, int, int]

    @classmethod
    def at(cls, path: str) -> ArticleFile:
        """The file at ``path`` (its key), as it is now."""
        stat = os.stat(path)  # noqa: PTH116 - one syscall for thousands of files
        return cls(path, (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino))

    def settled(self, now_ns: int, after_ns: int = SETTLED_NS) -> bool:
        """Say whether the file last changed long enough (``after_ns``) before ``now_ns`` for
        its signature to be trusted later.

        A file system may keep times in whole seconds (or two): a file written again within
        that time, at the same size, would show the same signature. Like git's "racy" rule,
        only a signature taken once the file's times are older than that is recorded; a file
        edited just before a build is read and hashed by the next one.
        """
        _, mtime_ns, ctime_ns, _ = self.signature
        return max(mtime_ns, ctime_ns) < now_ns - after_ns

    def read(self) -> bytes | InvalidArticleError:
        """The file's bytes, or why they cannot be read (see :func:`read_article_file`)."""
        return read_article_file(self.key)


#: An article file as a build is given it: ``(key, bytes)``, or an :class:`ArticleFile` read
#: only when needed (not at all if the build cache can vouch for it).
ArticleInput = tuple[str, bytes] | ArticleFile


def read_article_file(path: str) -> bytes | InvalidArticleError:
    """The bytes of the article file at ``path``, or why they cannot be read.

    A file that cannot be read (no permission, or deleted since it was listed) is reported
    like any other bad article, and the others are still published; so is one larger than
    :data:`MAX_FILE_BYTES`, read no further than that.
    """
    try:
        # os-level calls: no buffered file object (and its isatty and seek calls) for one
        # read of a few kilobytes, once per article of a build.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            chunks = []
            read = 0
            while chunk := os.read(fd, _READ_SIZE):
                chunks.append(chunk)
                read += len(chunk)
                if read > MAX_FILE_BYTES:  # never read whole: it could be gigabytes, or endless
                    too_large = oversized_file(path, max(read, os.fstat(fd).st_size))
                    assert too_large is not None
                    return too_large
        finally:
            os.close(fd)
    except OSError as e:
        return InvalidArticleError(
            path, "file", f"cannot be read ({e.strerror})", "an article file newswire may read"
        )
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


#: Bytes asked for per read: an article file in one.
_READ_SIZE = 1 << 16


def oversized_file(key: str, size: int) -> InvalidArticleError | None:
    """The rejection of an article file of ``size`` bytes if it is too large, else ``None``.

    Storage adapters ask before reading a file, so a stray video is refused by its size alone.
    """
    if size <= MAX_FILE_BYTES:
        return None
    return InvalidArticleError(
        key, "file", f"{size} bytes is too large", f"at most {MAX_BODY_BYTES} bytes of body"
    )


#: Where articles live, in the content bucket and in a content folder.
ARTICLES_PREFIX = "articles/"


def is_article_key(key: str) -> bool:
    """Say whether a path or S3 key names an article file (by its suffix)."""
    return _stem_and_suffix(key)[1].lower() in ARTICLE_SUFFIXES


def is_published_key(key: str) -> bool:
    """Say whether a content-bucket key is an article newswire publishes: an article file under
    ``articles/`` with no hidden file or folder on its way (an editor's ``.#x.md`` lock), as a
    build of the same folder and ``newswire serve`` skip them."""
    return (
        key.startswith(ARTICLES_PREFIX)
        and is_article_key(key)
        and not any(part.startswith(".") for part in key.split("/"))
    )


def _bucket_key(key: str) -> str:
    """The content bucket's key of an article path (``content/articles/x.md`` ->
    ``articles/x.md``), so a limit on keys judges a file the same wherever its folder is."""
    if key.startswith(ARTICLES_PREFIX):
        return key
    start = key.find(f"/{ARTICLES_PREFIX}")
    return key[start + 1 :] if start >= 0 else key


def parse_article(key: str, data: bytes, site: SiteConfig) -> Article:
    """Validate and parse one article file.

    Args:
        key: the file's path or S3 key, e.g. ``articles/putin-appeal.md``; its stem is the slug.
        data: the file's bytes.
        site: the site configuration (time zone, default author, base URL).

    Returns:
        The article. Its body is not rendered yet.

    Raises:
        InvalidArticleError: anything about the file is wrong; it names every problem found
            (a file too broken to read further, e.g. invalid YAML, stops at that problem).
    """
    reader = FieldReader(key, site.timezone)
    slug, suffix = _stem_and_suffix(key)
    if not is_valid_slug(slug):
        reader.report(
            "slug",
            f"file name {quoted(slug)} is not a valid slug",
            "lowercase letters, digits and single hyphens, such as putin-urges-talks.md",
        )
    elif len(slug) > MAX_SLUG_CHARS:
        reader.report("slug", f"has {len(slug)} characters", f"at most {MAX_SLUG_CHARS}")
    key_bytes = len(_bucket_key(key).encode("utf-8", "replace"))
    if key_bytes > MAX_KEY_BYTES and len(slug) <= MAX_SLUG_CHARS:  # else the slug is why
        reader.report(
            "file",
            f"key is {key_bytes} bytes long in UTF-8",
            f"a key (folders and file name) of at most {MAX_KEY_BYTES} bytes",
        )
    suffix = suffix.lower()
    if suffix not in ARTICLE_SUFFIXES:
        raise reader.error("file", f"unknown file type {quoted(suffix)}", "a .md or .json file")
    if (too_large := oversized_file(key, len(data))) is not None:
        raise reader.error(too_large.field, too_large.problem, too_large.expected)
    text = reader.decode(data)
    if suffix in JSON_SUFFIXES:
        fields, body, body_format = _split_json(reader, text)
    else:
        fields, body, body_format = _split_markdown(reader, text)
    return _build_article(
        reader, slug=slug, fields=fields, body=body, body_format=body_format, site=site
    )


def read_articles(
    sources: Iterable[tuple[str, bytes]], site: SiteConfig
) -> tuple[list[Article], list[InvalidArticleError]]:
    """Parse every article; a bad one is reported and never stops the others.

    Two articles with the same id would be one entry to every reader, so the second one (in
    key order) is rejected, naming the first.

    Args:
        sources: ``(key, bytes)`` pairs, e.g. from a folder or a bucket listing.
        site: the site configuration.

    Returns:
        The valid articles in key order, and the rejections.
    """
    return claim_ids(
        _parse_or_error(key, data, site) for key, data in sorted(sources, key=lambda pair: pair[0])
    )


def claim_ids(
    parsed: Iterable[Article | InvalidArticleError],
) -> tuple[list[Article], list[InvalidArticleError]]:
    """Split parse results (in key order) into articles and rejections, ids claimed first-come.

    The second article (in key order) with an id already taken is rejected, naming the first.
    Kept apart from parsing so a build can parse in parallel, or reuse cached parses, and still
    judge ids over the whole corpus.
    """
    articles: list[Article] = []
    rejected: list[InvalidArticleError] = []
    owners: dict[str, str] = {}
    for result in parsed:
        if isinstance(result, InvalidArticleError):
            rejected.append(result)
            continue
        key = result.key
        owner = owners.setdefault(result.id, key)
        if owner != key:
            rejected.append(
                InvalidArticleError(
                    key,
                    "id",
                    f"{quoted(result.id)} is already the id of {owner}",
                    "an id (or, without one, a slug) that no other article has",
                )
            )
            continue
        articles.append(result)
    return articles, rejected


def _parse_or_error(key: str, data: bytes, site: SiteConfig) -> Article | InvalidArticleError:
    try:
        return parse_article(key, data, site)
    except InvalidArticleError as e:
        return e


def _split_markdown(reader: FieldReader, text: str) -> tuple[dict[str, Any], str, BodyFormat]:
    lines = text.split("\n", 1)
    if lines[0].rstrip() != "---" or len(lines) == 1:
        raise reader.error(
            "front matter",
            "the file does not start with a '---' line",
            "YAML front matter between two '---' lines",
        )
    end = _FRONT_MATTER_END.search(lines[1])
    if end is None:
        raise reader.error(
            "front matter", "no closing '---' line", "YAML front matter closed by a '---' line"
        )
    yaml_text = lines[1][: end.start()]
    body = lines[1][end.end() :].lstrip("\n")
    try:
        fields = load_yaml(yaml_text)
    except yaml.YAMLError as e:
        raise reader.error(
            "front matter", describe_yaml_error(e, line_offset=1), "valid YAML"
        ) from e
    except RecursionError as e:  # the pure-Python parser, where libyaml is missing
        raise reader.error("front matter", "is nested too deeply", _EXPECTED_NESTING) from e
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise reader.error("front matter", f"is a {kind(fields)}", "a mapping of field: value")
    reader.check_unknown(fields, _COMMON_FIELDS)
    return fields, body, BodyFormat.MARKDOWN


def _split_json(reader: FieldReader, text: str) -> tuple[dict[str, Any], str, BodyFormat]:
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as e:
        raise reader.error(
            "file", f"invalid JSON at line {e.lineno}, column {e.colno} ({e.msg})", "a JSON object"
        ) from e
    except RecursionError as e:  # json recurses in C, one level per nested value
        raise reader.error("file", "is nested too deeply", _EXPECTED_NESTING) from e
    except ValueError as e:  # a number of more than 4,300 digits, which int() refuses
        raise reader.error("file", f"invalid JSON ({e})", "a JSON object") from e
    if not isinstance(fields, dict):
        raise reader.error("file", f"is a JSON {kind(fields)}", "a JSON object of field: value")
    reader.check_unknown(fields, _JSON_FIELDS)
    has_md, has_html = "body_markdown" in fields, "body_html" in fields
    if has_md and has_html:
        reader.report("body_html", "both body_markdown and body_html are given", "only one of them")
    body_field = "body_html" if has_html else "body_markdown"
    found = len(reader.problems)
    body = reader.text(fields, body_field, required=False) or ""
    if not body and len(reader.problems) == found:  # absent or blank, not of the wrong type
        reader.report(
            "body",
            "is missing" if fields.get(body_field) is None else f"{body_field} is empty",
            "the article's text in body_markdown or body_html",
        )
    return fields, body, BodyFormat.HTML if has_html else BodyFormat.MARKDOWN


def _build_article(
    reader: FieldReader,
    *,
    slug: str,
    fields: Mapping[str, Any],
    body: str,
    body_format: BodyFormat,
    site: SiteConfig,
) -> Article:
    """The article of ``fields`` and ``body``, once every field is read and checked.

    Raises:
        InvalidArticleError: every problem found, in this file's fields and before.
    """
    _check_body_size(reader, body)
    title = reader.text(fields, "title", required=True)
    published = reader.datetime(fields, "published", required=True)
    updated = reader.datetime(fields, "updated", required=False)
    default_url = site.article_url(slug)
    canonical_url = reader.url(fields, "canonical_url") or default_url
    article_id = reader.text(fields, "id", required=False) or default_url
    _check_id(reader, article_id)
    authors = reader.items(fields, "authors", reader.person) or (site.author,)
    tags = _unique_tags(reader.items(fields, "tags", reader.tag))
    summary = reader.text(fields, "summary", required=False)
    section = reader.text(fields, "section", required=False)
    image = reader.image(fields)
    sources = reader.items(fields, "sources", reader.source)
    draft = reader.boolean(fields, "draft")
    corrections = reader.items(
        fields, "corrections", partial(reader.correction, published=published)
    )
    _check_corrections(reader, corrections, published)
    withdrawn = reader.withdrawal(fields, published)
    expires = reader.expiry(fields, published)
    if reader.problems:
        raise reader.rejection()
    assert title is not None and published is not None  # else a problem was reported
    return Article(
        key=reader.key,
        slug=slug,
        id=article_id,
        title=title,
        published=published,
        updated=updated,
        summary=summary,
        authors=authors,
        tags=tags,
        section=section,
        image=image,
        canonical_url=canonical_url,
        sources=sources,
        draft=draft,
        body=body,
        body_format=body_format,
        corrections=corrections,
        withdrawn=withdrawn.reason if withdrawn else None,
        expires=expires,
        withdrawn_at=withdrawn.date if withdrawn else None,
    )


def _check_body_size(reader: FieldReader, body: str) -> None:
    """A body over :data:`MAX_BODY_BYTES` in UTF-8 is refused."""
    # A character is at most 4 bytes in UTF-8: most bodies need no encoding to be measured.
    if len(body) > MAX_BODY_BYTES // 4 and len(body.encode("utf-8")) > MAX_BODY_BYTES:
        reader.report("body", "is larger than 1 MiB", f"at most {MAX_BODY_BYTES} bytes")


def _check_corrections(
    reader: FieldReader, corrections: tuple[Correction, ...], published: datetime | None
) -> None:
    """A correction dated before the article was published is a mistyped date. (Numbered as
    written only when none was dropped for a problem of its own.)"""
    if any(problem.field.startswith("corrections") for problem in reader.problems):
        return
    for number, correction in enumerate(corrections):
        if published is not None and correction.date < published:
            reader.report(
                f"corrections[{number}].date",
                f"{rfc3339(correction.date)} is before published ({rfc3339(published)})",
                "the date of the correction, at or after published",
            )


def _check_id(reader: FieldReader, article_id: str) -> None:
    """An id is an absolute URI that fits the index's keys (see :data:`MAX_ID_BYTES`).

    Atom's ``<id>`` must be an absolute IRI (RFC 4287, 4.2.6), so an id without a scheme
    would make every Atom feed holding the article invalid.
    """
    if has_white_space(article_id):
        reader.report(
            "id", f"{quoted(article_id)} contains white space", "a URI such as urn:uuid:… or a URL"
        )
    elif not _ABSOLUTE_URI.match(article_id):
        reader.report(
            "id",
            f"{quoted(article_id)} is not an absolute URI (no scheme such as urn: or https:)",
            "a URI such as urn:uuid:… or a URL",
        )
    elif (id_bytes := len(article_id.encode("utf-8", "replace"))) > MAX_ID_BYTES and not any(
        problem.field == "slug"
        for problem in reader.problems  # the default id's own cause
    ):
        reader.report(
            "id",
            f"{quoted(article_id)} is {id_bytes} bytes long in UTF-8",
            f"at most {MAX_ID_BYTES} bytes (without an id: a shorter slug)",
        )


def _unique_tags(tags: tuple[Tag, ...]) -> tuple[Tag, ...]:
    """Drop tags that land in the same feed folder ("Café" and "cafe"), keeping the first."""
    seen: dict[str, Tag] = {}
    for tag in tags:
        seen.setdefault(tag.slug, tag)
    return tuple(seen.values())
