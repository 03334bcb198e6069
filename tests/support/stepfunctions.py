"""A reindex run as Step Functions reports it, for the calls moto cannot answer.

moto stores state machines and starts executions (with AWS's name and input rules) but runs
none: its executions stay ``RUNNING``, their history is a fixed example, and it has no Map
Runs (``DescribeMapRun`` answers ``{}``). :class:`ScriptedRun` answers ``DescribeExecution``,
``GetExecutionHistory`` and ``DescribeMapRun`` of one client from a list of snapshots, one
per look (``DescribeExecution`` moves to the next), through a ``before-call`` hook as
botocore's Stubber does, and checks every answer against the service's output shape; the
other calls (``StartExecution``) still go to moto.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

STARTED = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class MapRun:
    """A Distributed Map run's item counts at one look."""

    arn: str
    succeeded: int
    total: int
    failed: int = 0
    running: int = 0


@dataclass(frozen=True)
class Snapshot:
    """The run at one look: its status, the state it entered last, that state's map run."""

    state: str | None
    status: str = "RUNNING"
    map_run: MapRun | None = None
    #: Map runs that ended before this look, by ARN (their final counts).
    ended: tuple[MapRun, ...] = ()
    error: str | None = None
    cause: str | None = None
    seconds: int = 0


@dataclass
class ScriptedRun:
    """Answers one client's questions about a run from ``snapshots``, one per look."""

    snapshots: Sequence[Snapshot]
    looks: int = 0
    calls: list[str] = field(default_factory=list)

    def attach(self, client: Any) -> None:
        for operation in ("DescribeExecution", "GetExecutionHistory", "DescribeMapRun"):
            client.meta.events.register(f"before-call.sfn.{operation}", self._answer)

    @property
    def now(self) -> Snapshot:
        return self.snapshots[min(self.looks, len(self.snapshots)) - 1]

    def _answer(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, Any]:
        request = json.loads(params["body"] or b"{}")
        self.calls.append(model.name)
        if model.name == "DescribeExecution":
            self.looks += 1
            response = self._execution(request["executionArn"])
        elif model.name == "GetExecutionHistory":
            assert request["reverseOrder"] is True
            response = {"events": self._events()[: request["maxResults"]]}
        else:
            response = self._map_run(request["mapRunArn"])
        validate_parameters(response, model.output_shape)
        return AWSResponse("https://states.example", 200, {}, None), response

    def _execution(self, arn: str) -> dict[str, Any]:
        snapshot = self.now
        response: dict[str, Any] = {
            "executionArn": arn,
            "stateMachineArn": arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0],
            "name": arn.rsplit(":", 1)[1],
            "status": snapshot.status,
            "startDate": STARTED,
        }
        if snapshot.status != "RUNNING":
            response["stopDate"] = STARTED + timedelta(seconds=snapshot.seconds)
        if snapshot.error:
            response["error"] = snapshot.error
            response["cause"] = snapshot.cause
        return response

    def _events(self) -> list[dict[str, Any]]:
        """Newest first: the state entered last, after it its map run, then older noise."""
        snapshot = self.now
        events: list[dict[str, Any]] = []
        if snapshot.map_run is not None:
            events.append(
                {
                    "timestamp": STARTED,
                    "type": "MapRunStarted",
                    "id": 4,
                    "mapRunStartedEventDetails": {"mapRunArn": snapshot.map_run.arn},
                }
            )
        if snapshot.state is not None:
            kind = "Map" if snapshot.map_run else "Task"
            events.append(
                {
                    "timestamp": STARTED,
                    "type": f"{kind}StateEntered",
                    "id": 3,
                    "stateEnteredEventDetails": {"name": snapshot.state},
                }
            )
        events.append({"timestamp": STARTED, "type": "ExecutionStarted", "id": 1})
        return events

    def _map_run(self, arn: str) -> dict[str, Any]:
        snapshot = self.now
        (run,) = [r for r in (snapshot.map_run, *snapshot.ended) if r is not None and r.arn == arn]
        pending = run.total - run.succeeded - run.failed - run.running
        counts = {
            "pending": pending,
            "running": run.running,
            "succeeded": run.succeeded,
            "failed": run.failed,
            "timedOut": 0,
            "aborted": 0,
            "total": run.total,
            "resultsWritten": 0,
        }
        return {
            "mapRunArn": arn,
            "executionArn": arn.replace(":mapRun:", ":execution:"),
            "status": "RUNNING" if run is snapshot.map_run else "SUCCEEDED",
            "startDate": STARTED,
            "maxConcurrency": 40,
            "toleratedFailurePercentage": 0.0,
            "toleratedFailureCount": 0,
            "itemCounts": counts,
            "executionCounts": counts,
        }
