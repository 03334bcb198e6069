"""One error family for newswire.

Every error a user can cause carries the object it is about (the article's path or key, the
field) so the message can say which file, which field and what was expected. Third-party errors
are wrapped once, at the adapter that met them, with ``raise ... from e``.
"""

from __future__ import annotations

import json
import re
import reprlib
from collections.abc import Sequence
from dataclasses import dataclass

#: The most characters a message quotes of a value, or keeps of any one part: a writer needs to
#: recognise the value, and a hostile file (a YAML alias bomb) must not make a gigabyte message.
MAX_QUOTED_CHARS = 80
MAX_PART_CHARS = 400


def _quoter() -> reprlib.Repr:
    quoter = reprlib.Repr()
    quoter.maxstring = quoter.maxother = quoter.maxlong = MAX_QUOTED_CHARS
    quoter.maxlevel = 3
    quoter.maxlist = quoter.maxtuple = quoter.maxdict = quoter.maxset = 6
    return quoter


_QUOTER = _quoter()


def quoted(value: object) -> str:
    """``repr(value)``, cut short, for any message that quotes what a writer wrote.

    reprlib never looks further into a value than it shows, so quoting a list that aliases
    expand to millions of items costs no more than quoting a short one.
    """
    return _QUOTER.repr(value)


def shortened(text: str, limit: int = MAX_PART_CHARS) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: What ``str.splitlines`` breaks a line on: a problem's parts must each stay on one line.
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def _one_line(text: str) -> str:
    """``text`` with each line break written as its escape (``\\n``), as ``repr`` would."""
    return _LINE_BREAKS.sub(lambda found: repr(found[0])[1:-1], text)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file: the field at fault, what was wrong, what was expected.

    Each part is cut short (see :func:`shortened`) and kept on one line, whatever built it.
    """

    field: str
    problem: str
    expected: str

    def __post_init__(self) -> None:
        for name in ("field", "problem", "expected"):
            object.__setattr__(self, name, _one_line(shortened(getattr(self, name))))

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}, expected {self.expected}"


def _lines(key: str, problems: tuple[Problem, ...]) -> str:
    """The message of ``problems``: one ``key: field: …`` line each (``key: `` of the first
    left to :class:`ArticleError`)."""
    return f"\n{_one_line(key)}: ".join(map(str, problems))


class NewswireError(Exception):
    """Root of every error newswire raises on purpose."""


class ArticleError(NewswireError):
    """Something is wrong with one article.

    Args:
        key: the article's path (CLI) or S3 key (pipeline): what the writer can find and fix.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{_one_line(key)}: {message}")
        self.key = key


class InvalidArticleError(ArticleError, ValueError):
    """An article was rejected: it will not be published until its file is fixed.

    Retrying cannot help, so the pipeline reports it instead of retrying. It carries every
    problem found in the file, so a writer fixes them all in one go; its message has a line
    per problem, and ``field``, ``problem`` and ``expected`` are those of the first.

    Args:
        key: the article's path or S3 key.
        field: the front-matter field at fault (``body``, ``file`` for the whole file).
        problem: what was wrong, in the writer's terms.
        expected: what would have been accepted.
        more: the file's other problems, in the order found.
    """

    def __init__(self, key: str, field: str, problem: str, expected: str, *more: Problem) -> None:
        self.problems = (Problem(field, problem, expected), *more)
        super().__init__(key, _lines(key, self.problems))
        first = self.problems[0]
        self.field, self.problem, self.expected = first.field, first.problem, first.expected

    @classmethod
    def of(cls, key: str, problems: Sequence[Problem]) -> InvalidArticleError:
        """The rejection of ``key`` for ``problems`` (at least one)."""
        first, *more = problems
        return cls(key, first.field, first.problem, first.expected, *more)

    def __reduce__(self) -> tuple[type[InvalidArticleError], tuple[str | Problem, ...]]:
        # Rejections travel from build workers and live in the build cache: pickle them by
        # their arguments (an exception's default is its message alone, which __init__ refuses).
        return (type(self), (self.key, self.field, self.problem, self.expected, *self.problems[1:]))


class ArticleNotFoundError(ArticleError, LookupError):
    """The article named by an event is gone (deleted since the event was sent)."""

    def __init__(self, key: str) -> None:
        super().__init__(key, "no such article")


class SiteConfigError(NewswireError, ValueError):
    """``site.yaml`` is invalid: nothing can be published until it is fixed.

    Like :class:`InvalidArticleError`, it carries every problem found, a line each.
    """

    def __init__(self, key: str, field: str, problem: str, expected: str, *more: Problem) -> None:
        self.problems = (Problem(field, problem, expected), *more)
        super().__init__(f"{_one_line(key)}: {_lines(key, self.problems)}")
        self.key = key
        self.field = self.problems[0].field

    @classmethod
    def of(cls, key: str, problems: Sequence[Problem]) -> SiteConfigError:
        """The rejection of ``site.yaml`` at ``key`` for ``problems`` (at least one)."""
        first, *more = problems
        return cls(key, first.field, first.problem, first.expected, *more)


def report_body(key: str, error: InvalidArticleError | SiteConfigError) -> bytes:
    """The JSON report of a rejected file, as the content bucket keeps it under ``_reports/``
    for the newsroom: its first problem, the whole message, and every problem."""
    first = error.problems[0]
    report = {
        "key": key,
        "field": first.field,
        "problem": first.problem,
        "expected": first.expected,
        "message": str(error),
        "problems": [
            {"field": p.field, "problem": p.problem, "expected": p.expected} for p in error.problems
        ],
    }
    return json.dumps(report, ensure_ascii=False, indent=2).encode()


class StorageError(NewswireError):
    """A storage backend failed in a way that is not the article's fault."""


class TransientStorageError(StorageError):
    """A failure that a retry may cure (throttling, 5xx, timeout)."""


class LogObjectMissingError(StorageError, LookupError):
    """A log object to count is gone: its lifecycle rule expired it (or someone deleted it),
    so a retry cannot bring its lines back.

    Args:
        uri: the object, ``s3://bucket/key``.
    """

    def __init__(self, uri: str) -> None:
        super().__init__(f"{uri}: no such log object (expired or deleted): nothing to count")
        self.uri = uri


class ConcurrentUpdateError(StorageError):
    """A conditional write lost a race: re-read, re-render and try again."""


class DirectoryFormatError(StorageError):
    """The published ``directory.json`` is in a format newer than this code writes: it is
    left as it is (rewriting it would drop what this code cannot read) until the newer
    newswire runs again, or the file is removed and a reindex lists every feed."""
