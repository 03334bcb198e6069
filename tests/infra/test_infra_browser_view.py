"""The CloudFront function that lets browsers show feeds through feed.xsl."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from aws_cdk.assertions import Match, Template
from newswire_infra.delivery import BROWSER_VIEW_FUNCTION

from newswire.rendering.stylesheet import browser_content_type

CHROMIUM = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
READER = "application/rss+xml, application/atom+xml;q=0.9, */*;q=0.1"
TYPES = [
    "application/rss+xml; charset=utf-8",
    "application/atom+xml; charset=utf-8",
    "application/feed+json; charset=utf-8",
    "text/xsl; charset=utf-8",
]


def test_function_runs_on_every_viewer_response(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudFront::Function",
        {"FunctionConfig": Match.object_like({"Runtime": "cloudfront-js-2.0"})},
    )
    template.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": Match.object_like(
                {
                    "DefaultCacheBehavior": Match.object_like(
                        {
                            "FunctionAssociations": [
                                {"EventType": "viewer-response", "FunctionARN": Match.any_value()}
                            ]
                        }
                    )
                }
            )
        },
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js (the CDK needs it too)")
def test_function_agrees_with_newswire_serve() -> None:
    """Run the function's JavaScript on sample responses: same answers as the Python rule."""
    cases = [(t, a) for t in TYPES for a in (CHROMIUM, READER, "")]
    script = (
        BROWSER_VIEW_FUNCTION.read_text()
        + "\nconst cases = "
        + json.dumps(cases)
        + ";\nconsole.log(JSON.stringify(cases.map(([type, accept]) => handler({"
        + "request: {headers: accept ? {accept: {value: accept}} : {}},"
        + "response: {headers: {'content-type': {value: type}}}"
        + "}).headers['content-type'].value)));\n"
    )
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == [browser_content_type(t, a or None) for t, a in cases]
