"""Observe: read everything the engine needs, write nothing."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException
from pydantic import ValidationError

from sluice.api.commands import COMMAND_ANNOTATION, Command
from sluice.api.group import ReleaseGroup
from sluice.api.policy import Metric, PrometheusProvider, RolloutPolicySpec
from sluice.api.release import Release
from sluice.egress import EgressPolicy
from sluice.engine.decide import due_metrics
from sluice.engine.schedule import measurement_time
from sluice.engine.types import Claim, MetricResult, Observation, ResultKind
from sluice.metrics.prometheus import (
    Credentials,
    basic_auth_from_secret,
    bearer_token_from_secret,
    ca_bundle_file,
    provider_for,
    secret_value,
)
from sluice.metrics.provider import MetricProvider, QueryVariables
from sluice.routers import RouterError, RouteTarget, TrafficRouter
from sluice.runtime.cache import ClusterCache

CA_DIRECTORY = Path(tempfile.gettempdir()) / "sluice-ca"
_PROVIDERS: dict[tuple[str, str, str | None], MetricProvider] = {}


@dataclass(frozen=True)
class PolicyLookup:
    """The Release's policy, or why there is none."""

    spec: RolloutPolicySpec | None
    error: str | None


def lookup_policy(cache: ClusterCache, release: Release) -> PolicyLookup:
    """Find (in watched state) and validate the RolloutPolicy a Release names."""
    namespace, name = release.metadata.namespace, release.spec.policy_ref.name
    raw = cache.policy(namespace, name)
    if raw is None:
        return PolicyLookup(None, f'RolloutPolicy "{name}" not found in namespace "{namespace}"')
    try:
        return PolicyLookup(RolloutPolicySpec.model_validate(raw.get("spec", {})), None)
    except ValidationError as exc:
        return PolicyLookup(None, f'RolloutPolicy "{name}" is invalid: {exc}')


def parse_command(release: Release | ReleaseGroup) -> tuple[Command | None, str | None]:
    """Parse the command annotation: (command, None), (None, error) or (None, None)."""
    raw = release.metadata.annotations.get(COMMAND_ANNOTATION)
    if not raw:
        return None, None
    try:
        return Command.model_validate(json.loads(raw, object_pairs_hook=_unique_keys)), None
    except (ValueError, ValidationError) as exc:
        return None, f"annotation {COMMAND_ANNOTATION} is not a valid command: {exc}"


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique (the admission policy reads each key once)."""
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"repeated keys: {', '.join(repeated)}")
    return dict(pairs)


def _secret_data(api_client: Any, namespace: str, name: str) -> dict[str, str]:
    secret = client.CoreV1Api(api_client).read_namespaced_secret(name, namespace)
    return dict(secret.data or {})


def credentials_for(
    api_client: Any, namespace: str, spec: PrometheusProvider
) -> tuple[Credentials | None, str | None]:
    """Read the Secrets a Prometheus provider names: (credentials, CA bundle file path)."""
    credentials: Credentials | None = None
    ca_path: str | None = None
    if spec.bearer_token_secret_ref is not None:
        ref = spec.bearer_token_secret_ref
        credentials = bearer_token_from_secret(
            _secret_data(api_client, namespace, ref.name), ref.key, ref.name
        )
    if spec.basic_auth_secret_ref is not None:
        name = spec.basic_auth_secret_ref
        credentials = basic_auth_from_secret(_secret_data(api_client, namespace, name), name)
    if spec.ca_secret_ref is not None:
        ref = spec.ca_secret_ref
        pem = secret_value(_secret_data(api_client, namespace, ref.name), ref.key, ref.name)
        ca_path = ca_bundle_file(pem, CA_DIRECTORY)
    return credentials, ca_path


def metric_provider(
    api_client: Any,
    namespace: str,
    policy: RolloutPolicySpec,
    default_url: str | None,
    egress: EgressPolicy,
) -> MetricProvider:
    """The provider a policy names, or Prometheus at the operator's default URL (cached).

    A policy's own address must pass the egress allowlist first (EgressRefused, a ValueError,
    names the field): nothing is read or sent for a refused destination.
    The cache key holds the provider's spec, not its Secrets' contents: a rotated Secret is
    read again after the operator restarts, or when the provider's spec changes.
    """
    if policy.provider is not None:
        egress.check(policy.provider.prometheus.address, "spec.provider.prometheus.address")
    spec = policy.provider.model_dump_json() if policy.provider is not None else ""
    key = (namespace, spec, default_url)
    if key not in _PROVIDERS:
        if policy.provider is None:
            _PROVIDERS[key] = provider_for(None, default_url)
        else:
            credentials, ca_path = credentials_for(
                api_client, namespace, policy.provider.prometheus
            )
            _PROVIDERS[key] = provider_for(policy.provider, default_url, credentials, ca_path)
    return _PROVIDERS[key]


def query_variables(release: Release, metric: Metric) -> QueryVariables:
    """What a metric's query template may refer to, for this Release."""
    return QueryVariables(
        namespace=release.metadata.namespace,
        release=release.metadata.name,
        stable=release.spec.stable,
        candidate=release.spec.candidate,
        interval=metric.interval,
    )


