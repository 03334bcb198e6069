"""An article's tombstones as a set, through the pipeline on moto: an id change's tombstone
stays its 30 days whatever the file does next, each tombstone leaves by its own date, and a
state item written when an article kept one tombstone is still read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from newswire.domain.feeds import FeedFormat
from newswire.pipeline.tombstones import MAX_KEPT_TOMBSTONES
from tests.adapters.test_engine_equivalence import NOW as EQUIVALENCE_NOW
from tests.adapters.test_engine_equivalence import (
    PATHS,
    Upload,
    assert_same_feeds,
    generated_site_yaml,
    run,
)
from tests.adapters.test_engine_equivalence import article as equivalence_article
from tests.adapters.test_lifecycle_pipeline import NOW, article, publish, titles, tombstones
from tests.support.aws import Stack
from tests.support.feedcheck import assert_valid
from tests.support.sequencing import Sequencer
from tests.support.tombstones import without_deletion_tombstones

KEY = "articles/story.md"
ONE, TWO, THREE = "urn:story:1", "urn:story:2", "urn:story:3"
MARCH, FEBRUARY = "archive/2026-03/atom.xml", "archive/2026-02/atom.xml"
#: When the id changes (NOW), and later steps, as feeds write them.
CHANGED = "2026-03-10T12:00:00+00:00"
DAY_5 = "2026-03-15T12:00:00+00:00"


def story(article_id: str, extra: str = "", published: str = "2026-03-02T09:00:00Z") -> bytes:
    return article("Story", published, extra=f"id: {article_id}\n{extra}")


def changed_id(
    stack: Stack, seq: Sequencer, new_id: str = TWO, published: str | None = None
) -> None:
    """``story`` published as ONE, then (at NOW) given ``new_id``."""
    publish(stack, seq, KEY, story(ONE), now=NOW - timedelta(days=1))
    publish(stack, seq, KEY, story(new_id, published=published or "2026-03-02T09:00:00Z"))
    assert tombstones(stack, "atom.xml") == [(ONE, CHANGED, None)]


def test_a_deletion_after_an_id_change_keeps_the_old_ids_tombstone(
    stack: Stack, seq: Sequencer
) -> None:
    """The new id moved the article to February: each tombstone is in its own month's
    archive, both in the main feed, newest first."""
    changed_id(stack, seq, published="2026-02-27T09:00:00Z")

    publish(stack, seq, KEY, None, now=NOW + timedelta(days=5))

    assert tombstones(stack, "atom.xml") == [(TWO, DAY_5, None), (ONE, CHANGED, None)]
    assert tombstones(stack, MARCH) == [(ONE, CHANGED, None)]
    assert tombstones(stack, FEBRUARY) == [(TWO, DAY_5, None)]
    for path in ("atom.xml", MARCH, FEBRUARY):
        assert_valid(stack.feed(path), FeedFormat.ATOM)


def test_a_withdrawal_after_an_id_change_keeps_the_old_ids_tombstone(
    stack: Stack, seq: Sequencer
) -> None:
    changed_id(stack, seq)
    withdrawn = story(TWO, "withdrawn: {reason: Wrong, date: 2026-03-15T12:00:00Z}\n")

    publish(stack, seq, KEY, withdrawn, now=NOW + timedelta(days=5))

    expected = [(TWO, DAY_5, "Wrong"), (ONE, CHANGED, None)]
    assert tombstones(stack, "atom.xml") == tombstones(stack, MARCH) == expected
    assert titles(stack, "atom.xml") == []


def test_an_id_changed_and_withdrawn_at_once_leaves_a_tombstone_of_each_id(
    stack: Stack, seq: Sequencer
) -> None:
    """Readers hold the article under its old id: they get that id's tombstone (the id
    change, no reason) beside the new id's (the withdrawal, with its reason), as a build of
    the file alone shows."""
    publish(stack, seq, KEY, story(ONE), now=NOW - timedelta(days=1))

    withdrawn = story(TWO, "withdrawn: {reason: Wrong, date: 2026-03-10T11:00:00Z}\n")
    publish(stack, seq, KEY, withdrawn)

    expected = [(ONE, CHANGED, None), (TWO, "2026-03-10T11:00:00+00:00", "Wrong")]
    assert tombstones(stack, "atom.xml") == tombstones(stack, MARCH) == expected


def test_an_id_changed_as_the_article_becomes_a_draft_leaves_the_old_ids_tombstone(
    stack: Stack, seq: Sequencer
) -> None:
    """Under its new id the draft may come back, but readers still hold the old one: a
    draft of the same id leaves no tombstone, one of another id leaves the old id's."""
    publish(stack, seq, KEY, story(ONE), now=NOW - timedelta(days=1))

    publish(stack, seq, KEY, story(TWO, "draft: true\n"))

    assert titles(stack, "atom.xml") == []
    assert tombstones(stack, "atom.xml") == tombstones(stack, MARCH) == [(ONE, CHANGED, None)]


