"""Fill watched state before any worker acts: one list of every watched kind at start-up.

kopf starts its watches after the start-up handlers, and each watch fills the cache on its own
time. A worker that ran before would see no calendar (and start a rollout in a freeze), no
Deployment (and let a deletion go without returning traffic), no conflicting Release. So the
operator lists each kind once, synchronously, before the workers start; the watches then keep
the cache current (their first events carry the same resourceVersions and wake nothing).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import structlog
from kubernetes import client
from kubernetes.client.rest import ApiException

from sluice.api.common import GROUP, VERSION
from sluice.runtime.cache import CALENDAR, CLUSTER_CALENDAR
from sluice.runtime.controller import Controller

log = structlog.get_logger("sluice.prime")


def _items(call: Callable[..., Any], *args: Any) -> list[dict[str, Any]]:
    """The items of one list call, as plain JSON dicts."""
    response = call(*args, _preload_content=False)
    items: list[dict[str, Any]] = json.loads(response.data)["items"]
    return items


Feed = Callable[[Controller, dict[str, Any]], None]
FEEDS: dict[str, Feed] = {
    "releases": lambda controller, body: controller.on_release(None, body),
    "deployments": lambda controller, body: controller.on_deployment(None, body),
    "rolloutpolicies": lambda controller, body: controller.on_policy(None, body),
    "releasecalendars": lambda controller, body: controller.on_calendar(CALENDAR, None, body),
    "clusterreleasecalendars": lambda controller, body: controller.on_calendar(
        CLUSTER_CALENDAR, None, body
    ),
    "namespaces": lambda controller, body: controller.on_namespace(None, body),
    "releasegroups": lambda controller, body: controller.on_group(None, body),
}


def prime(controller: Controller, namespaces: list[str]) -> dict[str, int]:
    """List Releases, ReleaseGroups, Deployments, policies, calendars and Namespaces into the cache.

    A kind the operator may not list is logged and left to its watch. Returns the counts.
    """
    api = controller.reconciler.api_client
    custom, apps, core = client.CustomObjectsApi(api), client.AppsV1Api(api), client.CoreV1Api(api)
    counts: dict[str, int] = {}

    def load(kind: str, calls: list[tuple[Callable[..., Any], tuple[Any, ...]]]) -> None:
        found: list[dict[str, Any]] = []
        try:
            for call, args in calls:
                found.extend(_items(call, *args))
        except ApiException as exc:
            log.warning(
                "cannot list at start-up; the watch will fill it",
                kind=kind,
                status=exc.status,
                reason=exc.reason,
            )
            return
        feed = FEEDS[kind]
        for body in found:
            feed(controller, body)
        counts[kind] = len(found)

    def custom_calls(plural: str) -> list[tuple[Callable[..., Any], tuple[Any, ...]]]:
        if namespaces:
            call = custom.list_namespaced_custom_object
            return [(call, (GROUP, VERSION, ns, plural)) for ns in namespaces]
        return [(custom.list_cluster_custom_object, (GROUP, VERSION, plural))]

    # Namespaces and calendars first: the first reconcile of each Release needs them.
    load("namespaces", [(core.list_namespace, ())])
    load(
        "clusterreleasecalendars",
        [(custom.list_cluster_custom_object, (GROUP, VERSION, "clusterreleasecalendars"))],
    )
    load("releasecalendars", custom_calls("releasecalendars"))
    load("rolloutpolicies", custom_calls("rolloutpolicies"))
    if namespaces:
        load("deployments", [(apps.list_namespaced_deployment, (ns,)) for ns in namespaces])
    else:
        load("deployments", [(apps.list_deployment_for_all_namespaces, ())])
    load("releasegroups", custom_calls("releasegroups"))  # before members: none starts alone
    load("releases", custom_calls("releases"))
    log.info("watched state primed", **counts)
    return counts
