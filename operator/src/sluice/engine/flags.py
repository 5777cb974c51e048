"""Feature flags in the engine: pre-flight checks, the kill switch, and cleanup dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sluice.api.common import parse_duration
from sluice.api.flags import FlagCleanup, FlagKind, FlagRollback
from sluice.api.policy import RolloutPolicySpec
from sluice.api.records import RecordOutcome
from sluice.api.release import ConditionStatus, Outcome, ReleaseSpec, ReleaseStatus
from sluice.engine.analysis import Hold
from sluice.engine.conditions import ROLLED_BACK, find_condition, set_condition
from sluice.engine.draft import Draft
from sluice.engine.flag_state import FlagState, PatchFlag

FLAGS_OVERDUE = "FlagsOverdue"


@dataclass(frozen=True)
class NamedFlag:
    """A flag a Release names: in spec.flags (guarding) or in trafficRouting.flag (rolled out)."""

    feature_flag: str
    key: str
    kind: FlagKind
    field: str  # where: spec.flags[0], spec.trafficRouting.flag
    on_rollback: FlagRollback | None = None  # guarding flags only

    @property
    def label(self) -> str:
        """The flag for people: key and object."""
        return f'flag "{self.key}" of FeatureFlag "{self.feature_flag}"'


@dataclass(frozen=True)
class Cleanup:
    """When one flag of a Release is due for removal (None: never, or not at 100% yet)."""

    flag: NamedFlag
    due: datetime | None
    after: str  # the rule, for people: "336h after 100%", "never (operational)"


def named_flags(spec: ReleaseSpec) -> list[NamedFlag]:
    """Every flag the Release names, guarding flags first."""
    found = [
        NamedFlag(flag.feature_flag, flag.key, flag.kind, f"spec.flags[{i}]", flag.on_rollback)
        for i, flag in enumerate(spec.flags)
    ]
    routed = spec.traffic_routing.flag
    if routed is not None:
        found.append(
            NamedFlag(routed.feature_flag, routed.key, routed.kind, "spec.trafficRouting.flag")
        )
    return found


def observed(draft: Draft, flag: NamedFlag) -> FlagState | None:
    """The flag as read this pass, or None when it was not read."""
    for state in draft.observation.flags:
        if (state.feature_flag, state.key) == (flag.feature_flag, flag.key):
            return state
    return None


def flag_problem(flag: NamedFlag, state: FlagState | None, namespace: str) -> Hold | None:
    """What keeps a flag from being used (missing object or key, unknown variants), or None."""
    where = f"({flag.field})"
    if state is None or state.error is not None:
        error = state.error if state is not None else "not read"
        return Hold("FlagError", f"cannot read {flag.label} {where}: {error}", degraded=True)
    if not state.object_found:
        message = f'FeatureFlag "{flag.feature_flag}" not found in namespace "{namespace}" {where}'
        return Hold("FlagNotFound", message, degraded=True)
    if not state.key_found:
        message = f'FeatureFlag "{flag.feature_flag}" has no flag "{flag.key}" {where}'
        return Hold("FlagNotFound", message, degraded=True)
    wanted = flag.on_rollback.default_variant if flag.on_rollback is not None else None
    if wanted is not None and wanted not in state.variants:
        message = (
            f'{flag.label} has no variant "{wanted}" for onRollback.defaultVariant {where}; '
            f"its variants: {', '.join(state.variants) or 'none'}"
        )
        return Hold("InvalidFlag", message, degraded=True)
    return None


def routing_problem(spec: ReleaseSpec, state: FlagState | None) -> str | None:
    """A flag router whose variants are not the flag's (checked with the other flags)."""
    routed = spec.traffic_routing.flag
    if routed is None or state is None or not state.key_found:
        return None
    missing = [
        v for v in (routed.stable_variant, routed.candidate_variant) if v not in state.variants
    ]
    if not missing:
        return None
    return (
        f'flag "{routed.key}" of FeatureFlag "{routed.feature_flag}" has no variant '
        f"{', '.join(repr(v) for v in missing)} (spec.trafficRouting.flag); its variants: "
        f"{', '.join(state.variants) or 'none'}"
    )


def flag_blocker(draft: Draft) -> Hold | None:
    """The first flag the Release names that cannot be used: nothing moves until it can."""
    namespace = draft.release.metadata.namespace
    for flag in named_flags(draft.release.spec):
        state = observed(draft, flag)
        problem = flag_problem(flag, state, namespace)
        if problem is not None:
            return problem
        if flag.on_rollback is None:
            message = routing_problem(draft.release.spec, state)
            if message is not None:
                return Hold("InvalidFlag", message, degraded=True)
    return None


def _in_place(rollback: FlagRollback, state: FlagState | None) -> bool:
    """Whether the flag already is as the rollback leaves it."""
    if state is None:
        return False
    if rollback.disable:
        return state.state == "DISABLED"
    return state.default_variant == rollback.default_variant and not state.has_targeting


def _patch(flag: NamedFlag, reason: str) -> PatchFlag:
    assert flag.on_rollback is not None
    return PatchFlag(
        feature_flag=flag.feature_flag,
        key=flag.key,
        disable=bool(flag.on_rollback.disable),
        default_variant=flag.on_rollback.default_variant,
        reason=reason,
    )


def describe_switch(flag: NamedFlag) -> str:
    """What the rollback does to a flag, in words."""
    assert flag.on_rollback is not None
    if flag.on_rollback.disable:
        return f"{flag.label} switched off (state DISABLED)"
    return f'{flag.label} switched to variant "{flag.on_rollback.default_variant}" for everyone'


