"""One reconcile of one Release: observe, decide, execute. The controller calls only this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import structlog
from kubernetes.client.rest import ApiException

from sluice.api.release import Release
from sluice.egress import EgressPolicy
from sluice.engine.decide import decide
from sluice.engine.summary import action_failed
from sluice.engine.types import Decision, DeliveryReport, EmitEvent
from sluice.observability import record_decision
from sluice.routers import RouterError, TrafficRouter, WriteCounter, router_for
from sluice.runtime.cache import ClusterCache, plain_body
from sluice.runtime.calendars import IcsFiles, calendars_for
from sluice.runtime.execute import execute, post_event, status_changed, status_document
from sluice.runtime.flags import observe_flags, record_overdue
from sluice.runtime.gates import observe_gates
from sluice.runtime.group_cache import GroupIndex
from sluice.runtime.group_observe import group_view
from sluice.runtime.kube import patch_release_status
from sluice.runtime.notes import observe_notes
from sluice.runtime.observe import lookup_policy, observe, route_target

log = structlog.get_logger("sluice.reconcile")


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass
class Reconciler:
    """Holds what reconciles share: the API client, watched state, the default Prometheus."""

    api_client: Any
    cache: ClusterCache
    default_prometheus_url: str | None = None
    clock: Callable[[], datetime] = utc_now
    writes: WriteCounter = field(default_factory=WriteCounter)
    egress: EgressPolicy = field(default_factory=EgressPolicy)
    groups: GroupIndex = field(default_factory=GroupIndex)
    ics: IcsFiles = field(init=False)

    def __post_init__(self) -> None:
        if self.writes.on_scale is None:
            self.writes.on_scale = self.cache.scaled
        self.ics = IcsFiles(self.api_client)

    def reconcile(
        self,
        body: dict[str, Any],
        deleting: bool = False,
        action_error: str | None = None,
        deliveries: tuple[DeliveryReport, ...] = (),
    ) -> Decision:
        """Bring one Release one step closer to what its spec and policy ask for."""
        release = Release.model_validate(plain_body(body))
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
        policy = lookup_policy(self.cache, release)
        observation = observe(
            self.cache,
            self.api_client,
            release,
            policy,
            router,
            router_error,
            self.default_prometheus_url,
            now,
            deleting=deleting,
            egress=self.egress,
        )
        calendars, calendar_error = calendars_for(self.cache, self.ics, release, policy.spec)
        observation = replace(
            observation,
            action_error=action_error,
            calendars=calendars,
            calendar_error=calendar_error,
            deliveries=deliveries,
            group=group_view(self.cache, self.groups, release),
            flags=observe_flags(self.api_client, release),
            notes=None if deleting else observe_notes(self.api_client, release),
            gates=()
            if deleting
            else observe_gates(
                self.api_client, release, policy.spec, self.default_prometheus_url, self.egress, now
            ),
        )
        decision = decide(release, policy.spec, observation, now)
        target = route_target(release)
        if observation.stable is not None and observation.candidate is not None:
            target = replace(
                target,
                stable_replicas=observation.stable.replicas,
                candidate_replicas=observation.candidate.replicas,
            )
        execute(self.api_client, self.cache, body, release, decision, router, target, self.writes)
        record_decision(release, decision)
        record_overdue(release, decision.status, policy.spec, observation.flags, now)
        for action in decision.actions:
            log.info("action", action=type(action).__name__, **_fields(action))
        return decision

    def report_failure(self, body: dict[str, Any], error: str) -> None:
        """Say at once, in the status and an Event, that acting failed (best effort)."""
        release = Release.model_validate(plain_body(body))
        decision = action_failed(release, error, self.clock())
        meta = release.metadata
        version = str(body.get("metadata", {}).get("resourceVersion", ""))
        try:
            if status_changed(release.status, decision.status):
                document = status_document(decision.status)
                written = patch_release_status(
                    self.api_client, meta.namespace, meta.name, document, version
                )
                self.writes.count("releases/status")
                self.cache.put_release(written)
            for event in decision.actions:
                if isinstance(event, EmitEvent):
                    post_event(self.api_client, release, event, self.writes)
        except ApiException as exc:
            log.warning("reporting a failure failed", status=exc.status, reason=exc.reason)


def _fields(action: object) -> dict[str, Any]:
    return {k: str(v) for k, v in vars(action).items()}
