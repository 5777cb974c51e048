"""FeatureFlag objects (core.openfeature.dev/v1beta1) on the API server: read and patch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from sluice.api.flags import FLAG_GROUP, FLAG_PLURAL, FLAG_VERSION
from sluice.engine.flag_state import FlagState

JsonPatch = list[dict[str, Any]]


def read_feature_flag(api_client: Any, namespace: str, name: str) -> dict[str, Any] | None:
    """The FeatureFlag object as a dict, or None when it does not exist."""
    try:
        found: dict[str, Any] = client.CustomObjectsApi(api_client).get_namespaced_custom_object(
            FLAG_GROUP, FLAG_VERSION, namespace, FLAG_PLURAL, name
        )
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return found


def flag_definition(body: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    """spec.flagSpec.flags[key] of a FeatureFlag object, or None."""
    if body is None:
        return None
    flags = ((body.get("spec") or {}).get("flagSpec") or {}).get("flags") or {}
    definition = flags.get(key)
    return definition if isinstance(definition, dict) else None


def flag_state(name: str, key: str, body: dict[str, Any] | None) -> FlagState:
    """What the engine needs to know of one flag of a FeatureFlag object."""
    definition = flag_definition(body, key)
    if definition is None:
        return FlagState(name, key, object_found=body is not None)
    variants = definition.get("variants") or {}
    return FlagState(
        feature_flag=name,
        key=key,
        object_found=True,
        key_found=True,
        state=str(definition.get("state") or ""),
        default_variant=definition.get("defaultVariant"),
        variants=tuple(sorted(variants)) if isinstance(variants, dict) else (),
        has_targeting=bool(definition.get("targeting")),
    )


def pointer(key: str) -> str:
    """The JSON pointer of a flag's definition (RFC 6901 escaping of the key)."""
    escaped = key.replace("~", "~0").replace("/", "~1")
    return f"/spec/flagSpec/flags/{escaped}"


def patch_flag(
    api_client: Any,
    namespace: str,
    name: str,
    key: str,
    change: Callable[[dict[str, Any]], JsonPatch],
    attempts: int = 2,
) -> dict[str, Any]:
    """Change one flag in one JSON patch that carries the resourceVersion just read.

    change(definition) returns the operations on the flag (paths relative to its pointer);
    a concurrent change makes the API server answer 409, and the flag is read again and the
    patch made anew (attempts in all). Raises ApiException, or LookupError for a missing flag.
    """
    api = client.CustomObjectsApi(api_client)
    for attempt in range(attempts):
        body = read_feature_flag(api_client, namespace, name)
        definition = flag_definition(body, key)
        if body is None or definition is None:
            raise LookupError(f'FeatureFlag "{name}" has no flag "{key}" in namespace {namespace}')
        base = pointer(key)
        version = body["metadata"]["resourceVersion"]
        operations = [
            {"op": "replace", "path": "/metadata/resourceVersion", "value": version},
            *({**op, "path": base + op["path"]} for op in change(definition)),
        ]
        try:
            written: dict[str, Any] = api.patch_namespaced_custom_object(
                FLAG_GROUP,
                FLAG_VERSION,
                namespace,
                FLAG_PLURAL,
                name,
                operations,
                _content_type="application/json-patch+json",
            )
        except ApiException as exc:
            if exc.status == 409 and attempt + 1 < attempts:
                continue
            raise
        return written
    raise AssertionError("unreachable")


def switch_operations(
    disable: bool, default_variant: str | None
) -> Callable[[dict[str, Any]], JsonPatch]:
    """The kill switch: state DISABLED, or everyone on default_variant (targeting removed)."""

    def change(definition: dict[str, Any]) -> JsonPatch:
        if disable:
            return [{"op": "replace", "path": "/state", "value": "DISABLED"}]
        operations: JsonPatch = [
            {"op": "replace", "path": "/defaultVariant", "value": default_variant}
        ]
        if "targeting" in definition:
            operations.append({"op": "remove", "path": "/targeting"})
        return operations

    return change
