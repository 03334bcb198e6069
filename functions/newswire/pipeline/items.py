"""Feed items rendered from entries, the last ones kept (:mod:`newswire.pipeline.kept`): a
warm function renders the same newest entries for every change to the main feed."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from newswire.domain.feeds import FeedFormat
from newswire.domain.model import Entry
from newswire.domain.partners import Partner
from newswire.pipeline.kept import Kept
from newswire.rendering.partners import render_partner_item
from newswire.rendering.registry import render_items

#: Bytes of rendered items a process keeps (:func:`items_of`).
RENDERED_BUDGET = 96 * 1024 * 1024


def items_of(entry: Entry) -> list[bytes]:
    """:func:`render_items`; the items rendered last are kept (:mod:`newswire.pipeline.kept`):
    an entry equal to one rendered before has the same items."""
    return _rendered.get(entry, render_items)


def _items_bytes(entry: Entry, items: list[bytes]) -> int:
    """About what kept items take: their bytes, and the entry they are kept by."""
    return sum(map(len, items)) + sys.getsizeof(entry.content_html) + 4096


_rendered: Kept[Entry, list[bytes]] = Kept(RENDERED_BUDGET, _items_bytes)


def partner_item_of(entry: Entry, partner: Partner) -> bytes:
    """:func:`render_partner_item`, kept like :func:`items_of`: every change rebuilds the
    main feed, and so the partner feeds of the same newest entries."""
    return _partner_rendered.get((entry, partner), _render_partner_item)


def _render_partner_item(key: tuple[Entry, Partner]) -> bytes:
    return render_partner_item(*key)


def _partner_item_bytes(key: tuple[Entry, Partner], item: bytes) -> int:
    """About what a kept partner item takes: its bytes, and the entry it is kept by (as
    :func:`_items_bytes` counts it)."""
    return _items_bytes(key[0], [item])


_partner_rendered: Kept[tuple[Entry, Partner], bytes] = Kept(
    RENDERED_BUDGET // 4, _partner_item_bytes
)


def columns(entries: Sequence[Entry]) -> dict[FeedFormat, list[bytes]]:
    """Every format's items of ``entries``, in their order."""
    columns: dict[FeedFormat, list[bytes]] = {fmt: [] for fmt in FeedFormat}
    for entry in entries:
        for fmt, item in zip(FeedFormat, items_of(entry), strict=True):
            columns[fmt].append(item)
    return columns