def test_a_second_id_change_keeps_the_first_ones_tombstone(stack: Stack, seq: Sequencer) -> None:
    changed_id(stack, seq)

    publish(stack, seq, KEY, story(THREE), now=NOW + timedelta(days=5))

    expected = [(TWO, DAY_5, None), (ONE, CHANGED, None)]
    assert tombstones(stack, "atom.xml") == tombstones(stack, MARCH) == expected
    assert [e for e in tombstones(stack, "atom.xml") if e[0] == THREE] == []


def test_bringing_an_id_back_takes_only_its_own_tombstone_away(
    stack: Stack, seq: Sequencer
) -> None:
    changed_id(stack, seq)
    publish(stack, seq, KEY, story(TWO, "withdrawn: Wrong\n"), now=NOW + timedelta(days=1))
    assert {ref for ref, _w, _c in tombstones(stack, "atom.xml")} == {ONE, TWO}

    publish(stack, seq, KEY, story(TWO), now=NOW + timedelta(days=2))

    assert tombstones(stack, "atom.xml") == [(ONE, CHANGED, None)]
    assert [t.ref for t in stack.publisher().index.tombstones()] == [ONE]


def test_each_tombstone_leaves_by_its_own_date(stack: Stack, seq: Sequencer) -> None:
    changed_id(stack, seq)
    publish(stack, seq, KEY, None, now=NOW + timedelta(days=5))
    assert len(tombstones(stack, "atom.xml")) == 2

    stack.publisher(clock=lambda: NOW + timedelta(days=30)).publish_due()
    assert tombstones(stack, "atom.xml") == tombstones(stack, MARCH) == [(TWO, DAY_5, None)]
    assert [t.ref for t in stack.publisher().index.tombstones()] == [TWO]

    publisher = stack.publisher(clock=lambda: NOW + timedelta(days=35))
    publisher.publish_due()
    assert tombstones(stack, "atom.xml") == tombstones(stack, MARCH) == []
    assert publisher.index.tombstones() == []


# --- what an article's state item keeps -----------------------------------------------------

STATE = {"pk": {"S": f"article#{KEY}"}, "sk": {"S": "state"}}
#: The one tombstone (a ``tombstone`` map) a state item of the previous version holds: ONE's,
#: of the id change.
LEGACY = {
    "entry_id": {"S": ONE},
    "deleted_at": {"S": "2026-03-10T12:00:00.000000Z"},
    "entry_published": {"S": "2026-03-02T09:00:00.000000Z"},
}


def state_item(stack: Stack) -> dict[str, Any]:
    item: dict[str, Any] = stack.dynamodb.get_item(TableName=stack.table, Key=STATE)["Item"]
    return item


