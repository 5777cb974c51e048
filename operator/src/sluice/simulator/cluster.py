"""Reading the simulator's inputs from the cluster: Deployments, their annotations, Services."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sluice.api.flags import FLAG_GROUP, FLAG_PLURAL, FLAG_VERSION
from sluice.simulator.core import DeploymentInfo, RouteRule, ServiceInfo
from sluice.simulator.flags import parse_flag_config
from sluice.simulator.runner import Snapshot

ERROR_RATE_ANNOTATION = "sluice.dev/simulate-error-rate"
LATENCY_ANNOTATION = "sluice.dev/simulate-latency"
DEFAULT_ERROR_RATE = 0.005
DEFAULT_LATENCY = 0.05
APP_LABEL = "app"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Defaults:
    """What a Deployment without the simulate annotations gets."""

    error_rate: float = DEFAULT_ERROR_RATE
    latency: float = DEFAULT_LATENCY


def parse_error_rate(text: str | None, default: float) -> float:
    """An error-rate annotation: a float in 0..1. Anything else: the default, with a warning."""
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        _log.warning("ignoring %s=%r: not a number within 0..1", ERROR_RATE_ANNOTATION, text)
        return default
    return value


def parse_latency(text: str | None, default: float) -> float:
    """A latency annotation: seconds, positive and finite. Anything else: the default."""
    if text is None:
        return default
    try:
        value = float(text.removesuffix("s"))
    except ValueError:
        value = math.nan
    if not (value > 0.0 and math.isfinite(value)):
        _log.warning("ignoring %s=%r: not a positive number of seconds", LATENCY_ANNOTATION, text)
        return default
    return value


def _labels(value: Mapping[str, str] | None) -> dict[str, str]:
    return dict(value or {})


def deployment_info(deployment: Any, defaults: Defaults) -> DeploymentInfo:
    """A DeploymentInfo from a kubernetes-client V1Deployment."""
    meta = deployment.metadata
    labels = _labels(meta.labels)
    annotations = _labels(meta.annotations)
    template_meta = deployment.spec.template.metadata if deployment.spec else None
    pod_labels = _labels(template_meta.labels if template_meta else None)
    ready = (deployment.status.ready_replicas if deployment.status else None) or 0
    return DeploymentInfo(
        name=meta.name,
        app=labels.get(APP_LABEL) or pod_labels.get(APP_LABEL) or meta.name,
        pod_labels=pod_labels,
        ready_replicas=int(ready),
        error_rate=parse_error_rate(annotations.get(ERROR_RATE_ANNOTATION), defaults.error_rate),
        latency=parse_latency(annotations.get(LATENCY_ANNOTATION), defaults.latency),
    )


def service_info(service: Any) -> ServiceInfo:
    """A ServiceInfo from a kubernetes-client V1Service."""
    selector = service.spec.selector if service.spec else None
    return ServiceInfo(name=service.metadata.name, selector=_labels(selector))


def route_rules(route: Mapping[str, Any]) -> list[RouteRule]:
    """The rules of an HTTPRoute (a dict from the API) that send traffic to Services."""
    name = str(route.get("metadata", {}).get("name", ""))
    rules: list[RouteRule] = []
    for rule in route.get("spec", {}).get("rules", []) or []:
        backends = tuple(
            (str(ref["name"]), int(ref.get("weight", 1)))
            for ref in rule.get("backendRefs", []) or []
            if "name" in ref
            and ref.get("kind", "Service") == "Service"
            and ref.get("group", "") in ("", "core")
        )
        if backends:
            rules.append(RouteRule(route=name, backends=backends))
    return rules


class ClusterReader:
    """Lists the namespace's Deployments (by label selector) and Services."""

    def __init__(
        self,
        api_client: Any,
        namespace: str,
        selector: str = APP_LABEL,
        defaults: Defaults | None = None,
        timeout: float = 5.0,
    ) -> None:
        from kubernetes import client

        self._apps = client.AppsV1Api(api_client)
        self._core = client.CoreV1Api(api_client)
        self._custom = client.CustomObjectsApi(api_client)
        self.namespace = namespace
        self.selector = selector
        self.defaults = defaults or Defaults()
        self.timeout = timeout

    def read(self) -> Snapshot:
        """The current Deployments, Services and HTTPRoute rules, sorted by name."""
        deployments = self._apps.list_namespaced_deployment(
            self.namespace, label_selector=self.selector, _request_timeout=self.timeout
        ).items
        services = self._core.list_namespaced_service(
            self.namespace, _request_timeout=self.timeout
        ).items
        return Snapshot(
            deployments=sorted(
                (deployment_info(d, self.defaults) for d in deployments), key=lambda d: d.name
            ),
            services=sorted((service_info(s) for s in services), key=lambda s: s.name),
            routes=[rule for route in self._routes() for rule in route_rules(route)],
            flag_configs={
                d.metadata.name: config
                for d in deployments
                if (config := parse_flag_config(_labels(d.metadata.annotations))) is not None
            },
            feature_flags=self._feature_flags(),
        )

    def _feature_flags(self) -> list[dict[str, Any]]:
        """The namespace's FeatureFlag objects; none when their CRD is not installed."""
        from kubernetes.client.exceptions import ApiException

        try:
            answer: Any = self._custom.list_namespaced_custom_object(
                FLAG_GROUP, FLAG_VERSION, self.namespace, FLAG_PLURAL, _request_timeout=self.timeout
            )
        except ApiException as exc:
            if exc.status in (403, 404):
                return []
            raise
        return list(answer.get("items", []))

    def _routes(self) -> list[dict[str, Any]]:
        """The namespace's HTTPRoutes; none when the Gateway API is not installed."""
        from kubernetes.client.exceptions import ApiException

        try:
            answer: Any = self._custom.list_namespaced_custom_object(
                "gateway.networking.k8s.io",
                "v1",
                self.namespace,
                "httproutes",
                _request_timeout=self.timeout,
            )
        except ApiException as exc:
            if exc.status in (403, 404):  # no CRD, or not allowed to read routes
                return []
            raise
        items: list[dict[str, Any]] = answer.get("items", [])
        return sorted(items, key=lambda r: str(r.get("metadata", {}).get("name", "")))
