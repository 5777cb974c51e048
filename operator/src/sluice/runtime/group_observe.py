"""What a ReleaseGroup's reconcile, and each member's, read from watched state."""

from __future__ import annotations

from typing import Any

import structlog
from pydantic import ValidationError

from sluice.api.group import ReleaseGroup, ReleaseGroupStatus
from sluice.api.release import Release, ReleaseStatus
from sluice.engine.group import GroupObservation
from sluice.engine.group_view import GroupView
from sluice.runtime.cache import ClusterCache, plain_body
from sluice.runtime.group_cache import GroupIndex, governing_group, is_active, precedence

log = structlog.get_logger("sluice.groups")


def parse_group(body: dict[str, Any]) -> ReleaseGroup | None:
    """The group as a model; None (logged) when the stored object does not fit the schema."""
    try:
        return ReleaseGroup.model_validate(plain_body(body))
    except ValidationError as exc:
        name = body.get("metadata", {}).get("name")
        log.warning("unreadable ReleaseGroup", group=name, error=str(exc))
        return None


def member_statuses(cache: ClusterCache, group: ReleaseGroup) -> dict[str, ReleaseStatus | None]:
    """Each member's status by name: None for a member Release that does not exist."""
    found: dict[str, ReleaseStatus | None] = {}
    namespace = group.metadata.namespace
    for member in group.spec.members:
        body = cache.release((namespace, member.release))
        if body is None:
            found[member.release] = None
            continue
        try:
            found[member.release] = ReleaseStatus.model_validate(body.get("status") or {})
        except ValidationError as exc:
            log.warning("unreadable member status", release=member.release, error=str(exc))
            found[member.release] = ReleaseStatus()
    return found


def group_view(cache: ClusterCache, groups: GroupIndex, release: Release) -> GroupView | None:
    """The group that governs this Release, with its members' statuses; None outside groups."""
    body = governing_group(groups, release.metadata.namespace, release.metadata.name)
    if body is None:
        return None
    group = parse_group(body)
    if group is None:
        return None
    status = group.status or ReleaseGroupStatus()
    meta = body.get("metadata", {})
    return GroupView(
        name=group.metadata.name,
        spec=group.spec,
        status=status,
        deleting=bool(meta.get("deletionTimestamp")),
        pending_run=is_active(body) and status.run_generation != group.metadata.generation,
        members=member_statuses(cache, group),
    )


def claimed_elsewhere(groups: GroupIndex, body: dict[str, Any]) -> dict[str, str]:
    """Members that another active group, going first, already governs: member -> group."""
    namespace = str(body.get("metadata", {}).get("namespace", ""))
    name = str(body.get("metadata", {}).get("name", ""))
    mine = precedence(body)
    found: dict[str, str] = {}
    for member in sorted(
        {str(m.get("release")) for m in (body.get("spec") or {}).get("members") or []}
    ):
        for other in groups.naming(namespace, member):
            other_name = str(other.get("metadata", {}).get("name"))
            if other_name != name and is_active(other) and precedence(other) < mine:
                found[member] = other_name
                break
    return found


def observe_group(
    cache: ClusterCache,
    groups: GroupIndex,
    body: dict[str, Any],
    group: ReleaseGroup,
    **fields: Any,
) -> GroupObservation:
    """The observation decide_group takes."""
    return GroupObservation(
        members=member_statuses(cache, group),
        claimed_by=claimed_elsewhere(groups, body),
        deleting=bool(body.get("metadata", {}).get("deletionTimestamp")),
        **fields,
    )
