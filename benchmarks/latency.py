"""The AWS latency and cost model of the engine benchmark, in one place.

**Latency.** Every request the code makes on a modelled client takes exactly its operation's
in-region latency (:data:`LATENCY_MS`) in wall time: botocore hooks on the very clients the
code uses time what moto spent answering it and then sleep the rest of the modelled latency,
in the thread that made the request (see :class:`LatencyModel`). moto's CPU is so
subtracted, and requests the code keeps in flight together (threads) overlap their waits as
network round trips would. A request moto took longer to answer than its latency costs what
moto took (never less).

**Cost.** :data:`PRICES` (AWS list prices, us-east-1, as of :data:`PRICES_AS_OF`) and the
request units each DynamoDB request consumes, estimated from the items it read or wrote
(:func:`item_size`): reads 4 KB per read unit (eventually consistent: half), writes 1 KB per
write unit, a transaction's items twice. Simplifications: a read is charged for the
attributes it returned (a projection still reads the whole item in DynamoDB, so a projected
read is undercounted); an ``UpdateItem`` (alone or in a transaction) is charged for the
attributes it sends, where DynamoDB charges the larger of the item before and after; a
``ConditionCheck`` or ``Delete`` in a transaction, and a delete, for 1 KB.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

#: Modelled in-region latency of one request, per ``service.Operation`` (milliseconds).
LATENCY_MS: Mapping[str, float] = {
    "s3.GetObject": 30,
    "s3.HeadObject": 20,
    "s3.PutObject": 50,
    "s3.ListObjectsV2": 40,
    "s3.DeleteObject": 30,  # chosen: a small write without a body
    "dynamodb.GetItem": 6,
    "dynamodb.Query": 10,
    "dynamodb.TransactWriteItems": 20,
    "dynamodb.BatchGetItem": 10,
    "dynamodb.BatchWriteItem": 15,
    "dynamodb.Scan": 15,  # chosen: per page
    "dynamodb.PutItem": 8,  # chosen: a single-item write
    "dynamodb.UpdateItem": 8,  # chosen
    "dynamodb.DeleteItem": 8,  # chosen
}
#: Any operation not listed above (chosen: a small request).
DEFAULT_LATENCY_MS = 20.0

#: Where the prices below come from, and when they were read.
PRICES_AS_OF = "AWS list prices, us-east-1, as published in 2025 (check before quoting)"


@dataclass(frozen=True)
class Price:
    """One line of the price table: what is charged, per how many, and at what price."""

    item: str
    usd: float
    per: float

    @property
    def unit_usd(self) -> float:
        return self.usd / self.per


#: AWS list prices, us-east-1 (see :data:`PRICES_AS_OF`).
PRICES: Mapping[str, Price] = {
    "lambda_gb_s": Price("Lambda compute, arm64, per GB-second", 0.0000133334, 1),
    "lambda_request": Price("Lambda requests, per million", 0.20, 1e6),
    "s3_write": Price("S3 Standard PUT, COPY, POST, LIST, per 1,000", 0.005, 1000),
    "s3_read": Price("S3 Standard GET, HEAD and other requests, per 1,000", 0.0004, 1000),
    "dynamodb_wru": Price("DynamoDB on-demand write request units, per million", 0.625, 1e6),
    "dynamodb_rru": Price("DynamoDB on-demand read request units, per million", 0.125, 1e6),
    "sfn_transition": Price("Step Functions Standard state transitions, per 1,000", 0.025, 1000),
    "sqs_request": Price("SQS standard requests (64 KB chunks), per million", 0.40, 1e6),
}
#: S3 operations charged as writes (everything else but ``DeleteObject``, which is free, as reads).
S3_WRITES = frozenset({"PutObject", "CopyObject", "PostObject", "ListObjectsV2", "ListObjects"})
S3_FREE = frozenset({"DeleteObject", "DeleteObjects"})


def latency_s(operation: str) -> float:
    """The modelled latency of ``"service.Operation"``, in seconds."""
    return LATENCY_MS.get(operation, DEFAULT_LATENCY_MS) / 1000


def _value_size(value: Mapping[str, Any]) -> int:
    """A DynamoDB attribute value's size by DynamoDB's rules (numbers approximated)."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "B":
        return len(inner)
    if kind == "N":
        return len(str(inner).lstrip("-").replace(".", "")) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS", "NS"):
        return sum(_value_size({kind[0]: v}) for v in inner)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind == "M":
        return 3 + item_size(inner) + len(inner)
    return 1


