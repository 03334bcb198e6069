"""moto-backed fixtures for adapter and pipeline tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newswire.local.moto_server import LocalAws
from tests.support.aws import Stack, moto_stack, server_stack
from tests.support.factories import CONTENT
from tests.support.sequencing import Sequencer


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def stack(aws_env: None) -> Iterator[Stack]:
    with moto_stack((CONTENT / "site.yaml").read_bytes()) as created:
        yield created


@pytest.fixture
def seq() -> Sequencer:
    """A fresh sequencer per test: its first change is older than any a test makes later."""
    return Sequencer()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[LocalAws]:
    with LocalAws() as server:
        yield server


@pytest.fixture
def server(aws_env: None, moto_server: LocalAws) -> Iterator[Stack]:
    """A stack on a real (loopback) moto server: safe for many threads at once."""
    with server_stack(moto_server.endpoint_url, (CONTENT / "site.yaml").read_bytes()) as created:
        yield created
