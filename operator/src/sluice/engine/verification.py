"""Post-release verification: after the last step the candidate holds 100% while its metrics are
still analysed; the old stable keeps its replicas, so a failure switches back in one write.

Stored as `status.verification` (started, endsAt, the metrics, the result) while `currentStep`
is the final index and `outcome` is unset: the rollout has not ended, so it keeps its claim on
the Deployments and its rollback is an ordinary rollback, recorded as one after promotion.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sluice.api.common import parse_duration
from sluice.api.policy import Metric
from sluice.api.release import ConditionStatus, ReleaseStatus
from sluice.api.verification import VerificationResult, VerificationStatus
from sluice.engine.analysis import Hold, RollbackCause
from sluice.engine.conditions import VERIFYING, remove_condition, set_condition
from sluice.engine.draft import Draft
from sluice.engine.policy import EffectivePolicy

ENTRIES = {
    VerificationResult.PASSED: "VerificationPassed",
    VerificationResult.SKIPPED: "VerificationSkipped",
}


def is_verifying(status: ReleaseStatus) -> bool:
    """Whether the rollout is in its verification now (at 100%, not ended)."""
    state = status.verification
    return (
        status.outcome is None
        and state is not None
        and state.result == VerificationResult.VERIFYING
    )


def verification_metrics(policy: EffectivePolicy, status: ReleaseStatus) -> list[Metric]:
    """The metrics the verification in progress measures (recorded when it began)."""
    names = status.verification.metrics if status.verification else []
    return [metric for metric in policy.metrics if metric.name in names]


def missing_metric_holds(policy: EffectivePolicy, status: ReleaseStatus) -> list[Hold]:
    """A verification in progress that names a metric the policy does not define holds."""
    if not is_verifying(status):
        return []
    names = status.verification.metrics if status.verification else []
    return [
        Hold(
            "MetricNotFound",
            f'the verification names metric "{name}", which the policy does not define',
            degraded=True,
        )
        for name in names
        if policy.metric(name) is None
    ]


def verification_ends_at(status: ReleaseStatus) -> datetime | None:
    """When the verification in progress passes (a wake-up), or None."""
    if not is_verifying(status) or status.verification is None:
        return None
    return status.verification.ends_at


def _start(draft: Draft, policy: EffectivePolicy) -> None:
    """The candidate serves 100% and is Ready: verification begins (the stable keeps its pods).

    A promote given before (or promoteFull) passed the steps, not the verification: it is
    cleared, so that a promote during verification is what skips it.
    """
    config = policy.verification
    assert config is not None
    names = list(config.metrics) if config.metrics is not None else [m.name for m in policy.metrics]
    ends = draft.now + timedelta(seconds=parse_duration(config.duration))
    state = VerificationStatus(started_at=draft.now, ends_at=ends, metrics=names)
    draft.update(verification=state, approved_step=None, step_started_at=draft.now)
    measured = f"measuring {', '.join(names)}" if names else "no metrics to measure"
    message = (
        f"{draft.release.spec.version} serves 100% of traffic; verifying for {config.duration} "
        f'until {ends.isoformat()} ({measured}); "{draft.release.spec.stable}" keeps its '
        "replicas until it passes"
    )
    draft.record("VerificationStarted", message, reason="VerificationStarted")


def _end(draft: Draft, result: VerificationResult, message: str, by: str | None = None) -> None:
    """Record how the verification ended, in the status and (passed, skipped) the history."""
    state = draft.status.verification
    assert state is not None
    ended = state.model_copy(
        update={"result": result, "ended_at": draft.now, "by": by, "message": message}
    )
    draft.update(verification=ended)
    if result in ENTRIES:
        # Passed: history only (the Succeeded entry right after posts the Event).
        draft.record(
            ENTRIES[result],
            message,
            reason=ENTRIES[result],
            event=result == VerificationResult.SKIPPED,
            by=by,
        )


def _promoted_by(draft: Draft) -> str | None:
    """Who gave the promote that passed the verification (the latest one in the history)."""
    for entry in reversed(draft.status.history):
        if entry.type in ("Promoted", "PromotedFull"):
            return entry.by
    return None


def verification_done(draft: Draft, policy: EffectivePolicy) -> bool:
    """At 100% with the last step passed: whether the rollout may succeed now.

    Begins the verification the first time (False); then True once its time is up with no
    metric holding (passed), or when a promote command skipped the rest of it.
    """
    state = draft.status.verification
    if state is None:
        if policy.verification is None:
            return True
        _start(draft, policy)
        return False
    if state.result != VerificationResult.VERIFYING:
        return True
    if draft.status.approved_step == draft.status.current_step:
        by = _promoted_by(draft)
        message = f"Verification skipped by {by} before {state.ends_at.isoformat()}"
        _end(draft, VerificationResult.SKIPPED, message, by=by)
        return True
    if draft.now < state.ends_at:
        return False
    metrics = ", ".join(state.metrics) or "no metrics"
    message = f"Verification passed: {metrics} healthy from {state.started_at.isoformat()} to "
    _end(draft, VerificationResult.PASSED, message + draft.now.isoformat())
    return True


def during_verification(draft: Draft, cause: RollbackCause, by: str | None) -> RollbackCause:
    """A rollback during verification: the verification ends (Failed, or Aborted by a
    person) and the cause says that it happened after promotion to 100%."""
    state = draft.status.verification
    if not is_verifying(draft.status) or state is None:
        return cause
    elapsed = int((draft.now - state.started_at).total_seconds())
    if by is not None:
        result, reason = VerificationResult.ABORTED, cause.reason
        message = f"{cause.message} during verification, after promotion to 100% ({elapsed}s in)"
    else:
        result, reason = VerificationResult.FAILED, "VerificationFailed"
        message = f"verification failed after promotion to 100% ({elapsed}s in): {cause.message}"
    _end(draft, result, message, by=by)
    return RollbackCause(
        reason=reason,
        message=message,
        metric=cause.metric,
        value=cause.value,
        threshold=cause.threshold,
    )


def verifying_message(draft: Draft) -> str:
    """What a rollout in verification does, and what to type."""
    state = draft.status.verification
    assert state is not None
    measured = f"measuring {', '.join(state.metrics)}" if state.metrics else "no metrics"
    return (
        f"Verifying {draft.release.spec.version} at 100% until {state.ends_at.isoformat()} "
        f'({measured}); "{draft.release.spec.stable}" keeps its replicas until then; to end '
        f"it now: kubectl sluice promote {draft.name}; to switch back: kubectl sluice abort "
        f"{draft.name}"
    )


def verification_condition(draft: Draft) -> None:
    """Verifying: True while it runs, False with how it ended; absent without verification."""
    state = draft.status.verification
    conditions = draft.status.conditions
    if state is None:
        draft.update(conditions=remove_condition(conditions, VERIFYING))
        return
    if is_verifying(draft.status):
        status, reason, message = ConditionStatus.TRUE, "Verifying", verifying_message(draft)
    else:
        status, reason, message = ConditionStatus.FALSE, state.result.value, state.message
    conditions = set_condition(
        conditions, VERIFYING, status, reason, message, draft.generation, draft.now
    )
    draft.update(conditions=conditions)
