"""The writes of the DynamoDB index, as items of ``TransactWriteItems``: one change of an
article moves its state and every item of the layout (:mod:`~newswire.adapters.dynamodb_layout`)
that depends on it in one transaction, so the items can never disagree.

Only the requests are built here; :class:`~newswire.adapters.dynamodb.DynamoArticleIndex`
sends them and says what a refusal means.
"""

from __future__ import annotations

from typing import Any

from newswire.adapters.dynamodb_layout import (
    CLAIM_SK,
    DUE_PK,
    MONTHS_PK,
    STATE_SK,
    TOMBSTONES_PK,
    WAITERS_PREFIX,
    due_sort_key,
    index_time,
    membership_sort_key,
    tombstone_attributes,
    tombstones_value,
)
from newswire.domain.model import Entry
from newswire.domain.text import clean_xml_text
from newswire.pipeline.ports import ArticleState, ArticleStatus, encode_entry, entry_revision

#: The condition on deleting a tombstone an article left: it is still that article's.
OURS = "attribute_not_exists(pk) OR #k = :key"


def others_tombstones(items: list[dict[str, Any]], reasons: list[str]) -> set[int]:
    """Which of a cancelled transaction's ``items`` failed only because the tombstone they
    delete is another article's by now (see :data:`OURS`)."""
    return {
        n
        for n, (item, reason) in enumerate(zip(items, reasons, strict=False))
        if reason == "ConditionalCheckFailed"
        and item.get("Delete", {}).get("ConditionExpression") == OURS
    }


