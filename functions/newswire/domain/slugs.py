"""Turning names into safe URL path segments."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

#: A whole slug (use ``fullmatch``: ``$`` would also match before a final line break).
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=16384)  # a corpus repeats a few hundred tag and author names
def slugify(name: str, *, fallback_prefix: str = "x") -> str:
    """Make a lowercase ASCII slug of letters, digits and single hyphens.

    Accents are folded ("Café Society" gives ``cafe-society``) so that a tag's URL is readable
    and the same whatever the writer's keyboard. A name with nothing left to keep (all
    punctuation, or a script with no ASCII folding) gets a stable hashed slug instead of an
    empty path segment, so no tag can escape its folder or collide with "".

    Args:
        name: the display name of a tag, section or author.
        fallback_prefix: prefix for the hashed slug, e.g. ``tag`` gives ``tag-1a2b3c4d``.

    Returns:
        A string matching :data:`SLUG_PATTERN`.
    """
    folded = unicodedata.normalize("NFKD", name)
    ascii_only = folded.encode("ascii", "ignore").decode("ascii").lower()
    slug = _NOT_ALNUM.sub("-", ascii_only).strip("-")
    if slug:
        return slug[:80].rstrip("-")
    digest = hashlib.sha256(name.strip().casefold().encode("utf-8")).hexdigest()[:10]
    return f"{fallback_prefix}-{digest}"


def is_valid_slug(value: str) -> bool:
    """Say whether ``value`` is already a slug (used for article file names)."""
    return SLUG_PATTERN.fullmatch(value) is not None
