"""A de-duplicating, delaying work queue of object keys, served by a bounded pool of workers.

The shape of client-go's workqueue: a key waits at most once; a key being processed is never
handed to a second worker, and one added meanwhile is handed out again when the first is done;
`add_after` wakes a key at an exact moment; failures back off exponentially per key.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sluice.observability import QUEUE_DEPTH, QUEUE_LATENCY

K = TypeVar("K", bound=Hashable)

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 60.0


class WorkQueue(Generic[K]):
    """Keys to reconcile now, keys to reconcile later, and per-key failure counts."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Condition()
        self._ready: deque[K] = deque()
        self._waiting: dict[K, float] = {}  # key -> when it was added (waiting or dirty)
        self._processing: set[K] = set()
        self._timers: list[tuple[float, int, K]] = []  # (due, sequence, key): a heap
        self._due: dict[K, float] = {}  # the earliest timer of each key
        self._sequence = itertools.count()
        self._failures: dict[K, int] = {}
        self._shut_down = False
        self.last_progress = clock()

    def add(self, key: K) -> None:
        """Queue a key now; a key already waiting is not queued twice."""
        with self._lock:
            self._add_locked(key)

    def _add_locked(self, key: K) -> None:
        if self._shut_down or key in self._waiting:
            return
        if not self._ready:
            self.last_progress = self._clock()  # the idle time before work came is no stall
        self._waiting[key] = self._clock()
        if key not in self._processing:
            self._ready.append(key)
            QUEUE_DEPTH.set(len(self._ready))
            self._lock.notify()

    def add_after(self, key: K, delay: float) -> None:
        """Queue a key after delay seconds (an earlier timer for the key wins)."""
        if delay <= 0:
            self.add(key)
            return
        with self._lock:
            due = self._clock() + delay
            if key in self._due and self._due[key] <= due:
                return
            self._due[key] = due
            heapq.heappush(self._timers, (due, next(self._sequence), key))
            self._lock.notify()

    def backoff(self, key: K) -> float:
        """Count a failure of the key; return how long to wait before trying it again."""
        with self._lock:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
        return float(min(BACKOFF_BASE_SECONDS * 2.0 ** (failures - 1), BACKOFF_MAX_SECONDS))

    def forget(self, key: K) -> None:
        """The key succeeded (or is gone): its next failure backs off from the start."""
        with self._lock:
            self._failures.pop(key, None)

    def drop(self, key: K) -> None:
        """The object is gone: forget its failures and its timers."""
        with self._lock:
            self._failures.pop(key, None)
            self._due.pop(key, None)

    def _fire_timers_locked(self) -> float | None:
        """Move due timers to the ready queue; return seconds until the next timer, or None."""
        now = self._clock()
        while self._timers and self._timers[0][0] <= now:
            due, _, key = heapq.heappop(self._timers)
            if self._due.get(key) == due:
                del self._due[key]
                self._add_locked(key)
        return self._timers[0][0] - now if self._timers else None

    def get(self) -> K | None:
        """Block until a key is ready and hand it to this worker; None after shut_down."""
        with self._lock:
            while True:
                wait = self._fire_timers_locked()
                if self._shut_down:
                    return None
                if self._ready:
                    key = self._ready.popleft()
                    added = self._waiting.pop(key)
                    self._processing.add(key)
                    QUEUE_DEPTH.set(len(self._ready))
                    QUEUE_LATENCY.observe(max(self._clock() - added, 0.0))
                    self.last_progress = self._clock()
                    return key
                self._lock.wait(wait)

    def done(self, key: K) -> None:
        """The worker finished the key; a key added meanwhile is handed out again."""
        with self._lock:
            self._processing.discard(key)
            self.last_progress = self._clock()
            if key in self._waiting and not self._shut_down:
                self._ready.append(key)
                QUEUE_DEPTH.set(len(self._ready))
                self._lock.notify()

    def shut_down(self) -> None:
        """Wake every worker and hand out no more keys."""
        with self._lock:
            self._shut_down = True
            self._lock.notify_all()

    def stalled_for(self) -> float:
        """Seconds without progress while keys wait to be handed out (0 when none wait)."""
        with self._lock:
            self._fire_timers_locked()
            if not self._ready:
                return 0.0
            return self._clock() - self.last_progress

    def __len__(self) -> int:
        with self._lock:
            self._fire_timers_locked()
            return len(self._ready)

    def scheduled(self, key: K) -> float | None:
        """Seconds until the key's timer, or None (for tests and the benchmark)."""
        with self._lock:
            due = self._due.get(key)
            return None if due is None else due - self._clock()
