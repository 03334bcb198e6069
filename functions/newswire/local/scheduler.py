"""The schedule timer: what the every-minute EventBridge rule does in AWS.

It runs :func:`newswire.handlers.schedule.handler`, which publishes the articles whose
publication time has come.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

from newswire.errors import SiteConfigError
from newswire.local.environment import LocalLambdaContext
from newswire.local.terminal import discard_metrics

#: How often the scheduler publishes what has come due (EventBridge does it every minute in
#: AWS; locally a writer should not wait that long to see a scheduled article go out).
SCHEDULE_INTERVAL = 5.0


class ScheduleTimer:
    """Runs the schedule handler every :data:`SCHEDULE_INTERVAL` until ``stopping`` is set.

    Args:
        say: where each published article, and a failed run, is reported.
        on_site_error: told when a run finds ``site.yaml`` invalid (the stack says it once).
        on_site_valid: told when a run found ``site.yaml`` valid.
        stopping: set to end :meth:`run`.
    """

    def __init__(
        self,
        *,
        say: Callable[[str], None],
        on_site_error: Callable[[SiteConfigError], None],
        on_site_valid: Callable[[], None],
        stopping: threading.Event,
    ) -> None:
        self._say = say
        self._on_site_error = on_site_error
        self._on_site_valid = on_site_valid
        self._stopping = stopping

    def run(self) -> None:
        """Tick until ``stopping`` is set; a failed run is reported and the timer goes on."""
        from newswire.handlers import schedule

        event = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
        while not self._stopping.wait(SCHEDULE_INTERVAL):
            try:
                context = LocalLambdaContext(aws_request_id=str(uuid.uuid4()))
                result = schedule.handler(event, context)
            except SiteConfigError as e:
                self._on_site_error(e)
                continue
            except Exception as e:  # keep the timer running whatever one run hit
                self._say(f"newswire: publishing scheduled articles failed: {e}")
                continue
            finally:
                discard_metrics()
            self._on_site_valid()
            for key in result["published"]:
                self._say(f"newswire: published scheduled article {key}")
            for key in result.get("expired", ()):
                self._say(f"newswire: expired {key}")
