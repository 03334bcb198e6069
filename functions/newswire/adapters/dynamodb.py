"""The DynamoDB index: article states, id claims and per-feed membership, in one table.

Layout (partition key ``pk``, sort key ``sk``, both strings):

- ``article#<key>`` / ``state``: the article's sequencer, status, feeds and its rendered entry
  (zlib-compressed JSON), stored once however many feeds show it;
- ``id#<article id>`` / ``claim``: which key owns an id, so two files can never share one;
- ``waiters#<key>`` / ``<waiting key>``: an article rejected because ``<key>`` holds the id it
  wants, so it is published again once ``<key>`` lets the id go; kept after that wake until
  the change that woke it is done, so a retry of that change can finish it;
- ``feed#<feed id>`` / ``<published>#<article id>``: membership, newest last in key order, so
  the newest N of a feed are one Query with ``ScanIndexForward=False`` and ``Limit=N``; each
  holds the revision of the article's entry (``rev``), rewritten with it, so a listing
  changes with every change to what the feed shows;
- ``due`` / ``<published>#<key>``: scheduled articles, so the ones that have come due are one
  Query with ``sk <= now``;
- ``months`` / ``YYYY-MM``: how many live articles each month has, for the monthly archives
  (RFC 5005): one small Query lists the months a reader can walk back through;
- ``tombstones`` / ``<article id>``: what a withdrawn or deleted article leaves in the Atom
  feeds (RFC 6721) for 30 days: one small Query, beside the main feed's, finds them all
  (the schedule handler deletes them once their time is over). Each names the key that left
  it, and an article's transaction deletes its old one only while it is still that key's.

All reads are strongly consistent: a publisher must see every change indexed before it. Every
call is tried again after a short jittered pause while AWS answers "try again" (throttling, a
transaction conflict, unprocessed keys: see :class:`~newswire.adapters.aws_errors.Backoff`),
then fails as a :class:`~newswire.errors.TransientStorageError`.

The module is long because it is one table: every write must keep the items above in step,
so their layout, reads and transactions stay side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from newswire.adapters.aws_errors import (
    DEFAULT_BACKOFF,
    Backoff,
    cancellation_reasons,
    error_code,
    translate,
)
from newswire.domain.feeds import FeedKey
from newswire.domain.model import Entry, Tombstone
from newswire.domain.text import clean_xml_text
from newswire.errors import InvalidArticleError, TransientStorageError
from newswire.pipeline.ports import (
    ArticleState,
    ArticleStatus,
    Due,
    Listing,
    StoredEntry,
    decode_entry,
    encode_entry,
    entry_revision,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")

STATE_SK = "state"
CLAIM_SK = "claim"
DUE_PK = "due"
MONTHS_PK = "months"
TOMBSTONES_PK = "tombstones"
WAITERS_PREFIX = "waiters#"
_STATE_FIELDS = (
    "#k, seq, #s, article_id, feeds, previous_feeds, published, has_report, waiting_on, "
    "tombstone, expires"
)


def index_time(moment: datetime) -> str:
    """A time as the index's sort keys hold it: fixed-width UTC, so string order is time
    order."""
    return moment.astimezone(UTC).strftime(_INDEX_TIME)


def _time_of(stored: str) -> datetime:
    return datetime.strptime(stored, _INDEX_TIME).replace(tzinfo=UTC)


_INDEX_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def membership_sort_key(published: datetime, article_id: str) -> str:
    """Sort key of a membership item: string order is feed order (oldest first)."""
    return f"{index_time(published)}#{article_id}"


class DynamoArticleIndex:
    """The :class:`~newswire.pipeline.ports.ArticleIndex` on one DynamoDB table."""

    def __init__(
        self, client: DynamoDBClient, table: str, *, backoff: Backoff = DEFAULT_BACKOFF
    ) -> None:
        self._db = client
        self.table = table
        self._backoff = backoff

    def _request(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call ``operation``, tried again while AWS answers "try again"; botocore's error
        is raised as it is (callers translate it, knowing what they asked)."""
        response: dict[str, Any] = self._backoff.call(
            partial(getattr(self._db, operation), **params)
        )
        return response

    def _pages(self, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every page of a Query or Scan, each page's call tried again on its own."""
        while True:
            page = self._request(operation, **params)
            yield page
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- reads ------------------------------------------------------------------------------

    def state(self, key: str) -> ArticleState | None:
        """The article's current state, or ``None``."""
        try:
            response = self._request(
                "get_item",
                TableName=self.table,
                Key={"pk": {"S": f"article#{key}"}, "sk": {"S": STATE_SK}},
                ConsistentRead=True,
                ProjectionExpression=_STATE_FIELDS,
                ExpressionAttributeNames={"#k": "key", "#s": "status"},
            )
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"GetItem {self.table} {key}") from e
        item = response.get("Item")
        return None if item is None else _state_from_item(item)

    def states(self) -> Iterator[ArticleState]:
        """Every article state (a full scan, for reindexing)."""
        try:
            for page in self._pages(
                "scan",
                TableName=self.table,
                ConsistentRead=True,
                FilterExpression="sk = :state",
                ExpressionAttributeValues={":state": {"S": STATE_SK}},
                ProjectionExpression=_STATE_FIELDS,
                ExpressionAttributeNames={"#k": "key", "#s": "status"},
            ):
                for item in page.get("Items", []):
                    yield _state_from_item(item)
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"Scan {self.table}") from e

    def states_of(self, keys: Sequence[str]) -> dict[str, ArticleState]:
        """The states of ``keys``: one BatchGetItem per 100 keys."""
        return self._batch_get(keys, _STATE_FIELDS, {"#k": "key", "#s": "status"}, _state_from_item)

    def newest(self, feed: FeedKey, limit: int, since: datetime | None = None) -> Listing:
        """The ``limit`` newest articles of ``feed`` (published after ``since``, if given):
        one Query, keys and revisions only, O(limit), never O(corpus)."""
        condition, values = "pk = :pk", {":pk": {"S": f"feed#{feed.id}"}}
        if since is not None:
            condition += " AND sk > :since"
            values[":since"] = {"S": index_time(since)}
        return self._listing(condition, values, limit=limit, what=feed.id)

    def entries(self, keys: Sequence[str]) -> dict[str, StoredEntry]:
        """The entries of ``keys`` with their revisions, by key: one BatchGetItem per 100."""
        return self._batch_get(keys, "#k, entry", {"#k": "key"}, _entry_of)

    def months(self) -> dict[str, int]:
        """Live articles per archive month (``YYYY-MM``); months with none are left out."""
        counts: dict[str, int] = {}
        try:
            for page in self._pages(
                "query",
                TableName=self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": MONTHS_PK}},
                ConsistentRead=True,
            ):
                for item in page.get("Items", []):
                    count = int(item.get("n", {}).get("N", "0"))
                    if count > 0:
                        counts[item["sk"]["S"]] = count
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"Query {self.table} months") from e
        return counts

    def month(self, feed: FeedKey, month: str) -> Listing:
        """Every article of ``feed`` published in ``month`` (``YYYY-MM``), newest first."""
        values = {":pk": {"S": f"feed#{feed.id}"}, ":month": {"S": month + "-"}}
        condition = "pk = :pk AND begins_with(sk, :month)"
        return self._listing(condition, values, what=f"{feed.id} {month}")

    def due(self, until: datetime, limit: int) -> Sequence[Due]:
        """Scheduled articles due at ``until`` or before, oldest first (the time is the
        sort key's, before its key)."""
        values = {":pk": {"S": DUE_PK}, ":until": {"S": index_time(until) + "#\uffff"}}
        condition = "pk = :pk AND sk <= :until"
        items = self._items(condition, values, newest_first=False, limit=limit, what="due")
        return [Due(item["key"]["S"], _time_of(item["sk"]["S"].split("#", 1)[0])) for item in items]

    def forget_due(self, due: Due) -> None:
        """Delete the due item (gone already: nothing to do)."""
        sort_key = f"{index_time(due.at)}#{due.key}"
        try:
            self._request("delete_item", **self._delete(DUE_PK, sort_key)["Delete"])
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"DeleteItem {self.table} due {due.key}") from e

    def tombstones(self) -> Sequence[Tombstone]:
        """Every tombstone listed: one Query (a page per MB)."""
        try:
            return [
                _tombstone_of(item)
                for page in self._pages(
                    "query",
                    TableName=self.table,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": {"S": TOMBSTONES_PK}},
                    ConsistentRead=True,
                )
                for item in page.get("Items", [])
            ]
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"Query {self.table} tombstones") from e

    def forget_tombstone(self, tombstone: Tombstone) -> None:
        """Delete the tombstone's item if it is still that one (gone: nothing to do)."""
        attributes = _tombstone_attributes(tombstone)
        same = [f"{name} = :{name}" for name in attributes]
        if "reason" not in attributes:
            same.append("attribute_not_exists(reason)")
        try:
            self._request(
                "delete_item",
                TableName=self.table,
                Key={"pk": {"S": TOMBSTONES_PK}, "sk": {"S": tombstone.ref}},
                ConditionExpression=f"attribute_not_exists(pk) OR ({' AND '.join(same)})",
                ExpressionAttributeValues={f":{name}": v for name, v in attributes.items()},
            )
        except ClientError as e:
            if error_code(e) != "ConditionalCheckFailedException":  # left another since
                raise translate(e, f"DeleteItem {self.table} tombstone {tombstone.ref}") from e
        except BotoCoreError as e:
            raise translate(e, f"DeleteItem {self.table} tombstone {tombstone.ref}") from e

    def owner(self, article_id: str) -> str | None:
        """The key holding ``article_id``, or ``None``."""
        try:
            response = self._request(
                "get_item",
                TableName=self.table,
                Key={"pk": {"S": f"id#{article_id}"}, "sk": {"S": CLAIM_SK}},
                ConsistentRead=True,
                ProjectionExpression="#k",
                ExpressionAttributeNames={"#k": "key"},
            )
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"GetItem {self.table} id {article_id}") from e
        item = response.get("Item")
        return None if item is None else str(item["key"]["S"])

    def waiters(self, holder: str) -> Sequence[str]:
        """Keys waiting for the id ``holder`` holds, in key order."""
        values = {":pk": {"S": WAITERS_PREFIX + holder}}
        return self._keys("pk = :pk", values, newest_first=False, what=f"waiters of {holder}")

    def _listing(
        self, condition: str, values: dict[str, Any], *, limit: int | None = None, what: str
    ) -> Listing:
        """A feed's membership items, newest first (up to ``limit``), as a listing."""
        items = self._items(condition, values, newest_first=True, limit=limit, what=what)
        keys = tuple(item["key"]["S"] for item in items)
        return Listing(keys, tuple(item.get("rev", {}).get("S", "") for item in items))

    def _keys(
        self,
        condition: str,
        values: dict[str, Any],
        *,
        newest_first: bool,
        limit: int | None = None,
        what: str,
    ) -> list[str]:
        """The article keys of one partition's items, in sort-key order (up to ``limit``)."""
        items = self._items(condition, values, newest_first=newest_first, limit=limit, what=what)
        return [item["key"]["S"] for item in items]

    def _items(
        self,
        condition: str,
        values: dict[str, Any],
        *,
        newest_first: bool,
        limit: int | None = None,
        what: str,
    ) -> list[dict[str, Any]]:
        """The article key, sort key and revision (if any) of one partition's items, in
        sort-key order (up to ``limit``)."""
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ProjectionExpression": "#k, sk, rev",
            "ExpressionAttributeNames": {"#k": "key"},
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        try:
            while True:
                if limit is not None:
                    query["Limit"] = limit - len(items)
                response = self._request("query", **query)
                items.extend(response.get("Items", []))
                last = response.get("LastEvaluatedKey")
                if last is None or (limit is not None and len(items) >= limit):
                    return items
                query["ExclusiveStartKey"] = last
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"Query {self.table} {what}") from e

    def _batch_get(
        self,
        keys: Sequence[str],
        projection: str,
        names: dict[str, str],
        decode: Callable[[dict[str, Any]], T | None],
    ) -> dict[str, T]:
        """The state items of ``keys`` as ``decode`` makes them (by article key; what it makes
        ``None`` of is left out): one BatchGetItem per 100 keys, each tried again on its own."""
        found: dict[str, T] = {}
        wanted = [{"pk": {"S": f"article#{k}"}, "sk": {"S": STATE_SK}} for k in dict.fromkeys(keys)]
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": wanted[start : start + 100],
                    "ProjectionExpression": projection,
                    "ExpressionAttributeNames": names,
                    "ConsistentRead": True,
                }
            }
            try:
                self._backoff.call(partial(self._read_batch, request, found, decode))
            except (ClientError, BotoCoreError) as e:
                raise translate(e, f"BatchGetItem {self.table}") from e
        return found

    def _read_batch(
        self,
        request: dict[str, Any],
        found: dict[str, T],
        decode: Callable[[dict[str, Any]], T | None],
    ) -> None:
        """One BatchGetItem: each item read goes into ``found`` (by article key) as ``decode``
        makes it, what AWS left unprocessed (out of read capacity) stays in ``request`` for
        the next try.

        Raises:
            TransientStorageError: keys were left: a feed must never be written short of them.
        """
        response = self._db.batch_get_item(RequestItems=request)
        for item in response.get("Responses", {}).get(self.table, []):
            value = decode(item)
            if value is not None:
                found[item["key"]["S"]] = value
        request.clear()
        request.update(response.get("UnprocessedKeys") or {})
        if request:
            left = len(request.get(self.table, {}).get("Keys", []))
            raise TransientStorageError(
                f"BatchGetItem {self.table}: UnprocessedKeys ({left} left), will be retried"
            )

    # --- writes -----------------------------------------------------------------------------

    def apply(
        self,
        new: ArticleState,
        old: ArticleState | None,
        entry: Entry | None,
        *,
        waiting_for: str | None = None,
        woken_by: str | None = None,
        keep_due: bool = False,
    ) -> bool:
        """Move the article from ``old`` to ``new`` in one transaction (see the port)."""
        items = self._transaction(new, old, entry, woken_by, keep_due=keep_due)
        if new.waiting_on and waiting_for:
            # Checked in the transaction: a holder that let the id go before the wait is
            # written has found no waiter to wake, so the wait must not be written then.
            items.append(self._still_held(waiting_for, new.waiting_on))
        while True:  # twice at most: the second time with no tombstone to leave out
            try:
                self._request("transact_write_items", TransactItems=items)
                return True
            except ClientError as e:
                if error_code(e) != "TransactionCanceledException":
                    raise translate(e, f"TransactWriteItems {self.table} {new.key}") from e
                reasons = cancellation_reasons(e)
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    return False
                others = _others_tombstones(items, reasons)
                if not others:
                    return self._refused(new, items, reasons, e)
                # another article's tombstone by now: left to it, the rest written as planned
                items = [item for n, item in enumerate(items) if n not in others]
            except BotoCoreError as e:
                raise translate(e, f"TransactWriteItems {self.table} {new.key}") from e

    def _refused(
        self, new: ArticleState, items: list[dict[str, Any]], reasons: list[str], e: ClientError
    ) -> bool:
        """What a cancelled transaction of ``new`` means besides a stale state: a holder that
        let the id go (``False``: judged again), or an id taken.

        Raises:
            InvalidArticleError: another article holds the id.
            StorageError: any other cause.
        """
        if "ConditionCheck" in items[-1] and reasons[-1:] == ["ConditionalCheckFailed"]:
            return False
        if "ConditionalCheckFailed" in reasons[1:]:
            raise InvalidArticleError(
                new.key,
                "id",
                f"{new.article_id!r} is already the id of another article",
                "an id (or, without one, a slug) that no other article has",
            ) from e
        raise translate(e, f"TransactWriteItems {self.table} {new.key}") from e

    def forget_waiter(self, holder: str, key: str) -> None:
        """Remove ``key``'s waiters item of ``holder`` unless its state waits on ``holder``
        (see the port); checked in the transaction, as it may have begun waiting again."""
        items = [
            self._delete(WAITERS_PREFIX + holder, key),
            {
                "ConditionCheck": {
                    "TableName": self.table,
                    "Key": {"pk": {"S": f"article#{key}"}, "sk": {"S": STATE_SK}},
                    "ConditionExpression": "attribute_not_exists(waiting_on) OR waiting_on <> :h",
                    "ExpressionAttributeValues": {":h": {"S": holder}},
                }
            },
        ]
        try:
            self._request("transact_write_items", TransactItems=items)
        except ClientError as e:
            waits_again = error_code(e) == "TransactionCanceledException" and (
                "ConditionalCheckFailed" in cancellation_reasons(e)
            )
            if not waits_again:
                raise translate(e, f"TransactWriteItems {self.table} waiters of {holder}") from e
        except BotoCoreError as e:
            raise translate(e, f"TransactWriteItems {self.table} waiters of {holder}") from e

    def _transaction(
        self,
        new: ArticleState,
        old: ArticleState | None,
        entry: Entry | None,
        woken_by: str | None = None,
        *,
        keep_due: bool = False,
    ) -> list[dict[str, Any]]:
        """The writes that move an article from ``old`` to ``new`` in one transaction: its
        state, and each item of the module docstring's layout only where it changed."""
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
            claim = self._put(f"id#{new.article_id}", CLAIM_SK, new.key)
            claim["Put"] |= {
                "ConditionExpression": "attribute_not_exists(pk) OR #k = :key",
                "ExpressionAttributeNames": {"#k": "key"},
                "ExpressionAttributeValues": {":key": {"S": new.key}},
            }
            items.append(claim)
        if old_id and old_id != new.article_id:
            items.append(self._delete(f"id#{old_id}", CLAIM_SK))
        return items

    def _waiter_items(
        self, new: ArticleState, old: ArticleState | None, woken_by: str | None
    ) -> list[dict[str, Any]]:
        """Move the article to the waiters of the key it now waits on; the waiter item the
        current wake came through stays until that change is done."""
        items = []
        old_wait = old.waiting_on if old else None
        if old_wait and old_wait not in (new.waiting_on, woken_by):
            items.append(self._delete(WAITERS_PREFIX + old_wait, new.key))
        if new.waiting_on and new.waiting_on != old_wait:
            items.append(self._put(WAITERS_PREFIX + new.waiting_on, new.key, new.key))
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
        old_due, new_due = _due_sort_key(old), _due_sort_key(new)
        if old_due and old_due != new_due and not keep_due:
            items.append(self._delete(DUE_PK, old_due))
        if new_due and new_due != old_due:
            items.append(self._put(DUE_PK, new_due, new.key))
        return items

    def _tombstone_items(self, new: ArticleState, old: ArticleState | None) -> list[dict[str, Any]]:
        """List the new tombstone in place of the old (deleted only while it is the
        article's own); an article that goes live under an id takes that id's tombstone
        away, whoever left it (each item written at most once: a transaction refuses two
        writes of one item, and the last written here wins)."""
        writes: dict[str, dict[str, Any]] = {}
        old_tombstone = old.tombstone if old else None
        if old_tombstone is not None and old_tombstone != new.tombstone:
            # only if it is still ours: another file may have taken the id and left its own
            delete = self._delete(TOMBSTONES_PK, old_tombstone.ref)
            delete["Delete"] |= {
                "ConditionExpression": _OURS,
                "ExpressionAttributeNames": {"#k": "key"},
                "ExpressionAttributeValues": {":key": {"S": new.key}},
            }
            writes[old_tombstone.ref] = delete
        if new.tombstone is not None and new.tombstone != old_tombstone:
            item = {
                "pk": {"S": TOMBSTONES_PK},
                "sk": {"S": new.tombstone.ref},
                "key": {"S": new.key},
                **_tombstone_attributes(new.tombstone),
            }
            writes[new.tombstone.ref] = {"Put": {"TableName": self.table, "Item": item}}
        went_live = old is None or old.status is not ArticleStatus.LIVE
        if new.status is ArticleStatus.LIVE and new.article_id:
            ref = clean_xml_text(new.article_id)  # as entries and tombstones show it
            if went_live or old is None or old.article_id != new.article_id:
                writes[ref] = self._delete(TOMBSTONES_PK, ref)  # whoever's: the id is live
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
                self._delete(f"feed#{f.id}", old_sk)
                for f in sorted((old_feeds - new.feeds) | moved)
            )
        if new_sk and stored is not None:
            revision = {"rev": {"S": entry_revision(stored)}}
            for feed in sorted(new.feeds):
                member = self._put(f"feed#{feed.id}", new_sk, new.key)
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
        if new.tombstone is not None:
            sets.append("tombstone = :tombstone")
            values[":tombstone"] = {"M": _tombstone_attributes(new.tombstone, ref=True)}
        else:
            removes.append("tombstone")
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

    def _still_held(self, article_id: str, holder: str) -> dict[str, Any]:
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

    def _put(self, pk: str, sk: str, key: str) -> dict[str, Any]:
        """A put of an item that points at the article ``key``."""
        item = {"pk": {"S": pk}, "sk": {"S": sk}, "key": {"S": key}}
        return {"Put": {"TableName": self.table, "Item": item}}

    def _delete(self, pk: str, sk: str) -> dict[str, Any]:
        return {"Delete": {"TableName": self.table, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}}}