def test_a_state_item_with_one_tombstone_is_still_read(stack: Stack, seq: Sequencer) -> None:
    """A table deployed before holds ``tombstone`` (a map), not ``tombstones``: the id
    change's tombstone it holds is kept through the deletion that follows."""
    changed_id(stack, seq)
    stack.dynamodb.update_item(
        TableName=stack.table,
        Key=STATE,
        UpdateExpression="SET tombstone = :t REMOVE tombstones",
        ExpressionAttributeValues={":t": {"M": LEGACY}},
    )
    state = stack.publisher().index.state(KEY)
    assert state is not None
    assert [(t.ref, t.comment) for t in state.tombstones] == [(ONE, None)]

    publish(stack, seq, KEY, None, now=NOW + timedelta(days=5))

    assert tombstones(stack, "atom.xml") == [(TWO, DAY_5, None), (ONE, CHANGED, None)]
    item = state_item(stack)
    assert "tombstone" not in item
    assert sorted(t["M"]["entry_id"]["S"] for t in item["tombstones"]["L"]) == [ONE, TWO]


def test_a_withdrawn_state_item_with_one_tombstone_is_brought_back(
    stack: Stack, seq: Sequencer
) -> None:
    publish(stack, seq, KEY, story(ONE, 'withdrawn: "Wrong & late"\n'))
    stack.dynamodb.update_item(
        TableName=stack.table,
        Key=STATE,
        UpdateExpression="SET tombstone = :t REMOVE tombstones",
        ExpressionAttributeValues={
            ":t": {"M": LEGACY | {"reason": {"S": "Wrong & late"}}},
        },
    )
    state = stack.publisher().index.state(KEY)
    assert state is not None
    assert [t.comment for t in state.tombstones] == ["Wrong & late"]

    publish(stack, seq, KEY, story(ONE), now=NOW + timedelta(days=1))

    assert titles(stack, "atom.xml") == ["Story"]
    assert tombstones(stack, "atom.xml") == []
    assert stack.publisher().index.tombstones() == []
    assert not {"tombstone", "tombstones"} & set(state_item(stack))


def test_an_article_keeps_its_newest_tombstones_and_readers_get_every_one(
    stack: Stack, seq: Sequencer
) -> None:
    """An id changed hourly: the state keeps the newest ten (its item must fit DynamoDB's
    400 KB), but the feeds still carry the one it dropped until that one's 30 days are
    over."""
    publish(stack, seq, KEY, story("urn:story:0"), now=NOW - timedelta(hours=1))
    for n in range(1, 12):
        publish(stack, seq, KEY, story(f"urn:story:{n}"), now=NOW + timedelta(hours=n - 1))

    refs = [ref for ref, _w, _c in tombstones(stack, "atom.xml")]
    assert refs == [f"urn:story:{n}" for n in range(10, -1, -1)]
    state = stack.publisher().index.state(KEY)
    assert state is not None
    assert len(state.tombstones) == MAX_KEPT_TOMBSTONES
    assert "urn:story:0" not in {t.ref for t in state.tombstones}

    stack.publisher(clock=lambda: NOW + timedelta(days=30)).publish_due()
    assert [ref for ref, _w, _c in tombstones(stack, "atom.xml")] == refs[:-1]


# --- the same feeds as a build, but for the old ids' tombstones -------------------------------


@PATHS
def test_an_id_changed_and_withdrawn_at_once_publishes_what_a_build_does(path: str) -> None:
    """A build sees the file alone: the new id's tombstone. The pipeline, which saw the
    article published under its old id, adds that id's (no reason, as a deletion's); the
    rest is byte for byte the build's."""
    now, hour = EQUIVALENCE_NOW, timedelta(hours=1)
    withdrawn = {"reason": "Wrong", "date": (now - hour).isoformat()}
    uploads = [
        Upload("articles/kept.md", equivalence_article("Kept", now - 20 * hour)),
        Upload("articles/moved.md", equivalence_article("Moved", now - 10 * hour, id=ONE)),
        Upload(
            "articles/moved.md",
            equivalence_article("Moved", now - 10 * hour, id=TWO, withdrawn=withdrawn),
        ),
    ]

    build, feeds = run(path, uploads, generated_site_yaml())

    assert b'<at:deleted-entry ref="urn:story:2"' in build["atom.xml"]
    feeds, old_ids = without_deletion_tombstones(feeds)
    assert old_ids == ({ONE} if path == "publish_each" else set())
    assert_same_feeds(build, feeds)
