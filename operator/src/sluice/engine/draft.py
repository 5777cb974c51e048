"""The decision being built: a working copy of the status plus the actions decided so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sluice.api.release import (
    HISTORY_LIMIT,
    HistoryEvent,
    Measurement,
    Release,
    ReleaseStatus,
    Weights,
)
from sluice.engine.types import (
    Action,
    EmitEvent,
    EventType,
    Observation,
    ScaleDeployment,
    SetWeight,
)
from sluice.engine.windows import WindowState


def candidate_weight(status: ReleaseStatus) -> int:
    """The candidate's weight as recorded in the status (0 before the rollout starts)."""
    return status.weights.candidate if status.weights else 0


def find_measurement(status: ReleaseStatus, metric: str) -> Measurement | None:
    """The latest measurement of this metric, or None."""
    return next((m for m in status.measurements if m.metric == metric), None)


@dataclass
class Draft:
    """A decision under construction."""

    release: Release
    observation: Observation
    now: datetime
    status: ReleaseStatus
    actions: list[Action] = field(default_factory=list)
    window: WindowState | None = None  # the release window now (None: no calendar applies)
    recorded: list[HistoryEvent] = field(default_factory=list)  # history entries of this pass

    @property
    def name(self) -> str:
        """The Release's name."""
        return self.release.metadata.name

    @property
    def generation(self) -> int:
        """The Release's metadata.generation."""
        return self.release.metadata.generation

    @property
    def total_replicas(self) -> int:
        """The replica count both Deployments share (1 before it is known)."""
        return self.status.total_replicas or 1

    def update(self, **changes: Any) -> None:
        """Change status fields (by their Python names)."""
        self.status = self.status.model_copy(update=changes)

    def emit(self, kind: EventType, reason: str, message: str) -> None:
        """Post a Kubernetes Event."""
        self.actions.append(EmitEvent(type=kind, reason=reason, message=message))

    def record(
        self,
        kind: str,
        message: str,
        *,
        reason: str = "",
        warning: bool = False,
        event: bool = True,
        **details: Any,
    ) -> None:
        """Add a history entry and post the matching Event (reason: the reason, else the kind);
        event=False keeps it in the history only (routine steps: one write less each)."""
        entry = HistoryEvent(
            time=self.now,
            type=kind,
            reason=reason,
            message=message,
            step=self.status.current_step,
            weight=details.pop("weight", candidate_weight(self.status)),
            **details,
        )
        history = [*self.status.history, entry][-HISTORY_LIMIT:]
        self.recorded.append(entry)
        self.update(history=history)
        if event:
            self.emit(EventType.WARNING if warning else EventType.NORMAL, reason or kind, message)

    def set_weight(self, weight: int) -> None:
        """Route this share of traffic to the candidate."""
        self.actions.append(SetWeight(candidate_weight=weight, total_replicas=self.total_replicas))
        self.update(weights=Weights(stable=100 - weight, candidate=weight))

    def scale(self, role: str, replicas: int) -> None:
        """Scale the stable or the candidate Deployment."""
        self.actions.append(ScaleDeployment(role=role, replicas=replicas))

    def put_measurement(self, measurement: Measurement) -> None:
        """Replace the latest measurement of its metric (or add it)."""
        current = self.status.measurements
        if find_measurement(self.status, measurement.metric) is None:
            self.update(measurements=[*current, measurement])
        else:
            replaced = [measurement if m.metric == measurement.metric else m for m in current]
            self.update(measurements=replaced)

    def has_scale(self, role: str) -> bool:
        """Whether a scale of this Deployment role was decided already."""
        return any(isinstance(a, ScaleDeployment) and a.role == role for a in self.actions)

    def has_set_weight(self) -> bool:
        """Whether a SetWeight action was decided already."""
        return any(isinstance(action, SetWeight) for action in self.actions)