def measure_due_metrics(
    api_client: Any,
    release: Release,
    policy: RolloutPolicySpec,
    default_url: str | None,
    now: datetime,
    egress: EgressPolicy,
) -> tuple[MetricResult, ...]:
    """Query the metrics whose interval has come; a provider that cannot be built is an error."""
    due = due_metrics(release, policy, now)
    if not due:
        return ()
    try:
        provider = metric_provider(
            api_client, release.metadata.namespace, policy, default_url, egress
        )
    except (ValueError, ApiException) as exc:
        return tuple(
            MetricResult(metric.name, ResultKind.ERROR, now, error=str(exc), permanent=True)
            for metric in due
        )
    results = []
    status = release.status
    assert status is not None, "metrics are due only in a started rollout"
    for metric in due:
        variables = query_variables(release, metric)
        results.append(provider.measure(metric, variables, measurement_time(status, metric, now)))
    return tuple(results)


def preflight_error(
    api_client: Any,
    release: Release,
    policy: RolloutPolicySpec,
    default_url: str | None,
    now: datetime,
    egress: EgressPolicy,
) -> str | None:
    """Before the first step, query every metric once: an invalid query stops the rollout
    before any traffic moves. (An unreachable Prometheus does not: analysis holds later.)"""
    if release.status is not None and release.status.current_step is not None:
        return None
    if not policy.metrics:
        return None
    try:
        provider = metric_provider(
            api_client, release.metadata.namespace, policy, default_url, egress
        )
    except (ValueError, ApiException) as exc:
        return f"metric provider: {exc}"
    for metric in policy.metrics:
        variables = query_variables(release, metric)
        result = provider.measure(metric, variables, now)
        if result.kind == ResultKind.ERROR and result.permanent:
            return (
                f'RolloutPolicy "{release.spec.policy_ref.name}": metric "{metric.name}" '
                f"has an invalid query: {result.error}"
            )
    return None


def route_target(release: Release) -> RouteTarget:
    """The router's view of a Release."""
    return RouteTarget(
        namespace=release.metadata.namespace,
        stable=release.spec.stable,
        candidate=release.spec.candidate,
        routing=release.spec.traffic_routing,
    )


def claims_on_deployments(cache: ClusterCache, release: Release) -> tuple[Claim, ...]:
    """The other Releases (in watched state) that name this Release's Deployments."""
    meta, spec = release.metadata, release.spec
    claims = []
    for body in cache.claimants(meta.namespace, (spec.stable, spec.candidate)):
        other = body.get("metadata", {})
        if other.get("name") == meta.name:
            continue
        status = body.get("status") or {}
        ended = status.get("outcome") is not None or bool(other.get("deletionTimestamp"))
        claims.append(
            Claim(
                name=str(other.get("name", "")),
                created=str(other.get("creationTimestamp", "")),
                running=status.get("currentStep") is not None and not ended,
                active=not ended,
            )
        )
    return tuple(claims)


def needs_router(release: Release, deleting: bool) -> bool:
    """Whether the engine may act on traffic: not for a finished rollout that has settled."""
    status = release.status
    if deleting or status is None or status.outcome is None:
        return True
    return status.scale_down_at is not None and not status.scaled_down


def observe(
    cache: ClusterCache,
    api_client: Any,
    release: Release,
    policy: PolicyLookup,
    router: TrafficRouter | None,
    router_error: str | None,
    default_prometheus_url: str | None,
    now: datetime,
    deleting: bool = False,
    egress: EgressPolicy | None = None,
) -> Observation:
    """Read the Deployments, the router's state, the command and the due metrics."""
    egress = egress or EgressPolicy()
    namespace = release.metadata.namespace
    stable = cache.deployment(namespace, release.spec.stable)
    candidate = cache.deployment(namespace, release.spec.candidate)
    command, command_error = parse_command(release)
    applied: int | None = None
    exact: bool | None = None
    status = release.status
    if not needs_router(release, deleting):
        router = None
    if router is not None and router_error is None and stable and candidate:
        try:
            target = replace(
                route_target(release),
                stable_replicas=stable.replicas,
                candidate_replicas=candidate.replicas,
            )
            router_error = router.verify(target)
            if router_error is None and status is not None and status.weights is not None:
                total = status.total_replicas or stable.replicas
                reading = router.applied_weight(target, status.weights.candidate, total)
                applied, exact = reading.weight, reading.exact
        except RouterError as exc:
            router_error = str(exc)
    results: tuple[MetricResult, ...] = ()
    policy_error = policy.error
    if policy.spec is not None and stable and candidate and router_error is None and not deleting:
        policy_error = preflight_error(
            api_client, release, policy.spec, default_prometheus_url, now, egress
        )
        if policy_error is None:
            results = measure_due_metrics(
                api_client, release, policy.spec, default_prometheus_url, now, egress
            )
    return Observation(
        stable=stable,
        candidate=candidate,
        router_error=router_error,
        applied_candidate_weight=applied,
        weight_applied=exact,
        results=results,
        command=command,
        command_error=command_error,
        policy_error=policy_error,
        deleting=deleting,
        claims=claims_on_deployments(cache, release),
        created=str((release.metadata.model_extra or {}).get("creationTimestamp") or ""),
    )
