"""WebSub publisher notifications: tell the hubs a feed changed, so subscribers get it now.

A hub that is slow, down or refusing must never fail a publish: the feeds are already written,
and readers polling them will see the change anyway. Each ping has a short timeout and a few
retries with backoff; what still fails is returned for the caller to log.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence

#: Seconds to wait for a hub to answer one ping.
TIMEOUT = 3.0
#: Pings per hub and feed, the first included; waits between them double from BACKOFF.
ATTEMPTS = 3
BACKOFF = 0.2


class WebSubNotifier:
    """Pings WebSub hubs with ``hub.mode=publish`` and ``hub.url`` (form-encoded POST).

    Args:
        hubs: the hub URLs from ``site.yaml``.
        timeout, attempts, backoff: per ping; see the module constants.
        sleep: how to wait between attempts (tests pass a no-op).
    """

    def __init__(
        self,
        hubs: Sequence[str],
        *,
        timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.hubs = tuple(hubs)
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep

    def notify(self, feed_urls: Sequence[str]) -> list[str]:
        """Tell every hub about the changed feeds; never raises.

        One request per hub carries every changed feed as a repeated ``hub.url`` (as
        PubSubHubbub hubs accept), so a publish that touched a dozen feeds costs one ping per
        hub, not a dozen.

        Returns:
            One message per hub that could not be told after all its attempts.
        """
        failures = []
        for hub in self.hubs:
            problem = self._ping(hub, feed_urls) if feed_urls else None
            if problem:
                failures.append(
                    f"WebSub hub {hub} was not told about {len(feed_urls)} changed feeds: {problem}"
                )
        return failures

    def _ping(self, hub: str, feed_urls: Sequence[str]) -> str | None:
        fields = [("hub.mode", "publish"), *(("hub.url", url) for url in feed_urls)]
        data = urllib.parse.urlencode(fields).encode()
        problem = "not tried"
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(  # noqa: S310 - the hub's URL is validated http(s)
                hub,
                data=data,
                method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    if 200 <= response.status < 300:
                        return None
                    problem = f"HTTP {response.status}"
            except urllib.error.HTTPError as e:
                problem = f"HTTP {e.code}"
                if 400 <= e.code < 500 and e.code != 429:
                    return problem  # the hub refuses this request: retrying will not help
            except (urllib.error.URLError, TimeoutError, OSError) as e:
                problem = str(getattr(e, "reason", e))
        return problem
