"""What the handlers find around them locally: Lambda's environment variables and context.

The handlers read their buckets, table and credentials from the environment, as in Lambda;
:class:`HandlerEnvironment` points it at the local moto server while the stack runs and puts
back what was there before.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from newswire.content.site import SITE_CONFIG_KEY
from newswire.local.resources import ResourceNames

REGION = "us-east-1"
#: The Powertools settings the handlers run with locally (their logs and metrics are turned
#: into terminal lines by :func:`~newswire.local.terminal.terminal_output`).
_HANDLER_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "Newswire",
}


@dataclass(frozen=True, slots=True)
class LocalLambdaContext:
    """The part of Lambda's context object the handler's Powertools decorators read."""

    aws_request_id: str
    function_name: str = "newswire-publish-local"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        f"arn:aws:lambda:{REGION}:123456789012:function:newswire-publish-local"
    )

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's budget; locally there is no deadline."""
        return 900_000


class HandlerEnvironment:
    """The process environment the handlers run in, set for the local stack and then restored."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def point_at(self, endpoint_url: str, names: ResourceNames) -> None:
        """Send every AWS client to ``endpoint_url`` with fake credentials and ``names``."""
        env: dict[str, str | None] = {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_PROFILE": None,  # a profile would override the fake credentials
            "CONTENT_BUCKET": names.content_bucket,
            "FEEDS_BUCKET": names.feeds_bucket,
            "INDEX_TABLE": names.index_table,
            "SITE_CONFIG_KEY": SITE_CONFIG_KEY,
            **_HANDLER_ENV,
        }
        for name in env:
            self._saved.setdefault(name, os.environ.get(name))
        _apply_env(env)

    def restore(self) -> None:
        """Put back what the variables held before :meth:`point_at`; safe to call twice."""
        _apply_env(self._saved)
        self._saved.clear()


def _apply_env(env: Mapping[str, str | None]) -> None:
    """Set (or, for ``None``, remove) environment variables; clients made before are stale."""
    from newswire.runtime import clear_clients

    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    clear_clients()
