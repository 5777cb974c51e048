"""Reading go/no-go criteria, and creating gate Jobs.

Reads happen only while an evaluation is pending (`gates_due`): a Prometheus query through the
policy's metric provider (egress-checked), a GET of the gate Job (and a server-side dry run of
its creation while it does not exist, so that a template the API refuses is reported before
anything is created), a GET of the object a condition criterion names. A finished Release
reads nothing. Creating a Job is an engine action (`CreateJob`), run after the status write.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import datetime
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from sluice.api.common import parse_duration
from sluice.api.gates import GateCriterion
from sluice.api.policy import Metric, RolloutPolicySpec
from sluice.api.release import Release
from sluice.egress import EgressPolicy
from sluice.engine.gates import gates_due, job_name
from sluice.engine.types import CreateJob, GateObservation
from sluice.runtime.errors import describe
from sluice.runtime.observe import metric_provider, query_variables

MANAGED_BY = "sluice"
GATE_QUERY_INTERVAL = "1m"  # {{interval}} in a gate's query
_PLURALS: dict[tuple[str, str], str | None] = {}  # (apiVersion, kind) -> resource, from discovery
_PLURALS_LOCK = threading.Lock()


def job_labels(release: Release, action: CreateJob) -> dict[str, str]:
    """The labels of a gate Job and its pods."""
    return {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "sluice.dev/release": release.metadata.name,
        "sluice.dev/gate": action.criterion,
        "sluice.dev/stage": action.stage,
        "sluice.dev/rollout": str(action.rollout),
    }


def job_body(release: Release, action: CreateJob) -> dict[str, Any]:
    """The batch/v1 Job of a gate: its template, Sluice's labels and env, owned by the Release."""
    meta, spec = release.metadata, release.spec
    template = action.job.template.model_dump(mode="json", by_alias=True, exclude_none=True)
    labels = job_labels(release, action)
    pod_meta = dict(template.get("metadata") or {})
    pod_meta["labels"] = {**(pod_meta.get("labels") or {}), **labels}
    env = [
        {"name": name, "value": value}
        for name, value in (
            ("SLUICE_RELEASE", meta.name),
            ("SLUICE_NAMESPACE", meta.namespace),
            ("SLUICE_STABLE", spec.stable),
            ("SLUICE_CANDIDATE", spec.candidate),
            ("SLUICE_VERSION", spec.version),
            ("SLUICE_GATE", action.criterion),
            ("SLUICE_STAGE", action.stage),
        )
    ]
    pod_spec = dict(template["spec"])
    pod_spec["containers"] = [
        {**container, "env": [*(container.get("env") or []), *env]}
        for container in pod_spec["containers"]
    ]
    owner = {
        "apiVersion": release.api_version,
        "kind": release.kind,
        "name": meta.name,
        "uid": meta.uid,
        "controller": True,
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": action.name,
            "namespace": meta.namespace,
            "labels": labels,
            "ownerReferences": [owner] if meta.uid else [],
        },
        "spec": {
            "backoffLimit": action.job.backoff_limit,
            "activeDeadlineSeconds": max(1, int(parse_duration(action.job.timeout))),
            "template": {"metadata": pod_meta, "spec": pod_spec},
        },
    }


def create_job(api_client: Any, release: Release, action: CreateJob) -> None:
    """Create a gate Job; one of that name that exists already is it (after a crash): kept."""
    batch = client.BatchV1Api(api_client)
    try:
        batch.create_namespaced_job(release.metadata.namespace, job_body(release, action))
    except ApiException as exc:
        if exc.status != 409:
            raise


def _refusal(exc: ApiException, what: str) -> str | None:
    """Why the API refuses a request for good (a bad object, no permission), or None."""
    if exc.status in (400, 422):
        return f"the API refuses {what}: {describe(exc)}"
    if exc.status == 403:
        return f"the operator is not allowed to use {what} (RBAC): {describe(exc)}"
    return None


def _observe_job(
    api_client: Any, release: Release, stage: str, criterion: GateCriterion
) -> GateObservation:
    assert criterion.job is not None
    status = release.status
    assert status is not None
    rollout, namespace = status.rollouts, release.metadata.namespace
    name = job_name(release.metadata.name, rollout, stage, criterion.name)
    base = GateObservation(rollout=rollout, stage=stage, criterion=criterion.name)
    batch = client.BatchV1Api(api_client)
    try:
        job = batch.read_namespaced_job(name, namespace)
    except ApiException as exc:
        if exc.status != 404:
            refused = _refusal(exc, f'the Job "{name}"')
            return _with(base, invalid=refused, error=None if refused else describe(exc))
        action = CreateJob(name, criterion.name, stage, rollout, criterion.job)
        try:
            batch.create_namespaced_job(namespace, job_body(release, action), dry_run="All")
        except ApiException as dry:
            if dry.status == 409:  # created meanwhile
                return _with(base, found=True, detail="created")
            refused = _refusal(dry, f'the Job template of gate "{criterion.name}"')
            return _with(base, invalid=refused, error=None if refused else describe(dry))
        return base
    state = job.status
    conditions = tuple(
        (c.type, c.status, c.reason or "", c.message or "") for c in (state.conditions or [])
    )
    detail = f"active {state.active or 0}, succeeded {state.succeeded or 0}, failed " + str(
        state.failed or 0
    )
    return _with(base, found=True, conditions=conditions, detail=detail)


