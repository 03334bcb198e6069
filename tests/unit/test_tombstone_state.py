"""The tombstones an article's state keeps: each its own 30 days, bounded so the state item
fits DynamoDB's 400 KB beside the largest entry the index holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from newswire.adapters.dynamodb_layout import (
    state_tombstones,
    tombstone_attributes,
    tombstones_value,
)
from newswire.adapters.dynamodb_writes import TableWrites
from newswire.content.articles import MAX_ID_BYTES
from newswire.domain.model import MAX_REASON_CHARS, TOMBSTONE_DAYS, Tombstone
from newswire.pipeline.ports import MAX_ENTRY_BYTES, ArticleState, ArticleStatus
from newswire.pipeline.tombstones import (
    MAX_KEPT_TOMBSTONES,
    tombstones_hidden,
    tombstones_live,
    tombstones_removed,
)
from tests.support.factories import make_article

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PUBLISHED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: The most an item holds (DynamoDB's limit, in bytes).
ITEM_BYTES = 400 * 1024


def live(article_id: str, *tombstones: Tombstone) -> ArticleState:
    return ArticleState(
        "articles/story.md",
        "0001",
        ArticleStatus.LIVE,
        article_id=article_id,
        published=PUBLISHED,
        tombstones=frozenset(tombstones),
    )


def test_a_tombstone_whose_days_are_over_is_dropped_when_the_state_is_rewritten() -> None:
    over = Tombstone("urn:a", NOW - timedelta(days=TOMBSTONE_DAYS), None, PUBLISHED)
    shown = Tombstone("urn:b", NOW - timedelta(days=TOMBSTONE_DAYS - 1), None, PUBLISHED)

    kept = tombstones_removed(live("urn:c", over, shown), NOW)

    assert {t.ref for t in kept} == {"urn:b", "urn:c"}


def test_a_state_keeps_its_newest_tombstones() -> None:
    many = [
        Tombstone(f"urn:{n}", NOW - timedelta(hours=n), None, PUBLISHED)
        for n in range(1, MAX_KEPT_TOMBSTONES + 1)
    ]

    kept = tombstones_live(live("urn:0", *many), "urn:new", NOW)

    assert len(kept) == MAX_KEPT_TOMBSTONES
    assert {t.ref for t in kept} == {f"urn:{n}" for n in range(MAX_KEPT_TOMBSTONES)}


def item_size(value: dict[str, Any]) -> int:
    """An attribute value's size as DynamoDB counts it (strings and binary by their bytes,
    maps and lists with a few bytes of their own and one per element)."""
    ((kind, inner),) = value.items()
    if kind in ("S", "N"):
        return len(str(inner).encode())
    if kind == "B":
        return len(inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + item_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(item_size(v) + 1 for v in inner)
    return 1


def test_the_most_tombstones_a_state_keeps_fit_beside_the_largest_entry() -> None:
    """Ids at their longest, reasons of four-byte characters at theirs: what the kept
    tombstones take leaves the state item room under 400 KB for its entry (at most
    ``MAX_ENTRY_BYTES``) and the rest of the state."""
    longest = [
        Tombstone(
            f"urn:{n}:" + "x" * (MAX_ID_BYTES - 8),
            NOW - timedelta(hours=n),
            "\U0001f4f0" * MAX_REASON_CHARS,
            PUBLISHED,
        )
        for n in range(MAX_KEPT_TOMBSTONES)
    ]
    state = live("urn:0", *longest)

    (update, *_rest) = TableWrites("index").transaction(state, None, None)

    stored = update["Update"]["ExpressionAttributeValues"][":tombstones"]
    assert len(stored["L"]) == MAX_KEPT_TOMBSTONES
    assert len("tombstones") + item_size(stored) <= (ITEM_BYTES - MAX_ENTRY_BYTES) // 2


def test_a_withdrawal_without_a_date_is_dated_when_seen_not_by_an_id_changes_tombstone() -> None:
    # Published under urn:x, its id changed to urn:y 26 days ago (urn:x's tombstone), then
    # the file goes back to urn:x, withdrawn with no date. That tombstone says nothing of
    # when the withdrawal was seen: dated by it, the withdrawal's would be dated at the
    # article's last update, 40 days ago, and leave the feeds before any reader saw it.
    published = NOW - timedelta(days=40)
    id_change = Tombstone("urn:x", NOW - timedelta(days=26), None, published)
    before = ArticleState(
        "articles/story.md",
        "0002",
        ArticleStatus.LIVE,
        article_id="urn:y",
        published=published,
        tombstones=frozenset({id_change}),
    )
    article = make_article(id="urn:x", published=published, withdrawn="Legal advice")

    kept = {t.ref: t for t in tombstones_hidden(article, before, NOW)}

    assert kept["urn:x"].comment == "Legal advice"
    assert kept["urn:x"].shown_at(NOW + timedelta(days=TOMBSTONE_DAYS - 1))
    assert kept["urn:y"].when == NOW  # the id it gave up


def test_the_tombstones_a_change_leaves_are_kept_whatever_the_cap_drops() -> None:
    # Ten tombstones of ids given up in the last hours, and a withdrawal dated 20 days ago:
    # the withdrawal's is the oldest, yet it is this change's, so the cap drops another.
    many = [
        Tombstone(f"urn:{n}", NOW - timedelta(hours=n), None, PUBLISHED)
        for n in range(1, MAX_KEPT_TOMBSTONES + 1)
    ]
    withdrawn_at = NOW - timedelta(days=20)
    before = ArticleState(
        "articles/story.md",
        "0003",
        ArticleStatus.LIVE,
        article_id="urn:0",
        published=PUBLISHED - timedelta(days=30),
        tombstones=frozenset(many),
    )
    article = make_article(
        id="urn:0",
        published=PUBLISHED - timedelta(days=30),
        withdrawn="Retracted",
        withdrawn_at=withdrawn_at,
    )

    kept = tombstones_hidden(article, before, NOW)

    assert len(kept) == MAX_KEPT_TOMBSTONES
    assert Tombstone("urn:0", withdrawn_at, "Retracted", article.published) in kept
    assert "urn:10" not in {t.ref for t in kept}  # the oldest other one


def test_a_state_item_with_the_list_and_a_single_tombstone_keeps_both() -> None:
    # During a deployment, a function of the previous version may add its single tombstone
    # to an item that has the list: every write of this version removes the single one, so
    # it came later, and stands for its id.
    listed = Tombstone("urn:a", NOW - timedelta(days=3), None, PUBLISHED)
    earlier_b = Tombstone("urn:b", NOW - timedelta(days=2), None, PUBLISHED)
    later_b = Tombstone("urn:b", NOW - timedelta(days=1), "Retracted", PUBLISHED)
    item = {
        "tombstones": tombstones_value([listed, earlier_b]),
        "tombstone": {"M": tombstone_attributes(later_b, ref=True)},
    }

    assert state_tombstones(item) == {listed, later_b}