def item_size(item: Mapping[str, Any]) -> int:
    """Bytes of a DynamoDB item (attribute names plus values), as request units count them."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _reads(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return units if consistent else units / 2


def _writes(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _write_item_size(action: str, body: Mapping[str, Any]) -> int:
    """What a write is charged for, by the simplifications in the module docstring."""
    if action == "Put":
        return item_size(body.get("Item", {}))
    if action == "Update":
        return item_size(body.get("Key", {})) + item_size(body.get("ExpressionAttributeValues", {}))
    return 1024  # ConditionCheck, Delete


def capacity(operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]) -> Counter[str]:
    """The DynamoDB read and write request units (``"rru"``, ``"wru"``) of one request."""
    units: Counter[str] = Counter()
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        units["rru"] += _reads(item_size(parsed.get("Item", {})), consistent)
    elif operation in ("Query", "Scan"):
        units["rru"] += _reads(sum(item_size(i) for i in parsed.get("Items", [])), consistent)
    elif operation == "BatchGetItem":
        for table, items in parsed.get("Responses", {}).items():
            strong = bool(params.get("RequestItems", {}).get(table, {}).get("ConsistentRead"))
            units["rru"] += sum(_reads(item_size(i), strong) for i in items)
    elif operation == "TransactGetItems":
        units["rru"] += sum(
            2 * _reads(item_size(r.get("Item", {})), True) for r in parsed.get("Responses", [])
        )
    elif operation == "PutItem":
        units["wru"] += _writes(_write_item_size("Put", params))
    elif operation == "UpdateItem":
        units["wru"] += _writes(_write_item_size("Update", params))
    elif operation == "DeleteItem":
        units["wru"] += 1
    elif operation == "TransactWriteItems":
        for entry in params.get("TransactItems", []):
            ((action, body),) = entry.items()
            units["wru"] += 2 * _writes(_write_item_size(action, body))
    elif operation == "BatchWriteItem":
        for requests in params.get("RequestItems", {}).values():
            for request in requests:
                put = request.get("PutRequest")
                units["wru"] += _writes(item_size(put["Item"])) if put else 1
    return units


@dataclass
class Usage:
    """What the requests made under the model asked of AWS."""

    requests: Counter[str] = field(default_factory=Counter)  # "s3.GetObject" -> count
    units: Counter[str] = field(default_factory=Counter)  # "rru", "wru"
    #: Seconds: "modelled" (the requests' latencies, summed), "moto" (moto's time on them),
    #: "over" (moto's time beyond a request's latency: what the model could not hide).
    seconds: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.requests + other.requests, self.units + other.units, self.seconds + other.seconds
        )

    def scaled(self, factor: float) -> Usage:
        """This usage ``factor`` times over (counts stay fractional: they are estimates)."""
        return Usage(
            Counter({k: v * factor for k, v in self.requests.items()}),  # type: ignore[misc]
            Counter({k: v * factor for k, v in self.units.items()}),  # type: ignore[misc]
            Counter({k: v * factor for k, v in self.seconds.items()}),  # type: ignore[misc]
        )

    def without(self, operations: frozenset[str]) -> Usage:
        """This usage minus the requests of ``operations`` (their units are kept)."""
        return Usage(
            Counter({k: v for k, v in self.requests.items() if k not in operations}),
            Counter(self.units),
            Counter(self.seconds),
        )


class LatencyModel:
    """Botocore hooks that make each request on ``clients`` take its modelled latency, and
    count what it asked for.

    moto answers a request inside botocore's ``before-send`` event: the time from a hook
    registered first on that event to ``before-parse`` is moto's, and is what the request
    sleeps less. Serialising and parsing stay what they cost, as in a function. Where moto
    took longer than the latency (a large ``BatchGetItem``), the thread is behind by the
    difference: its next requests sleep that much less until it has caught up, so a chain of
    requests takes the sum of their latencies whenever moto's time fits within it. What a
    thread still owes when the usage is taken is reported (``seconds["unrecovered"]``): it
    stayed in the wall time.

    Requests run in threads: each thread keeps its own request's timings (a thread makes one
    at a time) and its own debt; the counters are updated under a lock. Paused
    (:meth:`paused`), requests take moto's time and are not counted: the setup.
    """

    def __init__(self, clients: list[Any]) -> None:
        self.usage = Usage()
        self.active = True
        self._lock = threading.Lock()
        self._local = threading.local()
        self._behind: dict[int, float] = {}  # thread -> seconds moto put it behind the model
        for client in clients:
            events = client.meta.events
            events.register("before-parameter-build", self._params)
            events.register("before-call", self._started)
            events.register_first("before-send", self._sending)
            events.register("before-parse", self._answered)
            events.register("after-call", self._done)
            events.register("after-call-error", self._done)

    def take(self) -> Usage:
        """The usage since the last ``take``, and start counting again."""
        with self._lock:
            usage, self.usage = self.usage, Usage()
            usage.seconds["unrecovered"] += sum(self._behind.values())
            self._behind.clear()
        return usage

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Within the block, no modelled latency and no counting (setup and checks)."""
        self.active = False
        try:
            yield
        finally:
            self.active = True

    @staticmethod
    def _params(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["latency_params"] = params

    def _started(self, **_: Any) -> None:
        self._local.moto_s, self._local.attempts, self._local.sent = 0.0, 0, None

    def _sending(self, **_: Any) -> None:
        self._local.attempts += 1
        self._local.sent = time.perf_counter()

    def _answered(self, **_: Any) -> None:
        if self._local.sent is not None:
            self._local.moto_s += time.perf_counter() - self._local.sent
            self._local.sent = None

    def _done(
        self,
        event_name: str,
        context: dict[str, Any],
        parsed: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> None:
        self._answered()  # a request that failed before its answer was parsed
        if not self.active:
            return
        operation = event_name.split(".", 1)[1]  # "after-call.s3.GetObject"
        service, name = operation.split(".", 1)
        units = (
            capacity(name, context.get("latency_params", {}), parsed or {})
            if service == "dynamodb"
            else Counter()
        )
        modelled = max(1, self._local.attempts) * latency_s(operation)
        thread = threading.get_ident()
        with self._lock:
            remaining = modelled - self._local.moto_s - self._behind.pop(thread, 0.0)
            if remaining < 0:
                self._behind[thread] = -remaining
            self.usage.requests[operation] += 1
            self.usage.units.update(units)
            self.usage.seconds.update(
                modelled=modelled,
                moto=self._local.moto_s,
                over=max(0.0, self._local.moto_s - modelled),
            )
        if remaining > 0:
            time.sleep(remaining)


@dataclass(frozen=True)
class Cost:
    """A workload's cost at :data:`PRICES`, by service (US dollars)."""

    lambda_usd: float = 0.0
    s3_usd: float = 0.0
    dynamodb_usd: float = 0.0
    step_functions_usd: float = 0.0
    sqs_usd: float = 0.0

    @property
    def total_usd(self) -> float:
        services = (self.lambda_usd, self.s3_usd, self.dynamodb_usd, self.step_functions_usd)
        return sum(services) + self.sqs_usd

    def as_dict(self) -> dict[str, float]:
        return {
            "lambda": self.lambda_usd,
            "s3": self.s3_usd,
            "dynamodb": self.dynamodb_usd,
            "step_functions": self.step_functions_usd,
            "sqs": self.sqs_usd,
            "total": self.total_usd,
        }


def _unit(name: str) -> float:
    return PRICES[name].unit_usd


def cost(
    usage: Usage,
    *,
    lambda_gb_s: float = 0.0,
    invocations: float = 0.0,
    transitions: float = 0.0,
    sqs_requests: float = 0.0,
) -> Cost:
    """The price of ``usage`` plus the Lambda, Step Functions and SQS work around it."""
    s3 = 0.0
    for operation, count in usage.requests.items():
        service, name = operation.split(".", 1)
        if service == "s3" and name not in S3_FREE:
            s3 += count * _unit("s3_write" if name in S3_WRITES else "s3_read")
    return Cost(
        lambda_usd=lambda_gb_s * _unit("lambda_gb_s") + invocations * _unit("lambda_request"),
        s3_usd=s3,
        dynamodb_usd=usage.units["rru"] * _unit("dynamodb_rru")
        + usage.units["wru"] * _unit("dynamodb_wru"),
        step_functions_usd=transitions * _unit("sfn_transition"),
        sqs_usd=sqs_requests * _unit("sqs_request"),
    )


def model_table() -> list[str]:
    """The latency model and the prices, as Markdown lines for RESULTS.md."""
    latencies = ", ".join(f"{op} {ms:g}" for op, ms in LATENCY_MS.items())
    return [
        f"Latency model (ms per request, `benchmarks/latency.py`): {latencies}; any other "
        f"operation {DEFAULT_LATENCY_MS:g}. moto's own time on each request is subtracted "
        "(it sleeps the rest of its latency), and requests in flight together overlap.",
        "",
        f"| price ({PRICES_AS_OF}) | USD |",
        "|---|---:|",
        *(f"| {p.item} | {p.usd:g} |" for p in PRICES.values()),
    ]
