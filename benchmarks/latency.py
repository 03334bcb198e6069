"""The AWS latency and cost model of the engine benchmark, in one place.

**Latency.** Every request the code makes on a modelled client takes exactly its operation's
in-region latency (:data:`LATENCY_MS`): botocore hooks on the very clients the code uses
make the thread that sent it wait that long before it reads the answer
(:class:`LatencyModel`), on a clock that stands still while moto answers
(:class:`MotoClock`): moto's CPU is subtracted, our own (serialising, parsing, the work
between requests) counts, and requests the code keeps in flight together (threads) overlap
their waits as network round trips would.

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
    "sfn_express_request": Price("Step Functions Express executions, per million", 1.00, 1e6),
    "sfn_express_gb_s": Price("Step Functions Express duration, per GB-second", 0.00001667, 1),
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
    #: Seconds: "modelled" (the requests' latencies, summed; they overlap in threads).
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


class MotoClock:
    """A clock that stands still while moto answers a request.

    moto's backends take one request at a time (a lock around its botocore hook, as
    ``newswire.local.moto_server.serialise_in_process_moto`` does for the tests); the time
    inside that lock is moto's own, which AWS does not spend on our side. :meth:`now` is the
    wall clock minus all of it, so our own CPU and the modelled waits are all it measures,
    whichever thread moto was busy for and whoever waited for it meanwhile.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy = 0.0  # seconds moto answered, in all
        self._since: float | None = None  # when moto started the answer under way

    def install(self) -> None:
        """Serialise moto's in-process answers through this clock (once per process)."""
        from moto.core.botocore_stubber import BotocoreStubber

        call = BotocoreStubber.__call__
        if getattr(call, "serialised", False):
            raise RuntimeError("moto is serialised already: its time could not be taken out")
        clock = self

        def one_at_a_time(stubber: Any, *args: Any, **kwargs: Any) -> Any:
            with clock._lock:
                clock._since = time.perf_counter()
                try:
                    return call(stubber, *args, **kwargs)
                finally:
                    clock._busy += time.perf_counter() - clock._since
                    clock._since = None

        one_at_a_time.serialised = True  # type: ignore[attr-defined]
        BotocoreStubber.__call__ = one_at_a_time  # type: ignore[method-assign]

    def moto_s(self) -> float:
        """Seconds moto has spent answering, so far."""
        since = self._since
        return self._busy + (time.perf_counter() - since if since is not None else 0.0)

    def now(self) -> float:
        """Wall time minus moto's: what our CPU and the modelled waits took."""
        return time.perf_counter() - self.moto_s()

    def sleep_until(self, moment: float) -> None:
        """Wait until :meth:`now` reaches ``moment`` (longer if moto answers meanwhile)."""
        while (left := moment - self.now()) > 0:
            time.sleep(left)


class LatencyModel:
    """Botocore hooks that make each request on ``clients`` take its modelled latency on
    ``clock``, and count what it asked for.

    A request is sent (``before-send``: a hook registered first, before moto's) and its
    answer is parsed (``before-parse``) no earlier than its latency later on the clock, which
    leaves moto's time out: the thread sleeps what remains. Serialising and parsing are ours
    and stay on the clock, as in a function. Requests in flight together in threads overlap
    their waits, as network round trips do. Counters are updated under a lock; each thread
    keeps its own request's send time (a thread makes one request at a time). Paused
    (:meth:`paused`), requests take no modelled time and are not counted: the setup.
    """

    def __init__(self, clients: list[Any], clock: MotoClock) -> None:
        self.usage = Usage()
        self.active = True
        self.clock = clock
        self._lock = threading.Lock()
        self._local = threading.local()
        for client in clients:
            events = client.meta.events
            events.register("before-parameter-build", self._params)
            events.register_first("before-send", self._sending)
            events.register("before-parse", self._answered)
            events.register("after-call", self._done)

    def take(self) -> Usage:
        """The usage since the last ``take``, and start counting again."""
        with self._lock:
            usage, self.usage = self.usage, Usage()
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

    def _sending(self, event_name: str, **_: Any) -> None:
        self._local.sent = self.clock.now()
        self._local.operation = event_name.split(".", 1)[1]  # "before-send.s3.GetObject"

    def _answered(self, **_: Any) -> None:
        sent = getattr(self._local, "sent", None)
        if sent is None or not self.active:
            return
        self._local.sent = None
        latency = latency_s(self._local.operation)
        with self._lock:
            self.usage.seconds["modelled"] += latency
        self.clock.sleep_until(sent + latency)

    def _done(
        self,
        event_name: str,
        context: dict[str, Any],
        parsed: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> None:
        if not self.active:
            return
        operation = event_name.split(".", 1)[1]  # "after-call.s3.GetObject"
        service, name = operation.split(".", 1)
        units = (
            capacity(name, context.get("latency_params", {}), parsed or {})
            if service == "dynamodb"
            else Counter()
        )
        with self._lock:
            self.usage.requests[operation] += 1
            self.usage.units.update(units)


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
    express_executions: float = 0.0,
    express_gb_s: float = 0.0,
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
        step_functions_usd=transitions * _unit("sfn_transition")
        + express_executions * _unit("sfn_express_request")
        + express_gb_s * _unit("sfn_express_gb_s"),
        sqs_usd=sqs_requests * _unit("sqs_request"),
    )


def model_table() -> list[str]:
    """The latency model and the prices, as Markdown lines for RESULTS.md."""
    latencies = ", ".join(f"{op} {ms:g}" for op, ms in LATENCY_MS.items())
    return [
        f"Latency model (ms per request, `benchmarks/latency.py`): {latencies}; any other "
        f"operation {DEFAULT_LATENCY_MS:g}. Each request on the handlers' own clients waits "
        "its latency before its answer is read, on a clock that stands still while moto "
        "answers (moto's time is left out, our CPU counts), and requests in flight together "
        "overlap.",
        "",
        f"| price ({PRICES_AS_OF}) | USD |",
        "|---|---:|",
        *(f"| {p.item} | {p.usd:g} |" for p in PRICES.values()),
    ]
