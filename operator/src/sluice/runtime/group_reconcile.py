"""One reconcile of one ReleaseGroup: observe the members, decide the run, write the status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from kubernetes.client.rest import ApiException

from sluice.api.group import ReleaseGroupStatus
from sluice.engine.group_decide import decide_group
from sluice.runtime.calendars import calendars_for
from sluice.runtime.errors import StaleRelease
from sluice.runtime.execute import post_event
from sluice.runtime.group_cache import GroupIndex
from sluice.runtime.group_observe import observe_group, parse_group
from sluice.runtime.kube import GROUPS, patch_release_status, set_finalizers
from sluice.runtime.observe import parse_command
from sluice.runtime.reconcile import Reconciler

log = structlog.get_logger("sluice.groups")

GROUP_FINALIZER = "sluice.dev/group-finalizer"


@dataclass(frozen=True)
class GroupOutcome:
    """What one group reconcile did: when to look again, and whether members must look."""

    requeue_after: float | None
    wake_members: bool


def _document(status: ReleaseGroupStatus | None) -> dict[str, Any]:
    if status is None:
        return {}
    document: dict[str, Any] = status.model_dump(mode="json", by_alias=True)
    return document


@dataclass
class GroupReconciler:
    """Reconciles ReleaseGroups with the Releases' reconciler's client, cache and clock."""

    releases: Reconciler
    groups: GroupIndex

    def reconcile(self, key: tuple[str, str]) -> GroupOutcome:
        """Bring one group one step closer to the end of its run."""
        body = self.groups.get(key)
        if body is None:
            return GroupOutcome(None, False)
        meta = body.get("metadata", {})
        finalizers = list(meta.get("finalizers") or [])
        deleting = bool(meta.get("deletionTimestamp"))
        if deleting and GROUP_FINALIZER not in finalizers:
            return GroupOutcome(None, True)
        if not deleting and GROUP_FINALIZER not in finalizers:
            body = self._finalizers(body, [*finalizers, GROUP_FINALIZER])
        group = parse_group(body)
        if group is None:
            return GroupOutcome(None, False)
        structlog.contextvars.bind_contextvars(group=group.metadata.name)
        cache, ics = self.releases.cache, self.releases.ics
        calendars, calendar_error = calendars_for(cache, ics, group, group.spec)
        command, command_error = parse_command(group)
        observation = observe_group(
            cache,
            self.groups,
            body,
            group,
            calendars=calendars,
            calendar_error=calendar_error,
            command=command,
            command_error=command_error,
        )
        decision = decide_group(group, observation, self.releases.clock())
        changed = _document(group.status) != _document(decision.status)
        if changed:
            body = self._write_status(body, decision.status)
        for event in decision.events:
            try:
                post_event(self.releases.api_client, group, event, self.releases.writes)
            except ApiException as exc:
                log.warning("event not posted", reason=event.reason, status=exc.status)
        if decision.may_delete:
            kept = [f for f in body["metadata"].get("finalizers") or [] if f != GROUP_FINALIZER]
            self._finalizers(body, kept)
        return GroupOutcome(decision.requeue_after, changed or decision.may_delete)

    def _write_status(self, body: dict[str, Any], status: ReleaseGroupStatus) -> dict[str, Any]:
        meta = body["metadata"]
        try:
            written = patch_release_status(
                self.releases.api_client,
                meta["namespace"],
                meta["name"],
                _document(status),
                str(meta.get("resourceVersion", "")),
                plural=GROUPS,
            )
        except ApiException as exc:
            if exc.status == 409:
                raise StaleRelease(meta["name"]) from exc
            raise
        self.releases.writes.count("releasegroups/status")
        self.groups.put(written)
        return written

    def _finalizers(self, body: dict[str, Any], finalizers: list[str]) -> dict[str, Any]:
        meta = body["metadata"]
        try:
            written = set_finalizers(
                self.releases.api_client,
                meta["namespace"],
                meta["name"],
                finalizers,
                str(meta.get("resourceVersion", "")),
                plural=GROUPS,
            )
        except ApiException as exc:
            if exc.status == 409:
                raise StaleRelease(meta["name"]) from exc
            if exc.status == 404:
                return body
            raise
        self.releases.writes.count("releasegroups")
        self.groups.put(written)
        return written