def _with(base: GateObservation, **fields: Any) -> GateObservation:
    return replace(base, **fields)


def _get_json(api_client: Any, path: str) -> dict[str, Any]:
    """GET a path of the API server as JSON (raises ApiException like the typed clients)."""
    method, url, headers, body, _ = api_client.param_serialize(
        "GET", path, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"]
    )
    response = api_client.call_api(method, url, header_params=headers, body=body)
    data = response.read()
    text = data.decode() if isinstance(data, bytes) else str(data or "")
    if not 200 <= response.status < 300:
        raise ApiException.from_response(http_resp=response, body=text, data=None)
    found: dict[str, Any] = json.loads(text)
    return found


def resource_for(api_client: Any, api_version: str, kind: str) -> str | None:
    """The resource (plural) of a kind, from the API's discovery of its group version (public
    to every authenticated user); cached for the life of the process."""
    key = (api_version, kind)
    with _PLURALS_LOCK:
        if key in _PLURALS:
            return _PLURALS[key]
    path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    found = _get_json(api_client, path)
    plural = next(
        (
            str(r["name"])
            for r in found.get("resources", [])
            if r.get("kind") == kind and "/" not in str(r.get("name", "")) and r.get("namespaced")
        ),
        None,
    )
    with _PLURALS_LOCK:
        _PLURALS[key] = plural
    return plural


def _observe_condition(
    api_client: Any, release: Release, stage: str, criterion: GateCriterion
) -> GateObservation:
    wanted = criterion.condition
    assert wanted is not None and release.status is not None
    base = GateObservation(rollout=release.status.rollouts, stage=stage, criterion=criterion.name)
    what = f"{wanted.kind} {wanted.name} ({wanted.api_version})"
    try:
        plural = resource_for(api_client, wanted.api_version, wanted.kind)
    except ApiException as exc:
        if exc.status == 404:
            return _with(base, invalid=f"the API has no {wanted.api_version}")
        return _with(base, error=f"discovery of {wanted.api_version}: {describe(exc)}")
    if plural is None:
        return _with(base, invalid=f"the API has no namespaced kind {what}")
    prefix = f"/apis/{wanted.api_version}" if "/" in wanted.api_version else "/api/v1"
    path = f"{prefix}/namespaces/{release.metadata.namespace}/{plural}/{wanted.name}"
    try:
        body = _get_json(api_client, path)
    except ApiException as exc:
        if exc.status == 404:
            return base
        if exc.status == 403:
            return _with(base, invalid=f"the operator may not read {what} (RBAC): see gates.md")
        return _with(base, error=f"reading {what}: {describe(exc)}")
    conditions = tuple(
        (
            str(c.get("type", "")),
            str(c.get("status", "")),
            str(c.get("reason") or ""),
            str(c.get("message") or ""),
        )
        for c in (body.get("status") or {}).get("conditions") or []
    )
    return _with(base, found=True, conditions=conditions)


def _observe_prometheus(
    api_client: Any,
    release: Release,
    policy: RolloutPolicySpec,
    stage: str,
    criterion: GateCriterion,
    default_url: str | None,
    egress: EgressPolicy,
    now: datetime,
) -> GateObservation:
    gate = criterion.prometheus
    assert gate is not None and release.status is not None
    base = GateObservation(rollout=release.status.rollouts, stage=stage, criterion=criterion.name)
    try:
        provider = metric_provider(
            api_client, release.metadata.namespace, policy, default_url, egress
        )
    except (ValueError, ApiException) as exc:
        return _with(base, invalid=f"metric provider: {describe(exc)}")
    metric = Metric(
        name=criterion.name,
        query=gate.query,
        thresholds=gate.thresholds,
        interval=GATE_QUERY_INTERVAL,
    )
    return _with(base, result=provider.measure(metric, query_variables(release, metric), now))


def observe_gates(
    api_client: Any,
    release: Release,
    policy: RolloutPolicySpec | None,
    default_url: str | None,
    egress: EgressPolicy,
    now: datetime,
) -> tuple[GateObservation, ...]:
    """Read the pending criteria of the evaluation in progress (nothing when none is)."""
    due = gates_due(release, policy)
    if due is None or policy is None:
        return ()
    stage, criteria = due[0].value, due[1]
    seen = []
    for criterion in criteria:
        try:
            if criterion.prometheus is not None:
                seen.append(
                    _observe_prometheus(
                        api_client, release, policy, stage, criterion, default_url, egress, now
                    )
                )
            elif criterion.job is not None:
                seen.append(_observe_job(api_client, release, stage, criterion))
            else:
                seen.append(_observe_condition(api_client, release, stage, criterion))
        except Exception as exc:  # a read that failed this time (connection reset ...): retried
            assert release.status is not None
            rollout = release.status.rollouts
            seen.append(GateObservation(rollout, stage, criterion.name, error=describe(exc)))
    return tuple(seen)
