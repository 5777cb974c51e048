"""The one rule for how a weight becomes replicas: the router applies it, the engine waits on it."""

from __future__ import annotations

import math


def replica_split(candidate_weight: int, total_replicas: int) -> tuple[int, int]:
    """Return (stable, candidate) replicas for a weight.

    Any weight above 0 gets at least one candidate pod, and any weight below 100 keeps at least
    one stable pod (when there are two or more replicas): 80% of 4 replicas is 1 + 3.
    """
    if not 0 <= candidate_weight <= 100:
        raise ValueError(f"weight {candidate_weight} is outside 0..100")
    if candidate_weight == 0:
        return total_replicas, 0
    if candidate_weight == 100:
        return 0, total_replicas
    candidate = max(1, math.ceil(total_replicas * candidate_weight / 100))
    candidate = min(candidate, max(total_replicas - 1, 1))
    stable = max(total_replicas - candidate, 1)
    return stable, candidate
