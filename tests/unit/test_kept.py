"""What a warm function keeps between invocations stays within its byte budget."""

from __future__ import annotations

import sys

from newswire.domain.partners import Partner
from newswire.pipeline import items
from newswire.pipeline.kept import Kept
from tests.support.factories import make_entry


def sized(key: str, value: bytes) -> int:
    return len(value)


def test_a_value_kept_is_not_made_again() -> None:
    kept: Kept[str, bytes] = Kept(1000, sized)
    made: list[str] = []

    def make(key: str) -> bytes:
        made.append(key)
        return key.encode() * 4

    assert kept.get("a", make) == b"aaaa"
    assert kept.get("a", make) == b"aaaa"
    assert made == ["a"]


def test_the_least_recently_used_go_first_once_over_budget() -> None:
    kept: Kept[str, bytes] = Kept(64 * 10, sized)
    for key in "abcdefghij":
        kept.get(key, lambda k: b"x" * 64)
    kept.get("a", lambda k: b"never made")  # used again: now the most recent
    kept.get("k", lambda k: b"y" * 64)  # over budget: "b" goes, not "a"
    made: list[str] = []
    for key in "ab":
        kept.get(key, lambda k: made.append(k) or b"z" * 64)  # type: ignore[func-returns-value]
    assert made == ["b"]
    assert kept.total <= kept.budget


def test_a_value_too_large_for_its_share_is_made_each_time_and_never_kept() -> None:
    kept: Kept[str, bytes] = Kept(64 * 100, sized)
    for _ in range(3):
        assert kept.get("huge", lambda k: b"x" * 1000) == b"x" * 1000
    assert kept.total == 0


def test_a_kept_partner_item_counts_the_entry_it_keeps_alive() -> None:
    # The key holds the whole entry, body and all: a budget of items alone would let a warm
    # function keep twice the memory it means to.
    entry = make_entry(1, slug="kept-partner-item", content_html="<p>" + "ferry " * 16_000 + "</p>")
    before = items._partner_rendered.total

    item = items.partner_item_of(entry, Partner.FLIPBOARD)

    kept = items._partner_rendered.total - before
    assert kept >= len(item) + sys.getsizeof(entry.content_html)