def _due_sort_key(state: ArticleState | None) -> str | None:
    """The ``due`` item of a scheduled state, or of a live one that expires (``None`` for any
    other state); it fits the 1,024 bytes of a sort key as articles refuse longer keys
    (``MAX_KEY_BYTES``)."""
    if state is None:
        return None
    if state.status is ArticleStatus.SCHEDULED and state.published:
        return f"{index_time(state.published)}#{state.key}"
    if state.status is ArticleStatus.LIVE and state.expires:
        return f"{index_time(state.expires)}#{state.key}"
    return None


#: The condition on deleting a tombstone an article left: it is still that article's.
_OURS = "attribute_not_exists(pk) OR #k = :key"


def _others_tombstones(items: list[dict[str, Any]], reasons: list[str]) -> set[int]:
    """Which of a cancelled transaction's ``items`` failed only because the tombstone they
    delete is another article's by now (see :data:`_OURS`)."""
    return {
        n
        for n, (item, reason) in enumerate(zip(items, reasons, strict=False))
        if reason == "ConditionalCheckFailed"
        and item.get("Delete", {}).get("ConditionExpression") == _OURS
    }


def _tombstone_attributes(tombstone: Tombstone, *, ref: bool = False) -> dict[str, Any]:
    """A tombstone's attributes (its ``ref`` is the sort key of its item: in a state's
    copy with ``ref``)."""
    attributes: dict[str, Any] = {
        "deleted_at": {"S": index_time(tombstone.when)},
        "entry_published": {"S": index_time(tombstone.published)},
    }
    if tombstone.comment:
        attributes["reason"] = {"S": tombstone.comment}
    if ref:
        attributes["entry_id"] = {"S": tombstone.ref}
    return attributes


