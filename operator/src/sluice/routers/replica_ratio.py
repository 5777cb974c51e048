"""No router: the weight is the split of replicas between two Deployments behind one Service."""

from __future__ import annotations

from typing import Any

from sluice.engine.split import replica_split
from sluice.routers.base import (
    AppliedWeight,
    RouteTarget,
    Scaler,
    WriteCounter,
)


class ReplicaRatioRouter:
    """Scales the candidate up and the stable down so their replicas match the weight."""

    def __init__(self, api_client: Any, writes: WriteCounter) -> None:
        self.scaler = Scaler(api_client, writes)

    def verify(self, target: RouteTarget) -> str | None:
        """Nothing beyond the two Deployments is needed (the engine checks those)."""
        return None

    def applied_weight(
        self, target: RouteTarget, expected: int, total_replicas: int
    ) -> AppliedWeight:
        """Exact when the replicas are expected's split; else the candidate's share of pods.

        A split caught half-way (the candidate scaled, the stable not yet) is not exact even
        when its share rounds to the expected percent, so the runtime finishes it.
        """
        stable, candidate = target.stable_replicas, target.candidate_replicas
        if stable is None:
            stable = self.scaler.replicas(target.namespace, target.stable)
        if candidate is None:
            candidate = self.scaler.replicas(target.namespace, target.candidate)
        if (stable, candidate) == replica_split(expected, total_replicas):
            return AppliedWeight(expected, exact=True)
        if stable + candidate == 0:
            return AppliedWeight(None, exact=False)
        return AppliedWeight(round(100 * candidate / (stable + candidate)), exact=False)

    def apply_weight(self, target: RouteTarget, candidate_weight: int, total_replicas: int) -> None:
        """Scale the candidate first, then the stable.

        Going up, capacity is added before stable capacity is removed; going down (a
        rollback), the candidate's pods leave the Service first, so one write ends its traffic.
        """
        stable, candidate = replica_split(candidate_weight, total_replicas)
        namespace = target.namespace
        self.scaler.scale(namespace, target.candidate, candidate, target.candidate_replicas)
        self.scaler.scale(namespace, target.stable, stable, target.stable_replicas)
