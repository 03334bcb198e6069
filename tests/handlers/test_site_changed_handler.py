"""The site-changed Lambda handler against moto: S3 and Step Functions as the handler sees them.

moto keeps the reindex state machine and its executions but runs none of them: these tests
check what the handler reads, decides and starts. moto's ``StartExecution`` answers a name
already used as AWS does (the running execution back for the same input,
``ExecutionAlreadyExists`` once it has ended); its executions never end by themselves, so a
finished run is one the test stopped.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from newswire import runtime
from newswire.errors import TransientStorageError
from newswire.handlers import site_changed
from tests.handlers.conftest import FakeLambdaContext
from tests.support.aws import Stack
from tests.support.factories import CONTENT, REPO

EVENT = REPO / "tests" / "events" / "s3-put-site-yaml.json"
SITE_YAML = (CONTENT / "site.yaml").read_bytes()
#: The ETag of content/site.yaml, as the event carries it.
SITE_ETAG = "a139350b8f5a4759f6a548466be5534a"
#: Four problems at once: a writer sees them all in one report.
INVALID_SITE_YAML = b"title: English News\nbase_url: not a url\nitems_per_feed: many\n"
INVALID_FIELDS = ["description", "base_url", "author", "items_per_feed"]
ROLE = "arn:aws:iam::123456789012:role/newswire-reindex"
#: S3 gives each upload's event a new, growing sequencer.
SEQUENCERS = (f"00690E5C0B5A1F{n:04X}" for n in itertools.count(1))


@dataclass(frozen=True)
class Machine:
    client: Any
    arn: str

    def executions(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.client.list_executions(stateMachineArn=self.arn)[
            "executions"
        ]
        return listed

    def finish_all(self) -> None:
        """End every running execution (moto's never end on their own)."""
        for execution in self.executions():
            if execution["status"] == "RUNNING":
                self.client.stop_execution(executionArn=execution["executionArn"])


@pytest.fixture
def sfn(lambda_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Machine:
    """The reindex state machine in moto, named in the function's environment."""
    client = boto3.client("stepfunctions")
    arn = client.create_state_machine(
        name="newswire-reindex",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=ROLE,
    )["stateMachineArn"]
    monkeypatch.setenv("REINDEX_STATE_MACHINE_ARN", arn)
    return Machine(client, arn)


def upload(stack: Stack, body: bytes) -> dict[str, Any]:
    """Put ``site.yaml`` and return the event S3 sends for this upload."""
    response = stack.s3.put_object(Bucket=stack.content_bucket, Key="site.yaml", Body=body)
    event: dict[str, Any] = json.loads(EVENT.read_text(encoding="utf-8"))
    s3_object = event["Records"][0]["s3"]["object"]
    s3_object |= {
        "eTag": response["ETag"].strip('"'),
        "size": len(body),
        "sequencer": next(SEQUENCERS),
    }
    s3_object.pop("versionId")  # the test bucket is not versioned
    return event


def invoke(event: dict[str, Any]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = site_changed.handler(event, FakeLambdaContext())["changes"]
    return changes


def emitted(out: str, name: str) -> list[float]:
    values: list[float] = []
    for line in out.splitlines():
        document = json.loads(line) if line.startswith("{") else {}
        if name in document and "_aws" in document:
            value = document[name]
            values += value if isinstance(value, list) else [value]
    return values


def test_the_event_file_is_an_upload_of_content_site_yaml() -> None:
    s3_object = json.loads(EVENT.read_text())["Records"][0]["s3"]["object"]
    assert s3_object["eTag"] == SITE_ETAG
    assert s3_object["size"] == len(SITE_YAML)


def test_a_valid_upload_starts_one_reindex_named_after_its_bytes(
    lambda_stack: Stack, sfn: Machine, capsys: pytest.CaptureFixture[str]
) -> None:
    (change,) = invoke(upload(lambda_stack, SITE_YAML))

    assert change == {
        "key": "site.yaml",
        "reaction": "started",
        "execution": f"site-yaml-{SITE_ETAG}",
    }
    (execution,) = sfn.executions()
    assert execution["name"] == f"site-yaml-{SITE_ETAG}"
    described = sfn.client.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == {"trigger": "site.yaml", "etag": SITE_ETAG}
    assert emitted(capsys.readouterr().out, "SiteConfigRejected") == [0]


def test_a_second_delivery_and_a_second_upload_of_the_same_bytes_start_nothing_new(
    lambda_stack: Stack, sfn: Machine
) -> None:
    event = upload(lambda_stack, SITE_YAML)
    invoke(event)

    again = invoke(copy.deepcopy(event))  # S3 delivers an event at least once
    reuploaded = invoke(upload(lambda_stack, SITE_YAML))  # `aws s3 cp` run twice

    assert [c["reaction"] for c in again + reuploaded] == ["started", "started"]
    assert [e["name"] for e in sfn.executions()] == [f"site-yaml-{SITE_ETAG}"]


def test_the_same_bytes_after_their_run_ended_start_nothing(
    lambda_stack: Stack, sfn: Machine
) -> None:
    invoke(upload(lambda_stack, SITE_YAML))
    sfn.finish_all()

    (change,) = invoke(upload(lambda_stack, SITE_YAML))

    assert change["reaction"] == "already-ran"
    assert len(sfn.executions()) == 1


def test_a_revert_to_earlier_bytes_reindexes_again_once(lambda_stack: Stack, sfn: Machine) -> None:
    invoke(upload(lambda_stack, SITE_YAML))
    sfn.finish_all()
    invoke(upload(lambda_stack, SITE_YAML.replace(b"English News", b"Plain News", 1)))
    sfn.finish_all()

    revert = upload(lambda_stack, SITE_YAML)
    (change,) = invoke(revert)
    sfn.finish_all()
    (redelivered,) = invoke(copy.deepcopy(revert))

    sequencer = revert["Records"][0]["s3"]["object"]["sequencer"]
    assert change == {
        "key": "site.yaml",
        "reaction": "started",
        "execution": f"site-yaml-{SITE_ETAG}-{sequencer}",
    }
    assert redelivered["reaction"] == "already-ran"
    assert len(sfn.executions()) == 3


def test_an_upload_replaced_since_does_nothing(lambda_stack: Stack, sfn: Machine) -> None:
    older = upload(lambda_stack, SITE_YAML)
    newer = upload(lambda_stack, SITE_YAML.replace(b"English News", b"Plain News", 1))

    (change,) = invoke(older)
    assert change["reaction"] == "superseded"
    assert sfn.executions() == []
    (change,) = invoke(newer)
    assert change["reaction"] == "started"


def test_an_upload_deleted_since_does_nothing(lambda_stack: Stack, sfn: Machine) -> None:
    event = upload(lambda_stack, SITE_YAML)
    lambda_stack.s3.delete_object(Bucket=lambda_stack.content_bucket, Key="site.yaml")

    (change,) = invoke(event)

    assert change["reaction"] == "gone"
    assert sfn.executions() == []


def test_an_invalid_site_yaml_starts_nothing_and_is_reported_with_every_problem(
    lambda_stack: Stack,
    sfn: Machine,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="newswire"):
        (change,) = invoke(upload(lambda_stack, INVALID_SITE_YAML))

    assert change == {"key": "site.yaml", "reaction": "rejected", "execution": None}
    assert sfn.executions() == []
    assert emitted(capsys.readouterr().out, "SiteConfigRejected") == [1]
    (warning,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    logged = warning.problems  # type: ignore[attr-defined]
    assert [p.split(":")[0] for p in logged] == INVALID_FIELDS
    report = json.loads(
        lambda_stack.s3.get_object(
            Bucket=lambda_stack.content_bucket, Key="_reports/site.yaml.json"
        )["Body"].read()
    )
    assert report["key"] == "site.yaml"
    assert [p["field"] for p in report["problems"]] == INVALID_FIELDS
    assert report["message"].count("\n") == len(INVALID_FIELDS) - 1  # a line per problem

    (fixed,) = invoke(upload(lambda_stack, SITE_YAML))

    assert fixed["reaction"] == "started"
    listing = lambda_stack.s3.list_objects_v2(
        Bucket=lambda_stack.content_bucket, Prefix="_reports/"
    )
    assert listing["KeyCount"] == 0


def test_the_test_event_and_other_keys_start_nothing(lambda_stack: Stack, sfn: Machine) -> None:
    test_event = json.loads((REPO / "tests" / "events" / "s3-test-event.json").read_text())
    backup = upload(lambda_stack, SITE_YAML)
    backup["Records"][0]["s3"]["object"]["key"] = "site.yaml.bak"

    assert invoke(test_event) == []
    assert invoke(backup) == []
    assert sfn.executions() == []


def test_a_failed_start_raises_so_lambda_retries_the_event(
    lambda_stack: Stack, sfn: Machine
) -> None:
    def throttled(**_: Any) -> None:
        raise ClientError(
            {
                "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 2},
            },
            "StartExecution",
        )

    client = runtime.aws_client("stepfunctions")
    client.meta.events.register("before-call.sfn.StartExecution", throttled)
    event = upload(lambda_stack, SITE_YAML)

    with pytest.raises(TransientStorageError, match="StartExecution"):
        invoke(event)
    client.meta.events.unregister("before-call.sfn.StartExecution", throttled)
    (change,) = invoke(event)
    assert change["reaction"] == "started"
