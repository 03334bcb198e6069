"""One error family for newswire.

Every error a user can cause carries the object it is about (the article's path or key, the
field) so the message can say which file, which field and what was expected. Third-party errors
are wrapped once, at the adapter that met them, with ``raise ... from e``.
"""

from __future__ import annotations


class NewswireError(Exception):
    """Root of every error newswire raises on purpose."""


class ArticleError(NewswireError):
    """Something is wrong with one article.

    Args:
        key: the article's path (CLI) or S3 key (pipeline): what the writer can find and fix.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


class InvalidArticleError(ArticleError, ValueError):
    """An article was rejected: it will not be published until its file is fixed.

    Retrying cannot help, so the pipeline reports it instead of retrying.

    Args:
        key: the article's path or S3 key.
        field: the front-matter field at fault (``body``, ``file`` for the whole file).
        problem: what was wrong, in the writer's terms.
        expected: what would have been accepted.
    """

    def __init__(self, key: str, field: str, problem: str, expected: str) -> None:
        super().__init__(key, f"{field}: {problem}, expected {expected}")
        self.field = field
        self.problem = problem
        self.expected = expected

    def __reduce__(self) -> tuple[type[InvalidArticleError], tuple[str, str, str, str]]:
        # Rejections travel from build workers and live in the build cache: pickle them by
        # their arguments (an exception's default is its message alone, which __init__ refuses).
        return (type(self), (self.key, self.field, self.problem, self.expected))


class ArticleNotFoundError(ArticleError, LookupError):
    """The article named by an event is gone (deleted since the event was sent)."""

    def __init__(self, key: str) -> None:
        super().__init__(key, "no such article")


class SiteConfigError(NewswireError, ValueError):
    """``site.yaml`` is invalid: nothing can be published until it is fixed."""

    def __init__(self, key: str, field: str, problem: str, expected: str) -> None:
        super().__init__(f"{key}: {field}: {problem}, expected {expected}")
        self.key = key
        self.field = field


class StorageError(NewswireError):
    """A storage backend failed in a way that is not the article's fault."""


class TransientStorageError(StorageError):
    """A failure that a retry may cure (throttling, 5xx, timeout)."""


class ConcurrentUpdateError(StorageError):
    """A conditional write lost a race: re-read, re-render and try again."""
