"""The work queue: one waiting entry per key, one worker per key, exact timers, backoff."""

from __future__ import annotations

import threading

from sluice.runtime.workqueue import BACKOFF_MAX_SECONDS, WorkQueue


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_added_twice_waits_once() -> None:
    """Adding a waiting key again does not queue it twice."""
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert len(queue) == 2
    assert [queue.get(), queue.get()] == ["a", "b"]


def test_a_key_in_progress_is_not_handed_to_a_second_worker() -> None:
    """A key added while a worker holds it comes back only after that worker is done."""
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    assert queue.get() == "a"
    queue.add("a")
    assert len(queue) == 0, "not ready while in progress"
    queue.done("a")
    assert len(queue) == 1
    assert queue.get() == "a"


def test_a_timer_fires_at_its_moment_and_the_earliest_timer_wins() -> None:
    """add_after wakes the key exactly when due; a later timer does not push an earlier one."""
    clock = Clock()
    queue: WorkQueue[str] = WorkQueue(clock)
    queue.add_after("a", 10)
    queue.add_after("a", 3600)
    assert queue.scheduled("a") == 10
    clock.now += 9.99
    assert len(queue) == 0
    clock.now += 0.01
    assert queue.get() == "a"
    assert queue.scheduled("a") is None


def test_an_earlier_timer_replaces_a_later_one() -> None:
    """A one-hour pause rescheduled to one second fires after one second, once."""
    clock = Clock()
    queue: WorkQueue[str] = WorkQueue(clock)
    queue.add_after("a", 3600)
    queue.add_after("a", 1)
    clock.now += 1
    assert queue.get() == "a"
    queue.done("a")
    clock.now += 3600
    assert len(queue) == 0, "the superseded timer does not fire"


def test_failures_back_off_exponentially_up_to_a_ceiling_and_forget_resets() -> None:
    """0.5 s, 1 s, 2 s ... up to the ceiling; a success starts again from 0.5 s."""
    queue: WorkQueue[str] = WorkQueue()
    delays = [queue.backoff("a") for _ in range(10)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert delays[-1] == BACKOFF_MAX_SECONDS
    queue.forget("a")
    assert queue.backoff("a") == 0.5


def test_stall_counts_only_while_keys_wait_without_progress() -> None:
    """An idle queue is not stalled; waiting keys with no worker progress are."""
    clock = Clock()
    queue: WorkQueue[str] = WorkQueue(clock)
    clock.now += 500
    assert queue.stalled_for() == 0
    queue.add("a")
    clock.now += 30
    assert queue.stalled_for() == 30
    assert queue.get() == "a"
    assert queue.stalled_for() == 0


def test_workers_blocked_in_get_wake_for_a_timer_and_stop_on_shut_down() -> None:
    """A waiting worker takes a key when its timer fires, and returns None after shut_down."""
    queue: WorkQueue[str] = WorkQueue()
    taken: list[str | None] = []

    def worker() -> None:
        while (key := queue.get()) is not None:
            taken.append(key)
            queue.done(key)
        taken.append(None)

    thread = threading.Thread(target=worker)
    thread.start()
    queue.add_after("a", 0.05)
    deadline = threading.Event()
    deadline.wait(0.5)
    queue.shut_down()
    thread.join(2)
    assert taken == ["a", None]
