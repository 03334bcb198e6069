"""``newswire reindex --deployed``: start the deployed reindex and follow it to its end.

The reindex runs in AWS as a Step Functions state machine (``infra/newswire_infra/reindex.py``):
``Begin``, then ``IndexArticles`` (a Distributed Map over the articles), ``Plan``, then
``RenderFeeds`` (a Distributed Map over the feeds), then ``WriteDirectory``. This command
starts it and prints a line each time what it would say changes: the phase, and in a map
phase how many items are done.
It exits 0 when the run succeeds, 1 when it fails (with AWS's error and cause), 2 when it could
not be started or followed.

The state machine is found by ``--state-machine-arn``, else ``$REINDEX_STATE_MACHINE_ARN``,
else the ``ReindexStateMachineArn`` output that ``infra/deploy.sh`` saved in
``infra/build/outputs.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from newswire.errors import NewswireError
from newswire.runtime import STATE_MACHINE_VARIABLE

if TYPE_CHECKING:
    from newswire.adapters.stepfunctions import Execution, StateMachine

#: The stack output that names it, in the outputs ``infra/deploy.sh`` saves.
REINDEX_OUTPUT = "ReindexStateMachineArn"
STACK_NAME = "Newswire"
DEFAULT_OUTPUTS = Path("infra/build/outputs.json")
#: Seconds between two looks at a run: a reindex takes minutes, each look costs three calls.
POLL_SECONDS = 3.0


class ReindexPhase(StrEnum):
    """The states of the reindex state machine, in the order they run (infra names them so)."""

    BEGIN = "Begin"
    INDEX = "IndexArticles"
    PLAN = "Plan"
    RENDER = "RenderFeeds"
    DIRECTORY = "WriteDirectory"


#: The phases that are Distributed Maps: their progress is counted in items.
MAP_PHASES = frozenset({ReindexPhase.INDEX, ReindexPhase.RENDER})


def add_arguments(reindex: argparse.ArgumentParser) -> None:
    """Add ``--deployed`` and how to find the state machine to ``newswire reindex``."""
    reindex.add_argument(
        "--deployed",
        action="store_true",
        help="start the deployed reindex (Step Functions) and follow it to its end",
    )
    reindex.add_argument(
        "--state-machine-arn",
        default=os.environ.get(STATE_MACHINE_VARIABLE),
        help=f"with --deployed: the stack output {REINDEX_OUTPUT} "
        f"(default: ${STATE_MACHINE_VARIABLE}, else --outputs)",
    )
    reindex.add_argument(
        "--outputs",
        type=Path,
        default=DEFAULT_OUTPUTS,
        help="with --deployed: the stack outputs make deploy saved (default: %(default)s)",
    )


def find_state_machine(arn: str | None, outputs: Path = DEFAULT_OUTPUTS) -> str:
    """The reindex state machine's ARN: ``arn`` if given, else the saved stack output.

    Args:
        arn: from ``--state-machine-arn`` or ``$REINDEX_STATE_MACHINE_ARN``.
        outputs: the outputs file ``infra/deploy.sh`` writes.

    Raises:
        NewswireError: neither names it.
    """
    if arn:
        return arn
    try:
        saved = json.loads(outputs.read_text(encoding="utf-8"))[STACK_NAME][REINDEX_OUTPUT]
    except (OSError, ValueError, KeyError, TypeError):
        saved = None
    if not isinstance(saved, str) or not saved:
        raise NewswireError(
            f"reindex --deployed: no state machine: pass --state-machine-arn, set "
            f"${STATE_MACHINE_VARIABLE}, or deploy with make deploy (which saves {REINDEX_OUTPUT} "
            f"in {outputs})"
        )
    return saved


class ProgressReport:
    """The lines that say how a run goes: one each time what it would say changes.

    Args:
        machine: the state machine the run belongs to.
        execution_arn: the run.
        say: where each line goes.
    """

    def __init__(
        self, machine: StateMachine, execution_arn: str, say: Callable[[str], None]
    ) -> None:
        self._machine = machine
        self._arn = execution_arn
        self._say = say
        self._last_line = ""
        #: The map phase last seen running, and its Map Run.
        self._map: tuple[str, str] | None = None

    def update(self) -> None:
        """Look where the run is; say it if that changed."""
        position = self._machine.position(self._arn)
        if position.state not in set(ReindexPhase):
            return  # not started yet, or its final state: the end says it
        if self._map is not None and position.map_run_arn != self._map[1]:
            self.finish_map()  # the map before ended: its final count
        if position.state in MAP_PHASES and position.map_run_arn is not None:
            self._map = (position.state, position.map_run_arn)
            self._line(self._count_line(*self._map))
        else:
            self._line(f"newswire: {position.state}")

    def finish_map(self) -> None:
        """Say the final count of the map that was running, if it changed since."""
        if self._map is not None:
            self._line(self._count_line(*self._map))
            self._map = None

    def _count_line(self, phase: str, map_run_arn: str) -> str:
        counts = self._machine.map_run(map_run_arn)
        failed = f", {counts.unsuccessful:,} failed" if counts.unsuccessful else ""
        return f"newswire: {phase}: {counts.succeeded:,} of {counts.total:,} items done{failed}"

    def _line(self, line: str) -> None:
        if line != self._last_line:
            self._say(line)
            self._last_line = line


def follow(
    machine: StateMachine,
    execution_arn: str,
    say: Callable[[str], None],
    *,
    poll: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Execution:
    """Report a run's progress until it ends; return how it ended.

    Raises:
        StorageError: Step Functions could not be asked.
    """
    from newswire.adapters.stepfunctions import ExecutionStatus

    report = ProgressReport(machine, execution_arn, say)
    while True:
        execution = machine.describe(execution_arn)
        report.update()
        if execution.status is not ExecutionStatus.RUNNING:
            report.finish_map()
            return execution
        sleep(poll)


def reindex_deployed_command(
    arn: str | None,
    outputs: Path = DEFAULT_OUTPUTS,
    *,
    poll: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Start the deployed reindex and follow it; return the exit status (0 when it succeeded,
    1 when it failed, 2 when it could not be started or followed, 130 on Ctrl-C)."""
    # Imported here: the CLI imports this module, and `newswire build` needs no botocore.
    from newswire.adapters.stepfunctions import ExecutionStatus, StateMachine
    from newswire.runtime import aws_client

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        machine = StateMachine(aws_client("stepfunctions"), find_state_machine(arn, outputs))
        name = f"cli-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        execution_arn = machine.start(name, {"trigger": "cli"})
        say(f"newswire: reindex {name} started ({execution_arn})")
        execution = follow(machine, execution_arn, say, poll=poll, sleep=sleep)
    except NewswireError as e:
        say(f"newswire: {e}")
        return 2
    except KeyboardInterrupt:
        say("newswire: stopped following; the reindex goes on in AWS")
        return 130
    took = _duration((execution.stopped or datetime.now(UTC)) - execution.started)
    if execution.status is ExecutionStatus.SUCCEEDED:
        say(f"newswire: reindex succeeded in {took}")
        return 0
    why = ": ".join(part for part in (execution.error, execution.cause) if part)
    say(f"newswire: reindex {execution.status.lower()} after {took}: {why or 'no cause given'}")
    return 1


def _duration(delta: timedelta) -> str:
    """``3 min 40 s`` or ``12 s``."""
    seconds = round(delta.total_seconds())
    minutes, seconds = divmod(max(seconds, 0), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
