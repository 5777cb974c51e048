"""A small world for group tests: a ReleaseGroup and its member Releases, driven like the
runtime drives them (each decision's status is the next input; weights apply at once)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine_builders import NOW, TOTAL, deployment, later

from sluice.api.group import GroupPhase, ReleaseGroup, ReleaseGroupStatus
from sluice.api.policy import RolloutPolicySpec
from sluice.api.release import Release, ReleaseStatus
from sluice.engine.decide import decide
from sluice.engine.group import GroupObservation
from sluice.engine.group_decide import decide_group
from sluice.engine.group_view import GroupView
from sluice.engine.types import MetricResult, Observation, ScaleDeployment, SetWeight


def member(name: str, version: str = "1.1.0", swapped: bool = False) -> Release:
    """A member Release of name-canary replacing name (swapped: name replacing name-canary,
    the next release after name-canary won)."""
    stable, candidate = (f"{name}-canary", name) if swapped else (name, f"{name}-canary")
    return Release.model_validate(
        {
            "metadata": {"name": name, "namespace": "shop", "generation": 1},
            "spec": {
                "stable": stable,
                "candidate": candidate,
                "version": version,
                "stableVersion": "1.0.0",
                "policyRef": {"name": "standard"},
            },
        }
    )


def group(members: list[dict[str, Any]], generation: int = 1, **spec: Any) -> ReleaseGroup:
    """A ReleaseGroup named shop-release."""
    return ReleaseGroup.model_validate(
        {
            "metadata": {"name": "shop-release", "namespace": "shop", "generation": generation},
            "spec": {"members": members, **spec},
        }
    )


@dataclass
class World:
    """The group, its members, their policies and replicas, and the clock."""

    group: ReleaseGroup
    releases: dict[str, Release]
    policy: RolloutPolicySpec
    replicas: dict[str, tuple[int, int]] = field(default_factory=dict)  # (stable, candidate)
    results: dict[str, list[MetricResult]] = field(default_factory=dict)
    now: datetime = NOW
    weights_seen: dict[str, list[int]] = field(default_factory=dict)
    order: list[tuple[str, str]] = field(default_factory=list)  # (member, history type)
    deleting: bool = False
    command: Any = None

    def status(self, name: str) -> ReleaseStatus:
        """A member's status (it must have one)."""
        found = self.releases[name].status
        assert found is not None
        return found

    @property
    def group_status(self) -> ReleaseGroupStatus:
        """The group's status."""
        assert self.group.status is not None
        return self.group.status

    def decide_group(self) -> None:
        """One pass of the group."""
        statuses = {name: rel.status or ReleaseStatus() for name, rel in self.releases.items()}
        observation = GroupObservation(
            members=statuses, deleting=self.deleting, command=self.command
        )
        decision = decide_group(self.group, observation, self.now)
        self.group = self.group.model_copy(update={"status": decision.status})

    def view(self) -> GroupView:
        """The group as a member sees it."""
        return GroupView(
            name=self.group.metadata.name,
            spec=self.group.spec,
            status=self.group_status,
            deleting=self.deleting,
            members={name: rel.status for name, rel in self.releases.items()},
        )

    def decide_member(self, name: str, in_group: bool = True) -> None:
        """One pass of one member; its weight and scale actions apply at once."""
        release = self.releases[name]
        stable, candidate = self.replicas.get(name, (TOTAL, 0))
        status = release.status
        applied = status.weights.candidate if status and status.weights else None
        observation = Observation(
            stable=deployment(name, replicas=stable),
            candidate=deployment(f"{name}-canary", replicas=candidate),
            applied_candidate_weight=applied,
            results=tuple(self.results.get(name, [])),
            group=self.view() if in_group else None,
        )
        before = len(status.history) if status else 0
        decision = decide(release, self.policy, observation, self.now)
        for action in decision.actions:
            if isinstance(action, SetWeight):
                share = round(TOTAL * action.candidate_weight / 100)
                self.replicas[name] = (TOTAL - share, share)
                self.weights_seen.setdefault(name, []).append(action.candidate_weight)
            if isinstance(action, ScaleDeployment):
                stable, candidate = self.replicas.get(name, (TOTAL, 0))
                if action.role == "stable":
                    self.replicas[name] = (action.replicas, candidate)
                else:
                    self.replicas[name] = (stable, action.replicas)
        self.order.extend((name, e.type) for e in decision.status.history[before:])
        self.releases[name] = release.model_copy(update={"status": decision.status})

    def tick(self, seconds: float = 1.0, rounds: int = 1) -> None:
        """Group, then every member, some rounds, the clock moving on."""
        for _ in range(rounds):
            self.decide_group()
            for name in list(self.releases):
                self.decide_member(name)
            self.now = later((self.now - NOW).total_seconds() + seconds)

    def phase(self) -> GroupPhase | None:
        """The group's phase."""
        return self.group_status.phase
