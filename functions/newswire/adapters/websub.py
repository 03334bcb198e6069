"""WebSub publisher notifications: tell the hubs a feed changed, so subscribers get it now.

A hub that is slow, down or refusing must never fail a publish: the feeds are already written,
and readers polling them will see the change anyway. Each ping has a short timeout and a few
retries with backoff; hubs are pinged together and given :data:`DEADLINE` in all, so that
announcing fits in the function's timeout however many hubs ``site.yaml`` lists (it allows at
most ``newswire.content.site.MAX_HUBS``); what still fails is returned for the caller to log.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for

#: Seconds to wait for a hub to answer one ping.
TIMEOUT = 3.0
#: Pings per hub and feed, the first included; waits between them double from BACKOFF.
ATTEMPTS = 3
BACKOFF = 0.2
#: The longest one hub can take: every try times out, with every wait between them.
HUB_WORST_CASE_SECONDS = ATTEMPTS * TIMEOUT + sum(BACKOFF * 2**n for n in range(ATTEMPTS - 1))
#: Seconds :meth:`WebSubNotifier.notify` may take in all; hubs still unanswered are given up.
DEADLINE = HUB_WORST_CASE_SECONDS


class WebSubNotifier:
    """Pings WebSub hubs with ``hub.mode=publish`` and ``hub.url`` (form-encoded POST).

    Args:
        hubs: the hub URLs from ``site.yaml``.
        timeout, attempts, backoff: per ping; see the module constants.
        deadline: seconds to tell every hub, in all.
        sleep: how to wait between attempts (tests pass a no-op).
        clock: monotonic seconds, to keep to the deadline.
    """

    def __init__(
        self,
        hubs: Sequence[str],
        *,
        timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        deadline: float = DEADLINE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hubs = tuple(hubs)
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.deadline = deadline
        self.sleep = sleep
        self.clock = clock

    def notify(self, feed_urls: Sequence[str]) -> list[str]:
        """Tell every hub about the changed feeds; never raises.

        One request per hub carries every changed feed as a repeated ``hub.url`` (as
        PubSubHubbub hubs accept), so a publish that touched a dozen feeds costs one ping per
        hub, not a dozen.

        Returns:
            One message per hub that could not be told after all its attempts, or not within
            the deadline (its ping is abandoned, not awaited).
        """
        if not feed_urls or not self.hubs:
            return []
        end = self.clock() + self.deadline
        pool = ThreadPoolExecutor(max_workers=len(self.hubs), thread_name_prefix="websub")
        try:
            pings = {hub: pool.submit(self._ping, hub, feed_urls, end) for hub in self.hubs}
            wait_for(pings.values(), timeout=max(0.0, end - self.clock()))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        failures = []
        for hub, ping in pings.items():
            problem = ping.result() if ping.done() else f"no answer within {self.deadline:g} s"
            if problem:
                failures.append(
                    f"WebSub hub {hub} was not told about {len(feed_urls)} changed feeds: {problem}"
                )
        return failures

    def _ping(self, hub: str, feed_urls: Sequence[str], end: float) -> str | None:
        """Tell one hub, trying again while it may help and the deadline ``end`` allows."""
        fields = [("hub.mode", "publish"), *(("hub.url", url) for url in feed_urls)]
        data = urllib.parse.urlencode(fields).encode()
        problem = "not tried"
        for attempt in range(self.attempts):
            if attempt:
                pause = self.backoff * 2 ** (attempt - 1)
                if self.clock() + pause >= end:
                    return f"{problem} (no time left to try again)"
                self.sleep(pause)
            timeout = min(self.timeout, end - self.clock())
            if timeout <= 0:
                return f"{problem} (no time left to try again)"
            request = urllib.request.Request(  # noqa: S310 - the hub's URL is validated http(s)
                hub,
                data=data,
                method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                    if 200 <= response.status < 300:
                        return None
                    problem = f"HTTP {response.status}"
            except urllib.error.HTTPError as e:
                problem = f"HTTP {e.code}"
                if 400 <= e.code < 500 and e.code != 429:
                    return problem  # the hub refuses this request: retrying will not help
            except (urllib.error.URLError, TimeoutError, OSError) as e:
                problem = str(getattr(e, "reason", e))
            except Exception as e:  # a hub's nonsense (a bad status line) never fails a publish
                problem = f"{type(e).__name__}: {e}"
        return problem
