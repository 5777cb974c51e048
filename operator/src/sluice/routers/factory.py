"""Choose the router a Release's trafficRouting names; an unknown kind is an error."""

from __future__ import annotations

from typing import Any

from sluice.api.release import TrafficRouting
from sluice.routers.base import RouterError, TrafficRouter, WriteCounter
from sluice.routers.flag import FlagRouter
from sluice.routers.gateway_api import GatewayAPIRouter
from sluice.routers.replica_ratio import ReplicaRatioRouter
from sluice.routers.service_selector import ServiceSelectorRouter


def router_for(routing: TrafficRouting, api_client: Any, writes: WriteCounter) -> TrafficRouter:
    """Return the router for exactly one configured kind of traffic routing."""
    configured = [
        name
        for name, value in (
            ("replicaRatio", routing.replica_ratio),
            ("service", routing.service),
            ("gatewayAPI", routing.gateway_api),
            ("flag", routing.flag),
        )
        if value is not None
    ]
    if configured == ["replicaRatio"]:
        return ReplicaRatioRouter(api_client, writes)
    if configured == ["service"]:
        return ServiceSelectorRouter(api_client, writes)
    if configured == ["gatewayAPI"]:
        return GatewayAPIRouter(api_client, writes)
    if configured == ["flag"]:
        return FlagRouter(api_client, writes)
    raise RouterError(
        "trafficRouting must set exactly one of replicaRatio, service, gatewayAPI or flag; "
        f"found {configured or 'none'}"
    )
