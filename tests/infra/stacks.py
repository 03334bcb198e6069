"""The stack under test, synthesized with a stub layer, and helpers to look into it.

Importing this module puts ``infra/`` on ``sys.path`` (the CDK app is not an installed
package) and quiets jsii's Node 20 banner before ``aws_cdk`` starts Node.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

# Quiet jsii's Node 20 banner; must be set before aws_cdk is first imported.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

INFRA_DIR = Path(__file__).resolve().parents[2] / "infra"
if str(INFRA_DIR) not in sys.path:
    sys.path.insert(0, str(INFRA_DIR))

import aws_cdk as cdk  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402
from newswire_infra import CustomDomain, NewswireStack, cdk_json_context  # noqa: E402

__all__ = [
    "ALARM_EMAIL",
    "AUDIENCE_METRIC_FEEDS",
    "BASE_URL",
    "CUSTOM_DOMAIN",
    "Synthesized",
    "Template",
    "synthesize",
]

CUSTOM_DOMAIN = CustomDomain(
    "feeds.example.com",
    "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
)
ALARM_EMAIL = "newsroom-ops@example.com"
BASE_URL = "https://englishnews.example/"
AUDIENCE_METRIC_FEEDS = 5


class Synthesized:
    """A synthesized stack: its template (for assertions) and its cloud assembly folder."""

    def __init__(self, stack: NewswireStack, outdir: Path) -> None:
        self.template = Template.from_stack(stack)
        self.json: dict[str, Any] = dict(self.template.to_json())
        self.outdir = outdir

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Resources of one type, by logical id."""
        return {
            logical_id: resource
            for logical_id, resource in self.json["Resources"].items()
            if resource["Type"] == resource_type
        }

    def logical_id(self, resource_type: str, prefix: str) -> str:
        """The one logical id of a resource type starting with ``prefix`` (construct path)."""
        matches = [i for i in self.resources(resource_type) if i.startswith(prefix)]
        assert len(matches) == 1, f"{resource_type} {prefix}*: {matches}"
        return matches[0]

    def properties(self, resource_type: str, prefix: str) -> dict[str, Any]:
        props: dict[str, Any] = self.resources(resource_type)[
            self.logical_id(resource_type, prefix)
        ]["Properties"]
        return props


def synthesize(layer_dir: Path, outdir: Path, **options: Any) -> Synthesized:
    """An app with cdk.json's feature flags, and the stack synthesized with ``options``."""
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    stack = NewswireStack(app, "Newswire", layer_dir=layer_dir, **options)
    return Synthesized(stack, outdir)
