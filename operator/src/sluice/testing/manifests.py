"""Small builders for the manifests that the cluster tests apply."""

from __future__ import annotations

from typing import Any

# The simulator's error rate of the Deployment a metric is measured on (the candidate, or the
# stable for the baseline): 5xx responses over all, across the last 10 s.
ERROR_RATE_QUERY = (
    'sum(rate(sluice_demo_requests_total{namespace="{{namespace}}",deployment="{{target}}",'
    'code=~"5.."}[10s])) / sum(rate(sluice_demo_requests_total{namespace="{{namespace}}",'
    'deployment="{{target}}"}[10s]))'
)


def deployment(
    name: str, app: str, track: str, version: str, replicas: int | None
) -> dict[str, Any]:
    """A Deployment whose pods carry app and track labels (kwok makes them Ready)."""
    labels = {"app": app, "track": track}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "app", "image": f"registry.example/{app}:{version}"}]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": app, "app.kubernetes.io/version": version}},
        "spec": spec,
    }


def service(name: str, selector: dict[str, str]) -> dict[str, Any]:
    """A ClusterIP Service on port 80."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def policy(name: str, steps: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """A RolloutPolicy with the given steps and no metrics unless given."""
    return {
        "apiVersion": "sluice.dev/v1alpha1",
        "kind": "RolloutPolicy",
        "metadata": {"name": name},
        "spec": {"steps": steps, **fields},
    }


def analysed_policy(
    name: str,
    steps: list[dict[str, Any]],
    query: str = ERROR_RATE_QUERY,
    metric: str = "error-rate",
    **fields: Any,
) -> dict[str, Any]:
    """A RolloutPolicy with one metric measured every 2 s (at most 0.05) and a 1 s scale-down
    delay."""
    spec = {
        "scaleDownDelay": "1s",
        "metrics": [
            {"name": metric, "query": query, "interval": "2s", "thresholds": {"max": 0.05}}
        ],
        **fields,
    }
    return policy(name, steps, **spec)


def weights(*values: int) -> list[dict[str, Any]]:
    """setWeight steps."""
    return [{"setWeight": v} for v in values]


def release(
    name: str, stable: str, candidate: str, policy_name: str, **spec: Any
) -> dict[str, Any]:
    """A Release of version 1.1.0 over stable 1.0.0."""
    return {
        "apiVersion": "sluice.dev/v1alpha1",
        "kind": "Release",
        "metadata": {"name": name},
        "spec": {
            "stable": stable,
            "candidate": candidate,
            "version": spec.pop("version", "1.1.0"),
            "stableVersion": spec.pop("stableVersion", "1.0.0"),
            "policyRef": {"name": policy_name},
            **spec,
        },
    }
