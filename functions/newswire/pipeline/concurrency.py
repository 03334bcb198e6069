"""Independent AWS requests in flight together, in a bounded pool of threads.

Publishing is mostly waiting on S3 and DynamoDB: the HEADs of a batch's feeds, their queries
and their writes do not depend on one another, so they are sent together. boto3 clients are
thread-safe; each task runs in a copy of the caller's context, so the deadline of
:func:`~newswire.adapters.aws_errors.time_limit` (a context variable) holds in every thread.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Requests in flight at once: a publish batch's feeds are a few dozen objects, and botocore's
#: connection pool is sized to match (``client_config``).
MAX_IN_FLIGHT = 32

#: Set inside a pool thread: a task that maps again runs that map inline, so a full pool can
#: never wait on itself.
_inside = contextvars.ContextVar("inside_io_pool", default=False)


class IOPool:
    """Runs independent calls together, at most ``workers`` at once.

    Args:
        workers: the most calls in flight; 1 runs everything inline, in order.
    """

    def __init__(self, workers: int = MAX_IN_FLIGHT) -> None:
        self.workers = max(1, workers)
        self._executor: ThreadPoolExecutor | None = None

    def map(self, call: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[call(item) for item in items]``, the calls running together.

        Every call runs to its end before this returns or raises, so none is left writing
        behind the caller's back; the first failure (in item order) is then raised.
        """
        todo = list(items)
        if len(todo) <= 1 or self.workers == 1 or _inside.get():
            return [call(item) for item in todo]
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="newswire-io")
        futures: list[Future[R]] = [
            self._executor.submit(contextvars.copy_context().run, _in_pool, call, item)
            for item in todo
        ]
        wait_for(futures)
        return [future.result() for future in futures]

    def close(self) -> None:
        """Stop the threads now (a local command that is done); a pool dropped unclosed stops
        them once it is collected. The Lambda handlers share one per process
        (:func:`newswire.runtime.io_pool`)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def _in_pool(call: Callable[[T], R], item: T) -> R:
    _inside.set(True)
    return call(item)


def settled(call: Callable[[T], R]) -> Callable[[T], R | Exception]:
    """``call`` returning its error instead of raising it: one item's failure (a document,
    a read) must not stop the others of a batch."""

    def settled(item: T) -> R | Exception:
        try:
            return call(item)
        except Exception as e:  # handed back, and raised by whoever needed that document
            return e

    return settled


def run_beside(main: Callable[[], T], side: Callable[[], R]) -> tuple[T, R]:
    """``(main(), side())``, ``side`` run in a thread of its own meanwhile: two steps that
    each map on the pool (a pool task would map inline, one request after another). The
    first failure, ``main``'s then ``side``'s, is raised once both are done."""
    context = contextvars.copy_context()
    done: list[R] = []
    failed: list[BaseException] = []

    def run_side() -> None:
        try:
            done.append(context.run(side))
        except BaseException as e:  # raised in the caller's thread below
            failed.append(e)

    thread = threading.Thread(target=run_side, name="newswire-beside")
    thread.start()
    try:
        first = main()
    finally:
        thread.join()
    if failed:
        raise failed[0]
    return first, done[0]
