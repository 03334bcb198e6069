"""``newswire reindex --deployed`` (``make reindex``): start the state machine, follow the run.

StartExecution goes to moto's Step Functions, which checks the ARN and the name as AWS does;
how the run goes (which moto cannot tell: it runs nothing and has no Map Runs) is scripted by
:class:`~tests.support.stepfunctions.ScriptedRun`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from newswire import deployed, runtime
from newswire.cli import main
from tests.support.stepfunctions import MapRun, ScriptedRun, Snapshot

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/newswire-reindex"
INDEX_RUN = "arn:aws:states:us-east-1:123456789012:mapRun:newswire-reindex/IndexArticles:7f3e"
RENDER_RUN = "arn:aws:states:us-east-1:123456789012:mapRun:newswire-reindex/RenderFeeds:91ac"


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The reindex state machine in moto; its ARN."""
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv(runtime.STATE_MACHINE_VARIABLE, raising=False)
    runtime.clear_clients()
    with mock_aws():
        arn = boto3.client("stepfunctions").create_state_machine(
            name="newswire-reindex",
            definition=json.dumps({"StartAt": "Begin", "States": {"Begin": {"Type": "Succeed"}}}),
            roleArn=ROLE,
        )["stateMachineArn"]
        yield arn
    runtime.clear_clients()


def script(*snapshots: Snapshot) -> ScriptedRun:
    run = ScriptedRun(snapshots)
    run.attach(runtime.aws_client("stepfunctions"))
    return run


def run_command(arn: str | None, outputs: Path | None = None) -> tuple[int, list[float]]:
    pauses: list[float] = []
    status = deployed.reindex_deployed_command(
        arn, outputs or Path("/nonexistent/outputs.json"), sleep=pauses.append
    )
    return status, pauses


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_reports_each_phase_and_map_counts_once_then_success(
    machine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    script(
        Snapshot(None),  # started, no state entered yet
        Snapshot("Begin"),
        Snapshot("Begin"),
        Snapshot("IndexArticles", map_run=MapRun(INDEX_RUN, 0, 0)),
        Snapshot("IndexArticles", map_run=MapRun(INDEX_RUN, 30_000, 100_000, running=10_000)),
        Snapshot("IndexArticles", map_run=MapRun(INDEX_RUN, 30_000, 100_000, running=10_000)),
        Snapshot("Plan", ended=(MapRun(INDEX_RUN, 100_000, 100_000),)),
        Snapshot(
            "RenderFeeds",
            map_run=MapRun(RENDER_RUN, 1_200, 4_210),
            ended=(MapRun(INDEX_RUN, 100_000, 100_000),),
        ),
        Snapshot(
            "Done", status="SUCCEEDED", ended=(MapRun(RENDER_RUN, 4_210, 4_210),), seconds=220
        ),
    )

    status, pauses = run_command(machine)

    assert status == 0
    started, *progress = lines(capsys)
    assert started.startswith("newswire: reindex cli-") and " started (arn:aws:states:" in started
    assert progress == [
        "newswire: Begin",
        "newswire: IndexArticles: 0 of 0 items done",
        "newswire: IndexArticles: 30,000 of 100,000 items done",
        "newswire: IndexArticles: 100,000 of 100,000 items done",
        "newswire: Plan",
        "newswire: RenderFeeds: 1,200 of 4,210 items done",
        "newswire: RenderFeeds: 4,210 of 4,210 items done",
        "newswire: reindex succeeded in 3 min 40 s",
    ]
    assert pauses == [deployed.POLL_SECONDS] * 8  # a look every few seconds until the end


def test_the_run_is_started_in_aws_with_a_readable_name(machine: str) -> None:
    script(Snapshot("Done", status="SUCCEEDED"))

    run_command(machine)

    (execution,) = boto3.client("stepfunctions").list_executions(stateMachineArn=machine)[
        "executions"
    ]
    assert execution["name"].startswith("cli-")
    described = boto3.client("stepfunctions").describe_execution(
        executionArn=execution["executionArn"]
    )
    assert json.loads(described["input"]) == {"trigger": "cli"}


def test_a_failed_run_exits_1_with_the_error_and_cause(
    machine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    script(
        Snapshot("IndexArticles", map_run=MapRun(INDEX_RUN, 500, 1_000)),
        Snapshot(
            "IndexArticles",
            status="FAILED",
            map_run=MapRun(INDEX_RUN, 750, 1_000, failed=250),
            error="States.ExceedToleratedFailureThreshold",
            cause="The specified tolerated failure threshold was exceeded",
            seconds=42,
        ),
    )

    status, _ = run_command(machine)

    assert status == 1
    assert lines(capsys)[1:] == [
        "newswire: IndexArticles: 500 of 1,000 items done",
        "newswire: IndexArticles: 750 of 1,000 items done, 250 failed",
        "newswire: reindex failed after 42 s: States.ExceedToleratedFailureThreshold: "
        "The specified tolerated failure threshold was exceeded",
    ]


def test_make_reindex_finds_the_state_machine_in_the_saved_outputs(
    machine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"Newswire": {"ReindexStateMachineArn": machine}}))
    script(Snapshot("Done", status="SUCCEEDED"))

    assert main(["reindex", "--deployed", "--outputs", str(outputs)]) == 0
    assert lines(capsys)[-1] == "newswire: reindex succeeded in 0 s"


def test_the_option_and_the_variable_come_before_the_saved_outputs(
    machine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"Newswire": {"ReindexStateMachineArn": "arn:elsewhere"}}))

    assert deployed.find_state_machine(machine, outputs) == machine
    monkeypatch.setenv(runtime.STATE_MACHINE_VARIABLE, machine)
    script(Snapshot("Done", status="SUCCEEDED"))
    assert main(["reindex", "--deployed", "--outputs", str(outputs)]) == 0


@pytest.mark.parametrize("saved", [None, "{}", '{"Newswire": {}}', "not json"])
def test_without_a_state_machine_it_says_where_to_find_one(
    machine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], saved: str | None
) -> None:
    outputs = tmp_path / "outputs.json"
    if saved is not None:
        outputs.write_text(saved)

    status, _ = run_command(None, outputs)

    assert status == 2
    (message,) = lines(capsys)
    assert "--state-machine-arn" in message and "REINDEX_STATE_MACHINE_ARN" in message
    assert "make deploy" in message


def test_an_unknown_state_machine_is_one_line_and_status_2(
    machine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run_command(machine.replace("newswire-reindex", "gone"))

    assert status == 2
    (message,) = lines(capsys)
    assert message.startswith("newswire: StartExecution ") and "StateMachineDoesNotExist" in message


def test_ctrl_c_stops_following_not_the_run(
    machine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    script(Snapshot("Begin"))

    def interrupted(_: float) -> Any:
        raise KeyboardInterrupt

    status = deployed.reindex_deployed_command(machine, sleep=interrupted)

    assert status == 130
    assert lines(capsys)[-1] == "newswire: stopped following; the reindex goes on in AWS"
    (execution,) = boto3.client("stepfunctions").list_executions(stateMachineArn=machine)[
        "executions"
    ]
    assert execution["status"] == "RUNNING"


def test_reindex_without_deployed_still_needs_its_buckets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("CONTENT_BUCKET", "FEEDS_BUCKET", "INDEX_TABLE"):
        monkeypatch.delenv(variable, raising=False)

    assert main(["reindex"]) == 2
    assert "reindex needs --content-bucket, --feeds-bucket, --table" in capsys.readouterr().err
