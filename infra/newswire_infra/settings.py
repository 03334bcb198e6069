"""The app's options, read from CDK context (``cdk.json`` and ``-c key=value``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from constructs import Node

from newswire_infra.delivery import CustomDomain

INFRA_DIR = Path(__file__).resolve().parent.parent
CDK_JSON = INFRA_DIR / "cdk.json"


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` of ``cdk.json`` (feature flags), for apps not started by the CDK CLI."""
    context: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")).get("context", {})
    return context


@dataclass(frozen=True)
class Settings:
    """Deployment options; every one is optional.

    Attributes:
        layer_dir: a ready layer folder (holding ``python/``) instead of ``infra/build/layer``;
            context ``layer_dir``. Tests and checks pass a stub here.
        base_url: the public site root (context ``base_url``), shown in the outputs only: the
            site's own settings live in ``site.yaml`` in the content bucket.
        custom_domain: context ``domain_name`` and ``certificate_arn`` (both or neither).
        alarm_email: context ``alarm_email``: subscribe this address to the alarms.
        audience_metric_feeds: context ``audience_metric_feeds``: at most this many feeds (those
            with most subscribers) get CloudWatch metrics of their own, each feed three custom
            metrics billed by the month; None keeps the default.
    """

    layer_dir: Path | None = None
    base_url: str | None = None
    custom_domain: CustomDomain | None = None
    alarm_email: str | None = None
    audience_metric_feeds: int | None = None

    @classmethod
    def from_context(cls, node: Node) -> Settings:
        """Read the options from a construct's context.

        Raises:
            ValueError: if only one of ``domain_name`` and ``certificate_arn`` is given, the
                certificate is not an ACM certificate in us-east-1, or
                ``audience_metric_feeds`` is not a whole number of 0 or more.
        """

        def get(key: str) -> str | None:
            value = node.try_get_context(key)
            return str(value) if value not in (None, "") else None

        domain_name, certificate_arn = get("domain_name"), get("certificate_arn")
        if (domain_name is None) != (certificate_arn is None):
            raise ValueError(
                "a custom domain needs both -c domain_name=... and -c certificate_arn=..."
            )
        layer_dir = get("layer_dir")
        return cls(
            layer_dir=Path(layer_dir).resolve() if layer_dir else None,
            base_url=get("base_url"),
            custom_domain=(
                CustomDomain(domain_name, certificate_arn)
                if domain_name and certificate_arn
                else None
            ),
            alarm_email=get("alarm_email"),
            audience_metric_feeds=_count("audience_metric_feeds", get("audience_metric_feeds")),
        )


def _count(key: str, value: str | None) -> int | None:
    """A context value that must be a whole number of 0 or more, or absent."""
    if value is None:
        return None
    if not value.isdigit():
        raise ValueError(f"-c {key}=... must be a whole number of 0 or more, not {value!r}")
    return int(value)
