"""Traffic routers: one module per way of moving traffic, behind the TrafficRouter protocol."""

from sluice.routers.base import RouterError, RouteTarget, TrafficRouter, WriteCounter
from sluice.routers.factory import router_for

__all__ = [
    "AppliedWeight",
    "RouteTarget",
    "RouterError",
    "TrafficRouter",
    "WriteCounter",
    "router_for",
]
