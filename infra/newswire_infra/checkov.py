"""Checkov suppressions written next to the resource they concern, each with its reason.

Checkov reads ``Metadata.checkov.skip`` on a CloudFormation resource; a reviewer reading the
construct sees why a check does not apply, and the reason travels into the template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import CfnResource
from constructs import IConstruct


def cfn_resource_of(construct: IConstruct) -> CfnResource:
    """The CloudFormation resource behind an L2 construct (or the construct itself).

    Raises:
        TypeError: if the construct has no single default CloudFormation resource.
    """
    if isinstance(construct, CfnResource):
        return construct
    child = construct.node.default_child
    if not isinstance(child, CfnResource):
        raise TypeError(f"{construct.node.path} has no default CloudFormation resource")
    return child


def skip_checks(construct: IConstruct, reasons: Mapping[str, str]) -> None:
    """Suppress checkov checks on a resource, one written reason per check id.

    Args:
        construct: an L1 resource, or an L2 construct whose default child is one.
        reasons: check id (``CKV_AWS_117``) to the reason the check does not apply here.
    """
    resource = cfn_resource_of(construct)
    existing: Any = resource.get_metadata("checkov") or {}
    skips: list[dict[str, str]] = list(existing.get("skip", []))
    known = {skip["id"] for skip in skips}
    skips += [
        {"id": check, "comment": reason} for check, reason in reasons.items() if check not in known
    ]
    resource.add_metadata("checkov", {"skip": skips})
