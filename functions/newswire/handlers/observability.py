"""The Powertools logger, tracer and metrics every handler shares.

One instance of each per process: Powertools keys loggers by service name, and a second
``Logger(service="newswire")`` in the same process (the local stack imports every handler)
finds the first one's handler already installed and is left without a formatter. In Lambda
each function imports only its own handler, so this costs nothing there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from newswire.errors import InvalidArticleError
    from newswire.pipeline.publisher import Publisher

SERVICE = "newswire"
#: The CloudWatch metrics the handlers emit (per invocation, unit Count); alarms watch them.
PUBLISHED = "ArticlesPublished"
REJECTED = "ArticlesRejected"
INDEXED = "ArticlesIndexed"
FEEDS_WRITTEN = "FeedsWritten"

logger = Logger(service=SERVICE)
#: Only the libraries newswire calls through are patched: botocore (every AWS call) and
#: http.client (WebSub pings). Powertools' default patches everything X-Ray knows, importing
#: requests, urllib3 and more into every cold start for nothing.
tracer = Tracer(service=SERVICE, patch_modules=("botocore", "httplib"))
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Newswire"), service=SERVICE
)


def log_rejected(error: InvalidArticleError) -> None:
    """Log a rejected article the same way from every handler: what the writer must fix."""
    logger.warning(
        "article rejected: fix the file to publish it",
        extra={
            "key": error.key,
            "field": error.field,
            "problem": error.problem,
            "expected": error.expected,
            "problems": [str(problem) for problem in error.problems],
        },
    )


def log_announced(publisher: Publisher) -> None:
    """Ping the WebSub hubs about what this invocation changed; log what could not be told."""
    for warning in publisher.announce():  # e.g. a hub that could not be reached
        logger.warning(warning)


def add_counts(counts: Mapping[str, int]) -> None:
    """Emit each count as this invocation's metric of that name."""
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
