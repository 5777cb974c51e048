"""Kopf handlers: thin glue from kopf's watches to the controller's cache and queue."""

from __future__ import annotations

from typing import Any

import kopf

from sluice.api.common import GROUP, VERSION
from sluice.cli.kubeconfig import login_as_configured
from sluice.runtime.controller import Controller
from sluice.runtime.prime import prime


class _State:
    controller: Controller | None = None
    namespaces: tuple[str, ...] = ()


def install(controller: Controller, namespaces: list[str] | None = None) -> None:
    """Give the handlers the controller they feed (done once, before kopf starts)."""
    _State.controller = controller
    _State.namespaces = tuple(namespaces or ())


def _controller() -> Controller:
    if _State.controller is None:
        raise RuntimeError("sluice.handlers.install() was not called before kopf started")
    return _State.controller


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    """kopf only watches; Sluice owns its finalizer, status and Events; workers start."""
    # kopf must not remove Sluice's finalizer as "not needed": give kopf a name of its own.
    settings.persistence.finalizer = f"{GROUP}/kopf"
    settings.posting.enabled = False
    # Watching named namespaces needs no cluster-wide scans (nor the RBAC to list namespaces).
    settings.scanning.disabled = bool(_State.namespaces)
    settings.watching.server_timeout = 60
    settings.watching.client_timeout = 70
    prime(_controller(), list(_State.namespaces))  # no worker acts on an empty cache
    _controller().start()


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo:
    """kopf talks to the cluster `sluice run` found (flag, $KUBECONFIG, in-cluster, ~/.kube)."""
    return login_as_configured(**kwargs)


@kopf.on.cleanup()
def stop_workers(**_: Any) -> None:
    """Let the workers finish the key in hand."""
    _controller().stop()


@kopf.on.event(GROUP, VERSION, "releases")
async def release_event(event: kopf.RawEvent, **_: Any) -> None:
    """A Release changed: store it and queue it."""
    _controller().on_release(event.get("type"), dict(event["object"]))


@kopf.on.event(GROUP, VERSION, "releasegroups")
async def group_event(event: kopf.RawEvent, **_: Any) -> None:
    """A ReleaseGroup changed: store it, reconcile it, wake its members."""
    _controller().on_group(event.get("type"), dict(event["object"]))


@kopf.on.event("apps", "v1", "deployments")
async def deployment_event(event: kopf.RawEvent, **_: Any) -> None:
    """A Deployment changed: store its state and wake the Releases that name it."""
    _controller().on_deployment(event.get("type"), dict(event["object"]))


@kopf.on.event(GROUP, VERSION, "rolloutpolicies")
async def policy_event(event: kopf.RawEvent, **_: Any) -> None:
    """A RolloutPolicy changed: store it and wake the Releases that follow it."""
    _controller().on_policy(event.get("type"), dict(event["object"]))


@kopf.on.event("", "v1", "services")
async def service_event(event: kopf.RawEvent, **_: Any) -> None:
    """A Service changed: wake the Releases that route through it."""
    _controller().on_routing_object("Service", dict(event["object"]))


@kopf.on.event("gateway.networking.k8s.io", "v1", "httproutes")
async def httproute_event(event: kopf.RawEvent, **_: Any) -> None:
    """An HTTPRoute changed: wake the Releases that weight it."""
    _controller().on_routing_object("HTTPRoute", dict(event["object"]))


@kopf.on.event(GROUP, VERSION, "releasecalendars")
async def calendar_event(event: kopf.RawEvent, **_: Any) -> None:
    """A ReleaseCalendar changed: its status, and the Releases of its namespace."""
    _controller().on_calendar("ReleaseCalendar", event.get("type"), dict(event["object"]))


@kopf.on.event(GROUP, VERSION, "clusterreleasecalendars")
async def cluster_calendar_event(event: kopf.RawEvent, **_: Any) -> None:
    """A ClusterReleaseCalendar changed: its status, and every waiting Release."""
    _controller().on_calendar("ClusterReleaseCalendar", event.get("type"), dict(event["object"]))


@kopf.on.event("", "v1", "namespaces")
async def namespace_event(event: kopf.RawEvent, **_: Any) -> None:
    """A namespace's labels changed: ClusterReleaseCalendars may select it now."""
    _controller().on_namespace(event.get("type"), dict(event["object"]))
