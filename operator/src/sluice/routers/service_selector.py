"""Blue/green: switch a Service's selector from the stable pods to the candidate's."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from sluice.routers.base import AppliedWeight, RouterError, RouteTarget, WriteCounter


class ServiceSelectorRouter:
    """Weight 0 selects the stable pods, weight 100 the candidate's; nothing in between."""

    def __init__(self, api_client: Any, writes: WriteCounter) -> None:
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.writes = writes

    def _service_name(self, target: RouteTarget) -> str:
        if target.routing.service is None:
            raise RouterError("trafficRouting.service is not set")
        return target.routing.service.name

    def _selector_of(self, namespace: str, deployment: str) -> dict[str, str]:
        labels = self.apps.read_namespaced_deployment(deployment, namespace).spec.selector
        return dict(labels.match_labels or {})

    def _read_service(self, namespace: str, name: str) -> Any:
        try:
            return self.core.read_namespaced_service(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise RouterError(f'Service "{name}" not found in namespace "{namespace}"') from exc
            raise

    def verify(self, target: RouteTarget) -> str | None:
        """The Service (and the preview Service, if named) must exist."""
        assert target.routing.service is not None
        names = [target.routing.service.name]
        if target.routing.service.preview_service:
            names.append(target.routing.service.preview_service)
        for name in names:
            try:
                self._read_service(target.namespace, name)
            except RouterError as exc:
                return str(exc)
        return None

    def applied_weight(
        self, target: RouteTarget, expected: int, total_replicas: int
    ) -> AppliedWeight:
        """100 when the Service selects the candidate's pods, 0 when the stable's."""
        service = self._read_service(target.namespace, self._service_name(target))
        selector = dict(service.spec.selector or {})
        weight: int | None = None
        if selector == self._selector_of(target.namespace, target.candidate):
            weight = 100
        elif selector == self._selector_of(target.namespace, target.stable):
            weight = 0
        return AppliedWeight(weight, exact=weight == expected)

    def apply_weight(self, target: RouteTarget, candidate_weight: int, total_replicas: int) -> None:
        """Point the Service (and the preview Service) at the right pods, in one write each."""
        if candidate_weight not in (0, 100):
            raise RouterError(
                f"the service router switches all traffic at once; weight {candidate_weight} "
                "needs a canary router (replicaRatio or gatewayAPI)"
            )
        assert target.routing.service is not None
        chosen = target.candidate if candidate_weight == 100 else target.stable
        self._set_selector(target.namespace, target.routing.service.name, chosen)
        if target.routing.service.preview_service:
            self._set_selector(
                target.namespace, target.routing.service.preview_service, target.candidate
            )

    def _set_selector(self, namespace: str, service_name: str, deployment: str) -> None:
        selector = self._selector_of(namespace, deployment)
        service = self._read_service(namespace, service_name)
        if dict(service.spec.selector or {}) == selector:
            return
        # A JSON patch replaces the whole selector (a merge patch would keep stale keys).
        self.core.patch_namespaced_service(
            service_name,
            namespace,
            [{"op": "replace", "path": "/spec/selector", "value": selector}],
        )
        self.writes.count("services")
