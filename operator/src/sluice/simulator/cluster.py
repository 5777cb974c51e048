"""Reading the simulator's inputs from the cluster: Deployments, their annotations, Services."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sluice.simulator.core import DeploymentInfo, ServiceInfo

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
        self.namespace = namespace
        self.selector = selector
        self.defaults = defaults or Defaults()
        self.timeout = timeout

    def read(self) -> tuple[list[DeploymentInfo], list[ServiceInfo]]:
        """The current Deployments and Services, sorted by name."""
        deployments = self._apps.list_namespaced_deployment(
            self.namespace, label_selector=self.selector, _request_timeout=self.timeout
        ).items
        services = self._core.list_namespaced_service(
            self.namespace, _request_timeout=self.timeout
        ).items
        return (
            sorted((deployment_info(d, self.defaults) for d in deployments), key=lambda d: d.name),
            sorted((service_info(s) for s in services), key=lambda s: s.name),
        )
