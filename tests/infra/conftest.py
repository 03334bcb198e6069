"""Fixtures for the CDK tests: each variant of the stack is synthesized once per process.

Synthesizing takes a few seconds, so each variant is built once per test process (session
scope) and shared read-only by every test that inspects it. The layer is a stub, an empty
``python/`` folder: the tests never download the real dependencies.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# First import of the CDK: tests.infra.stacks quiets jsii before aws_cdk starts Node.
from tests.infra.stacks import (
    ALARM_EMAIL,
    AUDIENCE_METRIC_FEEDS,
    BASE_URL,
    CUSTOM_DOMAIN,
    Synthesized,
    Template,
    synthesize,
)


@pytest.fixture(scope="session")
def stub_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    layer = tmp_path_factory.mktemp("layer")
    (layer / "python").mkdir()
    return layer


@pytest.fixture(scope="session")
def default_stack(stub_layer: Path, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The stack as `make synth` builds it without context: no domain, no alarm e-mail."""
    return synthesize(stub_layer, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def template(default_stack: Synthesized) -> Template:
    return default_stack.template


@pytest.fixture(scope="session")
def full_stack(stub_layer: Path, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The stack with every option: custom domain, alarm e-mail, base URL, metric cap."""
    return synthesize(
        stub_layer,
        tmp_path_factory.mktemp("cdk.out"),
        custom_domain=CUSTOM_DOMAIN,
        alarm_email=ALARM_EMAIL,
        base_url=BASE_URL,
        audience_metric_feeds=AUDIENCE_METRIC_FEEDS,
    )
