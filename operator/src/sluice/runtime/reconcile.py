"""One reconcile of one Release: observe, decide, execute. The handlers call only this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from sluice.api.release import Release
from sluice.engine.decide import decide
from sluice.engine.types import Decision
from sluice.observability import record_decision
from sluice.routers import RouterError, TrafficRouter, WriteCounter, router_for
from sluice.runtime.execute import execute
from sluice.runtime.observe import lookup_policy, observe, route_target

log = structlog.get_logger("sluice.reconcile")


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass
class Reconciler:
    """Holds what reconciles share: the API client, the default Prometheus, a clock."""

    api_client: Any
    default_prometheus_url: str | None = None
    clock: Callable[[], datetime] = utc_now
    writes: WriteCounter = field(default_factory=WriteCounter)

    def reconcile(self, body: dict[str, Any], deleting: bool = False) -> Decision:
        """Bring one Release one step closer to what its spec and policy ask for."""
        release = Release.model_validate(_plain(body))
        structlog.contextvars.bind_contextvars(
            release=release.metadata.name,
            namespace=release.metadata.namespace,
            step=release.status.current_step if release.status else None,
        )
        now = self.clock()
        router: TrafficRouter | None = None
        router_error: str | None = None
        try:
            router = router_for(release.spec.traffic_routing, self.api_client, self.writes)
        except RouterError as exc:
            router_error = str(exc)
        policy = lookup_policy(self.api_client, release)
        observation = observe(
            self.api_client,
            release,
            policy,
            router,
            router_error,
            self.default_prometheus_url,
            now,
            deleting=deleting,
        )
        decision = decide(release, policy.spec, observation, now)
        execute(self.api_client, release, decision, router, route_target(release), self.writes)
        record_decision(release, decision)
        for action in decision.actions:
            log.info("action", action=type(action).__name__, **_fields(action))
        return decision


def _fields(action: object) -> dict[str, Any]:
    return {k: str(v) for k, v in vars(action).items()}


def _plain(body: Any) -> dict[str, Any]:
    """Turn kopf's body view into a plain dict the models can validate."""
    plain: dict[str, Any] = {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": dict(body.get("metadata", {})),
        "spec": body.get("spec", {}),
    }
    status = body.get("status")
    if status:
        plain["status"] = status
    return plain
