"""The runtime's side of feature flags: read them for the engine, switch them, count it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from kubernetes.client.rest import ApiException

from sluice.api.flags import FlagCleanup
from sluice.api.policy import RolloutPolicySpec
from sluice.api.release import Release, ReleaseStatus
from sluice.engine.flag_state import FlagState, PatchFlag
from sluice.engine.flags import cleanup_dates, named_flags
from sluice.flags.objects import flag_state, patch_flag, read_feature_flag, switch_operations
from sluice.observability import FLAG_CHANGES, FLAGS_OVERDUE
from sluice.routers.base import WriteCounter
from sluice.runtime.errors import describe

log = structlog.get_logger("sluice.flags")


def observe_flags(api_client: Any, release: Release) -> tuple[FlagState, ...]:
    """Read every flag the Release names (one read per FeatureFlag object)."""
    namespace = release.metadata.namespace
    bodies: dict[str, dict[str, Any] | None] = {}
    errors: dict[str, str] = {}
    states = []
    for flag in named_flags(release.spec):
        name = flag.feature_flag
        if name not in bodies and name not in errors:
            try:
                bodies[name] = read_feature_flag(api_client, namespace, name)
            except ApiException as exc:
                errors[name] = describe(exc)
        if name in errors:
            states.append(FlagState(name, flag.key, error=errors[name]))
        else:
            states.append(flag_state(name, flag.key, bodies[name]))
    return tuple(states)


def describe_patch(action: PatchFlag) -> str:
    """A flag change in a few words, for errors."""
    what = "disabling" if action.disable else f'switching to variant "{action.default_variant}"'
    return f'{what} flag "{action.key}" of FeatureFlag "{action.feature_flag}"'


def switch_flag(
    api_client: Any, release: Release, action: PatchFlag, writes: WriteCounter
) -> str | None:
    """Perform one kill switch; None when done, else what failed (traffic goes on anyway)."""
    meta = release.metadata
    change = "disable" if action.disable else "variant"
    try:
        patch_flag(
            api_client,
            meta.namespace,
            action.feature_flag,
            action.key,
            switch_operations(action.disable, action.default_variant),
        )
    except (ApiException, LookupError) as exc:
        FLAG_CHANGES.labels(meta.namespace, action.feature_flag, action.key, change, "failed").inc()
        error = f"{describe_patch(action)}: {describe(exc)}"
        log.warning("flag change failed", error=error)
        return error
    writes.count("featureflags")
    FLAG_CHANGES.labels(meta.namespace, action.feature_flag, action.key, change, "ok").inc()
    log.info("flag switched", flag=action.key, feature_flag=action.feature_flag, change=change)
    return None


def record_overdue(
    release: Release,
    status: ReleaseStatus,
    policy: RolloutPolicySpec | None,
    states: tuple[FlagState, ...],
    now: datetime,
) -> None:
    """The overdue gauge of each flag of the Release (1 past its cleanup date, else 0)."""
    cleanup = policy.flag_cleanup if policy is not None else FlagCleanup()
    present = {(s.feature_flag, s.key) for s in states if s.key_found or s.error is not None}
    meta = release.metadata
    for item in cleanup_dates(release.spec, status, cleanup):
        flag = item.flag
        overdue = (
            item.due is not None and now >= item.due and (flag.feature_flag, flag.key) in present
        )
        FLAGS_OVERDUE.labels(
            meta.namespace, meta.name, flag.feature_flag, flag.key, flag.kind.value
        ).set(1 if overdue else 0)
