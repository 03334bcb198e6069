"""The pipeline's tombstones of deleted files and of ids given up, which a build (that never
saw the file, or its old id) lacks.

A deletion or an id change leaves an RFC 6721 ``<at:deleted-entry>`` with no
``<at:comment>`` (a withdrawal always gives its reason) in the main and archive Atom
documents. Tests that compare the
pipeline's feeds with a build take them out first, and check whose they were.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_DELETION = re.compile(rb'  <at:deleted-entry ref="([^"]+)" when="[^"]+"/>\n')
_DECLARATION = b' xmlns:at="http://purl.org/atompub/tombstones/1.0"'


def without_deletion_tombstones(
    feeds: Mapping[str, bytes],
) -> tuple[dict[str, bytes], set[str]]:
    """``feeds`` without the tombstones deletions left (and without the ``at`` namespace
    where no tombstone is left), and the ids they were of."""
    stripped: dict[str, bytes] = {}
    refs: set[str] = set()
    for path, body in feeds.items():
        if not path.endswith("atom.xml") or b"<at:deleted-entry" not in body:
            stripped[path] = body
            continue
        refs.update(ref.decode() for ref in _DELETION.findall(body))
        kept = _DELETION.sub(b"", body)
        stripped[path] = kept if b"<at:deleted-entry" in kept else kept.replace(_DECLARATION, b"")
    return stripped, refs
