"""The DynamoDB index: article states, id claims and per-feed membership, in one table.

The table's items and how they are encoded are in :mod:`~newswire.adapters.dynamodb_layout`,
the transaction that keeps them in step with an article's state in
:mod:`~newswire.adapters.dynamodb_writes`; this module reads them and sends the writes.

All reads are strongly consistent: a publisher must see every change indexed before it. Every
call is tried again after a short jittered pause while AWS answers "try again" (throttling, a
transaction conflict, unprocessed keys: see :class:`~newswire.adapters.aws_errors.Backoff`),
then fails as a :class:`~newswire.errors.TransientStorageError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
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
from newswire.adapters.dynamodb_layout import (
    CLAIM_SK,
    DUE_PK,
    MONTHS_PK,
    STATE_FIELDS,
    STATE_NAMES,
    STATE_SK,
    TOMBSTONES_PK,
    WAITERS_PREFIX,
    entry_of,
    index_time,
    state_from_item,
    time_of,
    tombstone_attributes,
    tombstone_of,
)
from newswire.adapters.dynamodb_writes import TableWrites, others_tombstones
from newswire.domain.feeds import FeedKey
from newswire.domain.model import Entry, Tombstone
from newswire.errors import InvalidArticleError, TransientStorageError
from newswire.pipeline.ports import ArticleState, Due, Listing, StoredEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")


class DynamoArticleIndex:
    """The :class:`~newswire.pipeline.ports.ArticleIndex` on one DynamoDB table."""

    def __init__(
        self, client: DynamoDBClient, table: str, *, backoff: Backoff = DEFAULT_BACKOFF
    ) -> None:
        self._db = client
        self.table = table
        self._backoff = backoff
        self._writes = TableWrites(table)

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
                ProjectionExpression=STATE_FIELDS,
                ExpressionAttributeNames=STATE_NAMES,
            )
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"GetItem {self.table} {key}") from e
        item = response.get("Item")
        return None if item is None else state_from_item(item)

    def states(self) -> Iterator[ArticleState]:
        """Every article state (a full scan, for reindexing)."""
        try:
            for page in self._pages(
                "scan",
                TableName=self.table,
                ConsistentRead=True,
                FilterExpression="sk = :state",
                ExpressionAttributeValues={":state": {"S": STATE_SK}},
                ProjectionExpression=STATE_FIELDS,
                ExpressionAttributeNames=STATE_NAMES,
            ):
                for item in page.get("Items", []):
                    yield state_from_item(item)
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"Scan {self.table}") from e

    def states_of(self, keys: Sequence[str]) -> dict[str, ArticleState]:
        """The states of ``keys``: one BatchGetItem per 100 keys."""
        return self._batch_get(keys, STATE_FIELDS, STATE_NAMES, state_from_item)

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
        return self._batch_get(keys, "#k, entry", {"#k": "key"}, entry_of)

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
        return [Due(item["key"]["S"], time_of(item["sk"]["S"].split("#", 1)[0])) for item in items]

    def forget_due(self, due: Due) -> None:
        """Delete the due item (gone already: nothing to do)."""
        sort_key = f"{index_time(due.at)}#{due.key}"
        try:
            self._request("delete_item", **self._writes.delete(DUE_PK, sort_key)["Delete"])
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"DeleteItem {self.table} due {due.key}") from e

    def tombstones(self) -> Sequence[Tombstone]:
        """Every tombstone listed: one Query (a page per MB)."""
        try:
            return [
                tombstone_of(item)
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
        attributes = tombstone_attributes(tombstone)
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
        items = self._writes.transaction(new, old, entry, woken_by, keep_due=keep_due)
        if new.waiting_on and waiting_for:
            # Checked in the transaction: a holder that let the id go before the wait is
            # written has found no waiter to wake, so the wait must not be written then.
            items.append(self._writes.still_held(waiting_for, new.waiting_on))
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
                others = others_tombstones(items, reasons)
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
            self._writes.delete(WAITERS_PREFIX + holder, key),
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
