"""The minimum versions in pyproject.toml are those of the features newswire relies on."""

from __future__ import annotations

import tomllib
from pathlib import Path

import botocore.session
import build_layer  # from infra/, which conftest puts on sys.path
from aws_cdk import aws_dynamodb as dynamodb
from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

#: The first aws-cdk-lib with ``dynamodb.PointInTimeRecoverySpecification`` (storage.py).
CDK_WITH_PITR_SPECIFICATION = "2.178.0"
#: The first moto that refuses a PutObject whose ``IfMatch`` is not the current ETag.
MOTO_ENFORCING_PUT_IFMATCH = "5.1.5"


def minimums() -> dict[str, Version]:
    """The ``>=`` bound of every requirement of pyproject.toml, runtime and test alike."""
    with PYPROJECT.open("rb") as f:
        project = tomllib.load(f)["project"]
    requirements = [
        Requirement(r)
        for r in [*project["dependencies"], *project["optional-dependencies"]["test"]]
    ]
    return {
        r.name.lower(): Version(s.version)
        for r in requirements
        for s in r.specifier
        if s.operator == ">="
    }


def test_sdk_minimum_is_the_one_the_layer_build_checks() -> None:
    found = minimums()
    assert found["boto3"] == Version(build_layer.SDK_MINIMUM)
    assert found["botocore"] == Version(build_layer.SDK_MINIMUM)


def test_installed_botocore_offers_putobject_ifmatch() -> None:
    model = botocore.session.get_session().get_service_model("s3")
    assert "IfMatch" in model.operation_model("PutObject").input_shape.members


def test_cdk_minimum_has_the_pitr_specification_storage_uses() -> None:
    assert minimums()["aws-cdk-lib"] >= Version(CDK_WITH_PITR_SPECIFICATION)
    assert hasattr(dynamodb, "PointInTimeRecoverySpecification")


def test_moto_minimum_enforces_putobject_ifmatch() -> None:
    assert minimums()["moto"] >= Version(MOTO_ENFORCING_PUT_IFMATCH)
