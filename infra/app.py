"""The newswire CDK app.

Run by the CDK CLI (``npx aws-cdk@2 synth|deploy``, see ``cdk.json``) or directly, as
``make synth`` does: ``cd infra && ../.venv/bin/python app.py [-c key=value ...]``, which
writes the cloud assembly to ``infra/cdk.out/``.

Context (``-c key=value``; all optional): ``base_url``, ``domain_name`` + ``certificate_arn``,
``alarm_email``, ``audience_metric_feeds``, ``layer_dir`` (a ready layer folder; otherwise
``infra/build_layer.py`` builds or reuses ``infra/build/layer``). The stack is
environment-agnostic: it deploys to the account and region of the credentials the CLI uses,
and synthesizing makes no AWS call.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

# jsii (the bridge from Python to the CDK's JavaScript) prints a banner on Node 20; it is
# harmless here. Must be set before aws_cdk is imported: the import starts Node.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk
from build_layer import ensure_layer
from newswire_infra import NewswireStack, Settings, cdk_json_context
from newswire_infra.settings import INFRA_DIR

STACK_NAME = "Newswire"


def parse_context(argv: Sequence[str]) -> dict[str, str]:
    """``-c key=value`` pairs, as the CDK CLI takes them, for direct runs of this file."""
    parser = argparse.ArgumentParser(description="Synthesize the newswire stack.")
    parser.add_argument(
        "-c", "--context", action="append", default=[], metavar="KEY=VALUE", help="context value"
    )
    pairs: list[str] = parser.parse_args(argv).context
    context: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            parser.error(f"context must be KEY=VALUE, not {pair!r}")
        context[key] = value
    return context


def main(argv: Sequence[str] | None = None) -> None:
    context = {**cdk_json_context(), **parse_context(sys.argv[1:] if argv is None else argv)}
    # Under the CDK CLI, CDK_OUTDIR and CDK_CONTEXT_JSON (which wins over these defaults) are
    # set; run directly, the assembly goes where the CLI would put it.
    outdir = None if "CDK_OUTDIR" in os.environ else str(INFRA_DIR / "cdk.out")
    app = cdk.App(context=context, outdir=outdir)
    settings = Settings.from_context(app.node)
    NewswireStack(
        app,
        STACK_NAME,
        layer_dir=settings.layer_dir or ensure_layer(),
        base_url=settings.base_url,
        custom_domain=settings.custom_domain,
        alarm_email=settings.alarm_email,
        audience_metric_feeds=settings.audience_metric_feeds,
        tags={"project": "newswire"},
    )
    app.synth()


if __name__ == "__main__":
    main()