class TableWrites:
    """Builds the write requests of one index table: plain data, sent (and retried) by
    :class:`~newswire.adapters.dynamodb.DynamoArticleIndex`."""

    def __init__(self, table: str) -> None:
        self.table = table

    def transaction(
        self,
        new: ArticleState,
        old: ArticleState | None,
        entry: Entry | None,
        woken_by: str | None = None,
        *,
        keep_due: bool = False,
    ) -> list[dict[str, Any]]:
        """The writes that move an article from ``old`` to ``new`` in one transaction: its
        state, and each item of the table's layout only where it changed."""
        stored = None if entry is None else encode_entry(entry)
        return [
            {"Update": self._state_update(new, old, stored)},
            *self._claim_items(new, old),
            *self._waiter_items(new, old, woken_by),
            *self._month_items(new, old),
            *self._due_items(new, old, keep_due=keep_due),
            *self._tombstone_items(new, old),
            *self._membership_items(new, old, stored),
        ]

    def _claim_items(self, new: ArticleState, old: ArticleState | None) -> list[dict[str, Any]]:
        """Claim the new id (failing if another key holds it) and let the old one go."""
        items = []
        old_id = old.article_id if old else None
        if new.article_id and new.article_id != old_id:
            claim = self.put(f"id#{new.article_id}", CLAIM_SK, new.key)
            claim["Put"] |= {
                "ConditionExpression": "attribute_not_exists(pk) OR #k = :key",
                "ExpressionAttributeNames": {"#k": "key"},
                "ExpressionAttributeValues": {":key": {"S": new.key}},
            }
            items.append(claim)
        if old_id and old_id != new.article_id:
            items.append(self.delete(f"id#{old_id}", CLAIM_SK))
        return items

    def _waiter_items(
        self, new: ArticleState, old: ArticleState | None, woken_by: str | None
    ) -> list[dict[str, Any]]:
        """Move the article to the waiters of the key it now waits on; the waiter item the
        current wake came through stays until that change is done."""
        items = []
        old_wait = old.waiting_on if old else None
        if old_wait and old_wait not in (new.waiting_on, woken_by):
            items.append(self.delete(WAITERS_PREFIX + old_wait, new.key))
        if new.waiting_on and new.waiting_on != old_wait:
            items.append(self.put(WAITERS_PREFIX + new.waiting_on, new.key, new.key))
        return items

    def _month_items(self, new: ArticleState, old: ArticleState | None) -> list[dict[str, Any]]:
        old_month, new_month = (old.archive_month if old else None), new.archive_month
        if old_month == new_month:
            return []
        return [
            self._count_month(month, delta)
            for month, delta in ((old_month, -1), (new_month, 1))
            if month is not None
        ]

    def _due_items(
        self, new: ArticleState, old: ArticleState | None, *, keep_due: bool
    ) -> list[dict[str, Any]]:
        """``keep_due`` leaves the old due item until the feeds are written (see the port)."""
        items = []
        old_due, new_due = due_sort_key(old), due_sort_key(new)
        if old_due and old_due != new_due and not keep_due:
            items.append(self.delete(DUE_PK, old_due))
        if new_due and new_due != old_due:
            items.append(self.put(DUE_PK, new_due, new.key))
        return items

    def _tombstone_items(self, new: ArticleState, old: ArticleState | None) -> list[dict[str, Any]]:
        """List each new or changed tombstone; take off the one of the article's id that it
        no longer keeps (only while it is still the article's own); an article that goes
        live under an id takes that id's tombstone away, whoever left it. Others it no
        longer keeps stay listed until their time is over (see the port). Each item is
        written at most once: a transaction refuses two writes of one item, and the last
        written here wins."""
        writes: dict[str, dict[str, Any]] = {}
        kept = {t.ref: t for t in old.tombstones} if old else {}
        ref = clean_xml_text(new.article_id) if new.article_id else None  # as entries show it
        if ref in kept and ref not in {t.ref for t in new.tombstones}:
            # only if it is still ours: another file may have taken the id and left its own
            delete = self.delete(TOMBSTONES_PK, ref)
            delete["Delete"] |= {
                "ConditionExpression": OURS,
                "ExpressionAttributeNames": {"#k": "key"},
                "ExpressionAttributeValues": {":key": {"S": new.key}},
            }
            writes[ref] = delete
        for tombstone in sorted(new.tombstones, key=lambda t: t.ref):
            if kept.get(tombstone.ref) != tombstone:
                item = {
                    "pk": {"S": TOMBSTONES_PK},
                    "sk": {"S": tombstone.ref},
                    "key": {"S": new.key},
                    **tombstone_attributes(tombstone),
                }
                writes[tombstone.ref] = {"Put": {"TableName": self.table, "Item": item}}
        shown_anew = (
            old is None or old.status is not ArticleStatus.LIVE or old.article_id != new.article_id
        )
        if new.status is ArticleStatus.LIVE and ref is not None and shown_anew:
            writes[ref] = self.delete(TOMBSTONES_PK, ref)  # whoever's: the id is live
        return list(writes.values())

    def _membership_items(
        self, new: ArticleState, old: ArticleState | None, stored: bytes | None
    ) -> list[dict[str, Any]]:
        """Leave the feeds the article left, and every feed if its sort key moved; join the
        feeds it is in, with its entry's revision, when it has an entry (as ``stored``) to
        show."""
        items: list[dict[str, Any]] = []
        old_feeds = old.feeds if old else frozenset()
        old_sk = (
            membership_sort_key(old.published, old.article_id)
            if old and old.published and old.article_id
            else None
        )
        new_sk = (
            membership_sort_key(new.published, new.article_id)
            if stored is not None and new.published and new.article_id
            else None
        )
        if old_sk:
            moved = old_feeds & new.feeds if new_sk and new_sk != old_sk else frozenset()
            items.extend(
                self.delete(f"feed#{f.id}", old_sk) for f in sorted((old_feeds - new.feeds) | moved)
            )
        if new_sk and stored is not None:
            revision = {"rev": {"S": entry_revision(stored)}}
            for feed in sorted(new.feeds):
                member = self.put(f"feed#{feed.id}", new_sk, new.key)
                member["Put"]["Item"] |= revision
                items.append(member)
        return items

    def _state_update(
        self, new: ArticleState, old: ArticleState | None, stored: bytes | None
    ) -> dict[str, Any]:
        """An update, not a put: a rejected edit (no entry) keeps the last good entry."""
        values: dict[str, Any] = {
            ":key": {"S": new.key},
            ":seq": {"S": new.sequencer},
            ":status": {"S": new.status},
            ":feeds": {"L": [{"S": f.id} for f in sorted(new.feeds)]},
            ":prev": {"L": [{"S": f.id} for f in sorted(new.previous_feeds)]},
            ":report": {"BOOL": new.has_report},
        }
        sets = ["#k = :key", "seq = :seq", "#s = :status", "feeds = :feeds"]
        sets += ["previous_feeds = :prev", "has_report = :report"]
        removes = []
        optional = {
            "article_id": new.article_id,
            "published": index_time(new.published) if new.published else None,
            "waiting_on": new.waiting_on,
            "expires": index_time(new.expires) if new.expires else None,
        }
        for name, value in optional.items():
            if value:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = {"S": value}
            else:
                removes.append(name)
        removes.append("tombstone")  # the one an item written before kept, if any
        if new.tombstones:
            sets.append("tombstones = :tombstones")
            values[":tombstones"] = tombstones_value(new.tombstones)
        else:
            removes.append("tombstones")
        if stored is not None:
            sets.append("entry = :entry")
            values[":entry"] = {"B": stored}
        elif not new.feeds:
            removes.append("entry")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"pk": {"S": f"article#{new.key}"}, "sk": {"S": STATE_SK}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": {"#k": "key", "#s": "status"},
            "ExpressionAttributeValues": values,
        }
        if old is None:
            update["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            update["ConditionExpression"] = "seq = :old"
            values[":old"] = {"S": old.sequencer}
        return update

    def _count_month(self, month: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": {"S": MONTHS_PK}, "sk": {"S": month}},
                "UpdateExpression": "ADD n :delta",
                "ExpressionAttributeValues": {":delta": {"N": str(delta)}},
            }
        }

    def still_held(self, article_id: str, holder: str) -> dict[str, Any]:
        """A condition that ``holder`` still holds ``article_id``."""
        return {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": {"pk": {"S": f"id#{article_id}"}, "sk": {"S": CLAIM_SK}},
                "ConditionExpression": "#k = :holder",
                "ExpressionAttributeNames": {"#k": "key"},
                "ExpressionAttributeValues": {":holder": {"S": holder}},
            }
        }

    def put(self, pk: str, sk: str, key: str) -> dict[str, Any]:
        """A put of an item that points at the article ``key``."""
        item = {"pk": {"S": pk}, "sk": {"S": sk}, "key": {"S": key}}
        return {"Put": {"TableName": self.table, "Item": item}}

    def delete(self, pk: str, sk: str) -> dict[str, Any]:
        return {"Delete": {"TableName": self.table, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}}}