def _tombstone_of(item: dict[str, Any]) -> Tombstone:
    """A tombstone from its item, or from a state's copy (a map with ``entry_id``)."""
    return Tombstone(
        ref=item["entry_id"]["S"] if "entry_id" in item else item["sk"]["S"],
        when=_time_of(item["deleted_at"]["S"]),
        comment=item.get("reason", {}).get("S"),
        published=_time_of(item["entry_published"]["S"]),
    )


def _entry_of(item: dict[str, Any]) -> StoredEntry | None:
    """The entry a state item holds (``None``: the article is in no feed)."""
    if "entry" not in item:
        return None
    stored = item["entry"]["B"]
    return StoredEntry(decode_entry(stored), entry_revision(stored))


def _state_from_item(item: dict[str, Any]) -> ArticleState:
    return ArticleState(
        key=item["key"]["S"],
        sequencer=item["seq"]["S"],
        status=ArticleStatus(item["status"]["S"]),
        article_id=item.get("article_id", {}).get("S"),
        feeds=frozenset(FeedKey.from_id(f["S"]) for f in item.get("feeds", {}).get("L", [])),
        previous_feeds=frozenset(
            FeedKey.from_id(f["S"]) for f in item.get("previous_feeds", {}).get("L", [])
        ),
        published=_time_of(item["published"]["S"]) if "S" in item.get("published", {}) else None,
        has_report=item.get("has_report", {}).get("BOOL", False),
        waiting_on=item.get("waiting_on", {}).get("S"),
        tombstone=_tombstone_of(item["tombstone"]["M"]) if "tombstone" in item else None,
        expires=_time_of(item["expires"]["S"]) if "S" in item.get("expires", {}) else None,
    )
