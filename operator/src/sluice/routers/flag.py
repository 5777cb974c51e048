"""Flag router: the weight is the share of users a FeatureFlag's fractional split gives the
candidate variant (flagd's `fractional` operator), written in one JSON patch per change."""

from __future__ import annotations

from typing import Any

from kubernetes.client.rest import ApiException

from sluice.api.flags import FlagRouting
from sluice.flags.objects import JsonPatch, flag_definition, patch_flag, read_feature_flag
from sluice.observability import FLAG_CHANGES
from sluice.routers.base import AppliedWeight, RouterError, RouteTarget, WriteCounter


def fractional_weight(definition: dict[str, Any], routing: FlagRouting) -> int | None:
    """The candidate variant's share (percent) a flag definition gives; None: not ours to read.

    No targeting: everyone gets defaultVariant (0 for the stable variant, 100 for the
    candidate's). Targeting {"fractional": [...]} with both variants: their weights.
    """
    targeting = definition.get("targeting") or {}
    if not targeting:
        default = definition.get("defaultVariant")
        if default == routing.stable_variant:
            return 0
        return 100 if default == routing.candidate_variant else None
    if set(targeting) != {"fractional"} or not isinstance(targeting["fractional"], list):
        return None
    weights: dict[str, float] = {}
    for arg in targeting["fractional"]:
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
            weights[arg[0]] = float(arg[1])
        elif isinstance(arg, list):
            return None  # a variant without a weight, or another shape
    if set(weights) != {routing.stable_variant, routing.candidate_variant}:
        return None
    total = sum(weights.values())
    return round(100 * weights[routing.candidate_variant] / total) if total > 0 else None


def weight_operations(routing: FlagRouting, weight: int) -> Any:
    """The change that gives the candidate variant `weight` percent of users."""

    def change(definition: dict[str, Any]) -> JsonPatch:
        operations: JsonPatch = []
        if weight in (0, 100):
            everyone = routing.candidate_variant if weight == 100 else routing.stable_variant
            operations.append({"op": "add", "path": "/defaultVariant", "value": everyone})
            if "targeting" in definition:
                operations.append({"op": "remove", "path": "/targeting"})
        else:
            split = [[routing.stable_variant, 100 - weight], [routing.candidate_variant, weight]]
            operations += [
                {"op": "add", "path": "/defaultVariant", "value": routing.stable_variant},
                {"op": "add", "path": "/targeting", "value": {"fractional": split}},
            ]
        if weight > 0 and definition.get("state") != "ENABLED":
            operations.append({"op": "replace", "path": "/state", "value": "ENABLED"})
        return operations

    return change


class FlagRouter:
    """Moves users, not pods: the Deployments keep their replicas."""

    def __init__(self, api_client: Any, writes: WriteCounter) -> None:
        self.api_client = api_client
        self.writes = writes

    @staticmethod
    def _routing(target: RouteTarget) -> FlagRouting:
        routing = target.routing.flag
        if routing is None:
            raise RouterError("the flag router needs trafficRouting.flag")
        return routing

    def _definition(self, target: RouteTarget) -> dict[str, Any]:
        routing = self._routing(target)
        try:
            body = read_feature_flag(self.api_client, target.namespace, routing.feature_flag)
        except ApiException as exc:
            raise RouterError(
                f'reading FeatureFlag "{routing.feature_flag}" in namespace '
                f'"{target.namespace}": {exc.status} {exc.reason}'
            ) from exc
        if body is None:
            raise RouterError(
                f'FeatureFlag "{routing.feature_flag}" not found in namespace "{target.namespace}"'
            )
        definition = flag_definition(body, routing.key)
        if definition is None:
            raise RouterError(f'FeatureFlag "{routing.feature_flag}" has no flag "{routing.key}"')
        return definition

    def verify(self, target: RouteTarget) -> str | None:
        """What is wrong with the flag (missing object or key, unknown variants), or None."""
        routing = self._routing(target)
        try:
            definition = self._definition(target)
        except RouterError as exc:
            return str(exc)
        variants = definition.get("variants") or {}
        missing = [
            v for v in (routing.stable_variant, routing.candidate_variant) if v not in variants
        ]
        if missing:
            return (
                f'flag "{routing.key}" of FeatureFlag "{routing.feature_flag}" has no variant '
                f"{', '.join(repr(v) for v in missing)}; its variants: "
                f"{', '.join(sorted(variants)) or 'none'}"
            )
        return None

    def applied_weight(
        self, target: RouteTarget, expected: int, total_replicas: int
    ) -> AppliedWeight:
        """The candidate variant's share now. A flag switched off by hand while users are on the
        candidate variant stops the rollout (Degraded, RouterError): Sluice never re-enables it."""
        routing = self._routing(target)
        definition = self._definition(target)
        if definition.get("state") == "DISABLED":
            if expected > 0:
                raise RouterError(
                    f'flag "{routing.key}" of FeatureFlag "{routing.feature_flag}" was switched '
                    "off (state DISABLED) outside Sluice while the rollout gives its candidate "
                    f"variant {expected}%: enable it to go on, or abort the Release"
                )
            return AppliedWeight(0, True)
        weight = fractional_weight(definition, routing)
        return AppliedWeight(weight, weight == expected)

    def apply_weight(self, target: RouteTarget, candidate_weight: int, total_replicas: int) -> None:
        """Give the candidate variant candidate_weight percent of users, in one patch."""
        routing = self._routing(target)
        definition = self._definition(target)
        enabled = definition.get("state") == "ENABLED" or candidate_weight == 0
        if fractional_weight(definition, routing) == candidate_weight and enabled:
            return
        try:
            patch_flag(
                self.api_client,
                target.namespace,
                routing.feature_flag,
                routing.key,
                weight_operations(routing, candidate_weight),
            )
        except (ApiException, LookupError) as exc:
            FLAG_CHANGES.labels(
                target.namespace, routing.feature_flag, routing.key, "weight", "failed"
            ).inc()
            detail = f"{exc.status} {exc.reason}" if isinstance(exc, ApiException) else str(exc)
            raise RouterError(
                f'setting flag "{routing.key}" of FeatureFlag "{routing.feature_flag}" to '
                f"{candidate_weight}% {routing.candidate_variant}: {detail}"
            ) from exc
        self.writes.count("featureflags")
        FLAG_CHANGES.labels(
            target.namespace, routing.feature_flag, routing.key, "weight", "ok"
        ).inc()
