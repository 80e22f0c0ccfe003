"""The bounded executor: room for ``workers`` running and ``queue`` waiting tasks, a refusal
(never an exception) past that, and room again once tasks end."""

from __future__ import annotations

import threading

import pytest

from bot.executors import BoundedExecutor, ExecutorFullError


def test_capacity_is_workers_plus_queue_exactly_then_refusals_are_counted():
    """2 workers + 1 waiting: the 3rd task is taken, the 4th refused at once (its future holds
    ExecutorFullError) and counted; when the tasks end there is room again."""
    gate, refused = threading.Event(), []
    pool = BoundedExecutor(2, 1, "test", on_refused=lambda: refused.append(1))
    try:
        futures = [pool.submit(gate.wait, 10) for _ in range(3)]
        assert pool.saturated
        late = pool.submit(gate.wait, 10)
        assert late.done()
        with pytest.raises(ExecutorFullError):
            late.result()
        assert pool.refused == 1 and refused == [1]
        gate.set()
        assert [future.result(10) for future in futures] == [True, True, True]
        assert pool.in_use == 0 and not pool.saturated
        assert pool.submit(lambda: "again").result(10) == "again"
    finally:
        gate.set()
        pool.shutdown()


def test_a_task_that_raises_frees_its_slot():
    """A failing task reports its error through its future and gives its slot back."""
    pool = BoundedExecutor(1, 0, "test")
    try:
        failing = pool.submit(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            failing.result(10)
        assert pool.submit(lambda: "ok").result(10) == "ok"
    finally:
        pool.shutdown()


def test_after_shutdown_tasks_are_refused_not_raised():
    """Bolt submits after the ack: a shut-down executor refuses instead of raising."""
    pool = BoundedExecutor(1, 0, "test")
    pool.shutdown()
    with pytest.raises(ExecutorFullError):
        pool.submit(lambda: None).result(1)
