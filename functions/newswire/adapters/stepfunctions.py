"""Step Functions adapter: start the deployed reindex and read how far a run has got.

The only module that talks to Step Functions. The client is passed in (never created at
import), as for the other adapters; botocore failures are translated once, here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from newswire.adapters.aws_errors import error_code, translate
from newswire.errors import NewswireError

#: History events read from the newest back to find the running state: a Lambda task with
#: all its retries writes fewer, and a map state writes two while its Map Run goes on.
HISTORY_WINDOW = 50


class ExecutionExistsError(NewswireError):
    """An execution of that name exists and is not a running one with the same input.

    Step Functions keeps a STANDARD execution's name for 90 days after it ends: a finished
    run of that name already happened.
    """

    def __init__(self, name: str) -> None:
        super().__init__(f"reindex execution {name}: already exists")
        self.name = name


class ExecutionStatus(StrEnum):
    """What ``DescribeExecution`` says of a run."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"
    PENDING_REDRIVE = "PENDING_REDRIVE"


@dataclass(frozen=True, slots=True)
class Execution:
    """One run of the state machine: its status and, once failed, AWS's error and cause."""

    arn: str
    name: str
    status: ExecutionStatus
    started: datetime
    stopped: datetime | None = None
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """Where a run is: the state it last entered, and that state's Map Run if it started one."""

    state: str | None
    map_run_arn: str | None = None


@dataclass(frozen=True, slots=True)
class MapRunCounts:
    """The items of a Distributed Map run (``DescribeMapRun``'s ``itemCounts``)."""

    total: int
    succeeded: int
    failed: int
    running: int
    pending: int
    timed_out: int = 0
    aborted: int = 0

    @property
    def unsuccessful(self) -> int:
        """Items that failed, timed out or were aborted."""
        return self.failed + self.timed_out + self.aborted


class StateMachine:
    """One state machine, by ARN: start runs, and follow them.

    Args:
        client: a boto3 ``stepfunctions`` client.
        arn: the state machine's ARN.
    """

    def __init__(self, client: Any, arn: str) -> None:
        self._sfn = client
        self.arn = arn

    def start(self, name: str | None, payload: Mapping[str, Any]) -> str:
        """Start a run; return its ARN.

        Step Functions makes a named start idempotent: the same name and input as a running
        execution returns that execution.

        Args:
            name: the execution's name (1-80 characters), or ``None`` for a generated one.
            payload: the execution's input (JSON).

        Raises:
            ExecutionExistsError: a finished execution (or one with other input) has the name.
            StorageError: Step Functions failed or refused.
        """
        params: dict[str, Any] = {"stateMachineArn": self.arn, "input": json.dumps(payload)}
        if name is not None:
            params["name"] = name
        response = self._call("start_execution", f"StartExecution {self.arn}", **params)
        return str(response["executionArn"])

    def latest_execution_name(self) -> str | None:
        """The name of the run started last (any status), or ``None`` if it never ran."""
        response = self._call(
            "list_executions", f"ListExecutions {self.arn}", stateMachineArn=self.arn, maxResults=1
        )
        executions = response.get("executions", [])
        return str(executions[0]["name"]) if executions else None

    def describe(self, execution_arn: str) -> Execution:
        """The run's status, start and stop, and AWS's error and cause if it failed."""
        r = self._call(
            "describe_execution", f"DescribeExecution {execution_arn}", executionArn=execution_arn
        )
        return Execution(
            arn=execution_arn,
            name=str(r["name"]),
            status=ExecutionStatus(r["status"]),
            started=r["startDate"],
            stopped=r.get("stopDate"),
            error=r.get("error"),
            cause=r.get("cause"),
        )

    def position(self, execution_arn: str) -> Position:
        """The state the run entered last, from the newest events of its history.

        A Distributed Map state's history holds its ``MapRunStarted`` event right after its
        ``MapStateEntered``: seen first when read newest first, it names the state's run.
        """
        events = self._call(
            "get_execution_history",
            f"GetExecutionHistory {execution_arn}",
            executionArn=execution_arn,
            reverseOrder=True,
            maxResults=HISTORY_WINDOW,
            includeExecutionData=False,
        ).get("events", [])
        map_run_arn = None
        for event in events:
            if event["type"] == "MapRunStarted":
                map_run_arn = event.get("mapRunStartedEventDetails", {}).get("mapRunArn")
            elif event["type"].endswith("StateEntered"):
                return Position(event["stateEnteredEventDetails"]["name"], map_run_arn)
        return Position(None)

    def map_run(self, map_run_arn: str) -> MapRunCounts:
        """How many items of a Distributed Map run are done, failed, running, waiting."""
        counts = self._call(
            "describe_map_run", f"DescribeMapRun {map_run_arn}", mapRunArn=map_run_arn
        )["itemCounts"]
        return MapRunCounts(
            total=int(counts["total"]),
            succeeded=int(counts["succeeded"]),
            failed=int(counts["failed"]),
            running=int(counts["running"]),
            pending=int(counts["pending"]),
            timed_out=int(counts.get("timedOut", 0)),
            aborted=int(counts.get("aborted", 0)),
        )

    def _call(self, method: str, what: str, **params: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self._sfn, method)(**params)
        except ClientError as e:
            if error_code(e) == "ExecutionAlreadyExists":
                raise ExecutionExistsError(str(params.get("name"))) from e
            raise translate(e, what) from e
        except BotoCoreError as e:
            raise translate(e, what) from e
        return response
