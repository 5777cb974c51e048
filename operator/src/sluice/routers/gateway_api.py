"""Gateway API: weights on the stable and candidate backendRefs of an HTTPRoute."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from sluice.routers.base import AppliedWeight, RouterError, RouteTarget, Scaler, WriteCounter

GROUP, VERSION, PLURAL = "gateway.networking.k8s.io", "v1", "httproutes"


class GatewayAPIRouter:
    """Sets backendRef weights; the candidate gets the stable's replica count to serve them."""

    def __init__(self, api_client: Any, writes: WriteCounter) -> None:
        self.custom = client.CustomObjectsApi(api_client)
        self.scaler = Scaler(api_client, writes)
        self.writes = writes

    def _read_route(self, target: RouteTarget) -> dict[str, Any]:
        assert target.routing.gateway_api is not None
        name = target.routing.gateway_api.http_route
        try:
            route: dict[str, Any] = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, target.namespace, PLURAL, name
            )
        except ApiException as exc:
            if exc.status == 404:
                raise RouterError(
                    f'HTTPRoute "{name}" not found in namespace "{target.namespace}"'
                ) from exc
            raise
        return route

    def verify(self, target: RouteTarget) -> str | None:
        """The HTTPRoute must exist and reference the stable Service in some rule."""
        assert target.routing.gateway_api is not None
        try:
            route = self._read_route(target)
        except RouterError as exc:
            return str(exc)
        stable = target.routing.gateway_api.stable_service
        if not any(_find_ref(rule, stable) for rule in route.get("spec", {}).get("rules", [])):
            return (
                f'HTTPRoute "{target.routing.gateway_api.http_route}" has no backendRef to '
                f'the stable Service "{stable}"'
            )
        return None

    def applied_weight(
        self, target: RouteTarget, expected: int, total_replicas: int
    ) -> AppliedWeight:
        """The candidate's share in the rules that route to the stable Service; exact when
        every such rule carries expected and 100 - expected."""
        assert target.routing.gateway_api is not None
        routing = target.routing.gateway_api
        shares: list[int] = []
        exact = True
        for rule in self._read_route(target).get("spec", {}).get("rules", []):
            stable = _find_ref(rule, routing.stable_service)
            if stable is None:
                continue
            candidate = _find_ref(rule, routing.candidate_service)
            stable_weight = int(stable.get("weight", 1))
            candidate_weight = int(candidate.get("weight", 1)) if candidate else 0
            exact = exact and (stable_weight, candidate_weight) == (100 - expected, expected)
            if stable_weight + candidate_weight > 0:
                shares.append(round(100 * candidate_weight / (stable_weight + candidate_weight)))
        return AppliedWeight(shares[0] if shares else None, exact=exact and bool(shares))

    def apply_weight(self, target: RouteTarget, candidate_weight: int, total_replicas: int) -> None:
        """Give the candidate pods first (when it gets traffic), then write the weights once."""
        assert target.routing.gateway_api is not None
        routing = target.routing.gateway_api
        if candidate_weight > 0:
            self.scaler.scale(target.namespace, target.candidate, total_replicas)
        route = self._read_route(target)
        rules = route.get("spec", {}).get("rules", [])
        changed = False
        for rule in rules:
            stable = _find_ref(rule, routing.stable_service)
            if stable is None:
                continue
            candidate = _find_ref(rule, routing.candidate_service)
            if candidate is None:
                candidate = {"name": routing.candidate_service, "port": stable.get("port")}
                if candidate["port"] is None:
                    del candidate["port"]
                rule.setdefault("backendRefs", []).append(candidate)
                changed = True
            if stable.get("weight") != 100 - candidate_weight:
                stable["weight"] = 100 - candidate_weight
                changed = True
            if candidate.get("weight") != candidate_weight:
                candidate["weight"] = candidate_weight
                changed = True
        if not changed:
            return
        patch = {
            "metadata": {"resourceVersion": route["metadata"]["resourceVersion"]},
            "spec": {"rules": rules},
        }
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, target.namespace, PLURAL, routing.http_route, patch
        )
        self.writes.count("httproutes")


def _find_ref(rule: dict[str, Any], service: str) -> dict[str, Any] | None:
    for ref in rule.get("backendRefs", []) or []:
        if ref.get("name") == service and ref.get("kind", "Service") == "Service":
            found: dict[str, Any] = ref
            return found
    return None
