"""The bounded pool independent AWS requests run in."""

from __future__ import annotations

import threading

import pytest

from newswire.adapters.aws_errors import OutOfTimeError, check_deadline, time_limit
from newswire.pipeline.concurrency import IOPool, run_beside


def test_the_deadline_holds_in_every_thread_of_the_pool() -> None:
    pool = IOPool(4)
    started = threading.Barrier(4, timeout=5)  # four threads at once, not the caller inline

    def call(_item: int) -> str:
        started.wait()
        try:
            check_deadline()  # what every AWS client runs before each call
        except OutOfTimeError:
            return "refused"
        return "sent"

    with time_limit(0.0):
        results = pool.map(call, range(4))
    pool.close()

    assert results == ["refused"] * 4


def test_every_call_ends_before_the_first_failure_is_raised() -> None:
    pool = IOPool(2)
    finished = threading.Event()

    def call(item: int) -> int:
        if item == 0:
            raise OutOfTimeError("out of time")
        finished.wait(0.2)  # still writing when the other call fails
        finished.set()
        return item

    with pytest.raises(OutOfTimeError):
        pool.map(call, [0, 1])
    assert finished.is_set()  # before the pool is closed: map itself waited for the call
    pool.close()


def test_a_map_inside_the_pool_runs_inline_so_a_full_pool_never_waits_on_itself() -> None:
    pool = IOPool(2)
    inner = pool.map(lambda i: pool.map(lambda j: (i, j), range(3)), range(4))
    pool.close()

    assert inner == [[(i, j) for j in range(3)] for i in range(4)]


def test_two_steps_run_beside_each_other_each_mapping_on_the_pool() -> None:
    """Run beside, both steps are in flight at once (neither waits for the other) and each
    map still uses the pool's threads, not one request after another."""
    pool = IOPool(4)
    met = threading.Barrier(4, timeout=5)  # two threads of each step's map at once

    def step(name: str) -> list[str]:
        return pool.map(lambda i: f"{name}{i}" if met.wait() >= 0 else "", range(2))

    assert run_beside(lambda: step("a"), lambda: step("b")) == (["a0", "a1"], ["b0", "b1"])
    pool.close()


def test_a_failure_beside_is_raised_once_both_steps_are_done() -> None:
    done = threading.Event()

    def side() -> None:
        raise OutOfTimeError("out of time")

    with pytest.raises(OutOfTimeError):
        run_beside(done.set, side)
    assert done.is_set()
