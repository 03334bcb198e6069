"""Two of moto's DynamoDB costs removed, for tests that make thousands of requests.

moto answers a ``Query`` by listing and sorting every item of the table before it keeps one
partition's, and deep-copies the whole table once per *item* of a ``TransactWriteItems`` (a
backup to roll back to). Both are O(table) per call where DynamoDB is not, and made a
stream of a few hundred publishes take minutes. Neither change alters a request, a response
or a stored item: ``Query`` is handed the one partition moto would have kept (it still sorts,
filters, pages and projects it), and a transaction backs each table up once, before any of its
items is applied, as it did before. (benchmarks/publish.py removes the same costs, among
others.)
"""

from __future__ import annotations

import copy
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import moto.dynamodb.models as backend_module
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table


@contextmanager
def quicker_dynamodb() -> Iterator[None]:
    """Patch moto's DynamoDB ``Query`` and ``TransactWriteItems`` for the ``with`` block."""
    real_query = Table.query
    real_transact = DynamoDBBackend.transact_write_items

    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name is not None or hash_key is None or not self.range_key_attr:
            return real_query(self, hash_key, *args, **kwargs)
        partition: list[Item] = list(self.items.get(hash_key, {}).values())
        self.all_items = lambda: partition  # type: ignore[method-assign]
        try:
            return real_query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    def transact_write_items(self: DynamoDBBackend, transact_items: Any) -> None:
        backups: dict[int, Any] = {}

        def deepcopy(value: Any, memo: Any = None) -> Any:
            if isinstance(value, Table):  # the backups, all taken before any item is applied
                if id(value) not in backups:
                    backups[id(value)] = copy.deepcopy(value)
                return backups[id(value)]
            return copy.deepcopy(value, memo)

        backend_module.copy = types.SimpleNamespace(deepcopy=deepcopy)  # type: ignore[attr-defined,assignment]
        try:
            real_transact(self, transact_items)
        finally:
            backend_module.copy = copy  # type: ignore[attr-defined]

    Table.query = query  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query = real_query  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = real_transact  # type: ignore[method-assign]