def switch_off_flags(draft: Draft, reason: str) -> None:
    """The first step of a rollback: every guarding flag is switched before traffic moves.

    Called before the rollback's SetWeight, so the flag patches come first in the actions.
    """
    for flag in named_flags(draft.release.spec):
        if flag.on_rollback is None:
            continue
        state = observed(draft, flag)
        if state is not None and not state.key_found:
            continue
        if _in_place(flag.on_rollback, state):
            message = f"{flag.label} was already as a rollback leaves it ({flag.kind.value} flag)"
            draft.record("FlagAlreadyOff", message, reason="FlagAlreadyOff", event=False)
            continue
        draft.actions.append(_patch(flag, reason))
        message = f"Kill switch: {describe_switch(flag)} before traffic returns to stable"
        draft.record("FlagSwitchedOff", message, reason="FlagSwitchedOff", warning=True)


def settle_flags(draft: Draft) -> None:
    """After a rollback whose flag patch failed: patch again (the failure is retried with
    backoff, like traffic), until the flags are as the rollback leaves them."""
    status = draft.status
    if status.outcome != Outcome.ROLLED_BACK or draft.observation.action_error is None:
        return
    rolled_back = find_condition(status.conditions, ROLLED_BACK)
    since = rolled_back.last_transition_time if rolled_back else None
    switched = {
        entry.message
        for entry in status.history
        if entry.type == "FlagSwitchedOff" and since is not None and entry.time >= since
    }
    for flag in named_flags(draft.release.spec):
        if flag.on_rollback is None or not any(flag.label in text for text in switched):
            continue
        state = observed(draft, flag)
        if state is not None and state.key_found and not _in_place(flag.on_rollback, state):
            draft.actions.insert(0, _patch(flag, "RolledBack"))


def _reached_full(status: ReleaseStatus) -> datetime | None:
    """When the newest successful rollout reached 100% (its record's end), or None."""
    for record in reversed(status.rollout_records):
        if record.outcome == RecordOutcome.SUCCEEDED and record.ended_at is not None:
            return record.ended_at
    return None


def cleanup_dates(
    spec: ReleaseSpec, status: ReleaseStatus | None, cleanup: FlagCleanup
) -> list[Cleanup]:
    """Each flag's cleanup date: release and experiment flags a policy duration after the
    rollout reached 100%; operational and permission flags never."""
    full = _reached_full(status) if status is not None else None
    dates = []
    for flag in named_flags(spec):
        if flag.kind == FlagKind.RELEASE:
            limit = cleanup.release
        elif flag.kind == FlagKind.EXPERIMENT:
            limit = cleanup.experiment
        else:
            dates.append(Cleanup(flag, None, f"never ({flag.kind.value} flag)"))
            continue
        due = full + timedelta(seconds=parse_duration(limit)) if full is not None else None
        dates.append(Cleanup(flag, due, f"{limit} after 100%"))
    return dates


def overdue_flags(draft: Draft, policy: RolloutPolicySpec | None) -> list[Cleanup]:
    """Flags past their cleanup date that still exist."""
    cleanup = policy.flag_cleanup if policy is not None else FlagCleanup()
    overdue = []
    for item in cleanup_dates(draft.release.spec, draft.status, cleanup):
        state = observed(draft, item.flag)
        if item.due is None or draft.now < item.due:
            continue
        if state is not None and state.error is None and not state.key_found:
            continue  # removed: cleaned up
        overdue.append(item)
    return overdue


def flag_hygiene(draft: Draft, policy: RolloutPolicySpec | None) -> None:
    """Condition FlagsOverdue, with a Warning Event and a history entry per flag that newly
    passed its cleanup date; the condition goes False once every such flag is removed."""
    if not named_flags(draft.release.spec):
        return
    overdue = overdue_flags(draft, policy)
    before = find_condition(draft.status.conditions, FLAGS_OVERDUE)
    if not overdue:
        if before is not None and before.status == ConditionStatus.TRUE:
            conditions = set_condition(
                draft.status.conditions,
                FLAGS_OVERDUE,
                ConditionStatus.FALSE,
                "CleanedUp",
                "no flag of this Release is past its cleanup date",
                draft.generation,
                draft.now,
            )
            draft.update(conditions=conditions)
        return
    known = before.message if before is not None and before.status == ConditionStatus.TRUE else ""
    parts = []
    for item in overdue:
        assert item.due is not None
        text = (
            f"{item.flag.label} ({item.flag.kind.value} flag) was due for removal on "
            f"{item.due.isoformat()} ({item.after})"
        )
        parts.append(text)
        if item.flag.label not in known:
            message = f"Overdue: {text}: remove it from the code and the FeatureFlag"
            draft.record("FlagOverdue", message, reason="FlagOverdue", warning=True)
    conditions = set_condition(
        draft.status.conditions,
        FLAGS_OVERDUE,
        ConditionStatus.TRUE,
        "CleanupOverdue",
        "; ".join(parts),
        draft.generation,
        draft.now,
    )
    draft.update(conditions=conditions)


FLAG_RECHECK_SECONDS = 5.0  # FeatureFlags are not watched: a blocked Release reads them again


def flag_requeue(draft: Draft, policy: RolloutPolicySpec | None, blocker: Hold | None) -> float:
    """Seconds until the next cleanup date still ahead (infinity: none); a Release blocked by a
    flag looks again after FLAG_RECHECK_SECONDS."""
    if blocker is not None and blocker.reason in ("FlagNotFound", "FlagError", "InvalidFlag"):
        return FLAG_RECHECK_SECONDS
    cleanup = policy.flag_cleanup if policy is not None else FlagCleanup()
    ahead = [
        (item.due - draft.now).total_seconds()
        for item in cleanup_dates(draft.release.spec, draft.status, cleanup)
        if item.due is not None and item.due > draft.now
    ]
    return min(ahead) + 0.5 if ahead else float("inf")
