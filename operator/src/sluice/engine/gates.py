"""Go/no-go gates: judging each criterion from what the runtime read, and the decision.

A stage's gates are evaluated where the rollout would move traffic: beforeStart while the
candidate has 0% (before the first traffic move), beforeFull at the step that sends 100%
(the blue/green switch). The report is written in `status.gates`; a criterion once met or not
met keeps its verdict. All met: GO, the rollout goes on at once. One not met (or still pending
at the gates' timeout): NO_GO, the rollout ends as a rollback with reason GateNoGo naming the
failed criteria, and all traffic stays on (or returns to) the stable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sluice.api.common import parse_duration
from sluice.api.gates import (
    CriterionReport,
    GateCriterion,
    GateDecision,
    GateKind,
    GateReport,
    GateStage,
    GoNoGoGates,
    NoDataVerdict,
)
from sluice.api.policy import RolloutPolicySpec
from sluice.api.release import Release, ReleaseStatus, Verdict
from sluice.engine.analysis import Hold, RollbackCause, judge, number, threshold_text
from sluice.engine.draft import Draft, candidate_weight
from sluice.engine.policy import EffectivePolicy
from sluice.engine.steps import target_weight
from sluice.engine.types import CreateJob, GateObservation

POLL_SECONDS = 2.0  # while a criterion is pending (a Job running), look again this often
FIRST_LOOK_SECONDS = 0.05  # a new evaluation: read its criteria at once
INVALID = "invalid"
STAGE_TEXT = {GateStage.BEFORE_START: "before start", GateStage.BEFORE_FULL: "before 100%"}
MAX_JOB_NAME = 63


def job_name(release: str, rollout: int, stage: str, criterion: str) -> str:
    """The gate Job's name: one per Release, rollout, stage and criterion (63 characters at
    most, as the job-name label on its pods must be)."""
    suffix = f"{criterion}-{rollout}{'s' if stage == GateStage.BEFORE_START else 'f'}"
    name = f"{release}-{suffix}"
    if len(name) <= MAX_JOB_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    keep = MAX_JOB_NAME - len(suffix) - len(digest) - 2
    return f"{release[:keep].rstrip('-')}-{digest}-{suffix}"


def current_report(status: ReleaseStatus, stage: GateStage) -> GateReport | None:
    """This rollout's report of a stage, or None."""
    return next(
        (r for r in status.gates if r.stage == stage and r.rollout == status.rollouts), None
    )


def pending_report(status: ReleaseStatus) -> GateReport | None:
    """The evaluation in progress in a running rollout, or None."""
    if status.outcome is not None:
        return None
    return next(
        (
            r
            for r in status.gates
            if r.rollout == status.rollouts and r.decision == GateDecision.PENDING
        ),
        None,
    )


def gates_due(
    release: Release, policy: RolloutPolicySpec | None
) -> tuple[GateStage, list[GateCriterion]] | None:
    """The criteria the runtime should read now: the pending ones of the evaluation in
    progress (None when nothing is pending: a finished Release reads nothing)."""
    status = release.status
    report = pending_report(status) if status is not None else None
    if report is None or policy is None or policy.gates is None:
        return None
    open_names = {c.name for c in report.criteria if c.met is None}
    due = [c for c in policy.gates.criteria if c.name in open_names]
    return report.stage, due


def _stage_due(draft: Draft, policy: EffectivePolicy, index: int) -> GateStage | None:
    """The first configured stage that applies here and has no GO in this rollout."""
    gates = policy.gates
    if gates is None:
        return None
    weight = candidate_weight(draft.status)
    applies = {
        GateStage.BEFORE_START: weight == 0,
        GateStage.BEFORE_FULL: target_weight(policy, index) == 100 and weight < 100,
    }
    for stage in (GateStage.BEFORE_START, GateStage.BEFORE_FULL):
        report = current_report(draft.status, stage)
        done = report is not None and report.decision == GateDecision.GO
        if stage in gates.when and applies[stage] and not done:
            return stage
    return None


def required_text(draft: Draft, stage: GateStage, criterion: GateCriterion) -> str:
    """What a criterion requires, in a few words."""
    if criterion.prometheus is not None:
        return f"{criterion.prometheus.query} {threshold_text(criterion.prometheus.thresholds)}"
    if criterion.job is not None:
        name = job_name(draft.name, draft.status.rollouts, stage, criterion.name)
        return f"Job {name} Complete"
    assert criterion.condition is not None
    c = criterion.condition
    return f"{c.kind} {c.name}: {c.condition_type}={c.status}"


def _result(
    previous: CriterionReport, actual: str, met: bool | None, message: str = ""
) -> CriterionReport:
    return previous.model_copy(update={"actual": actual, "met": met, "message": message})


def _judge_prometheus(
    criterion: GateCriterion, seen: GateObservation, previous: CriterionReport
) -> CriterionReport:
    assert criterion.prometheus is not None
    result = seen.result
    if result is None:
        return _result(previous, "", None, "waiting for the query")
    judgement = judge(result, criterion.prometheus.thresholds)
    actual = number(result.value) if result.value is not None else "no data"
    if judgement.verdict == Verdict.SUCCESSFUL:
        return _result(previous, actual, True)
    if judgement.verdict == Verdict.FAILED:
        return _result(previous, actual, False, judgement.message)
    if judgement.verdict == Verdict.INCONCLUSIVE:
        met = criterion.prometheus.on_no_data == NoDataVerdict.MET
        return _result(previous, actual, met, f"{judgement.message} (onNoData)")
    if result.permanent:
        return _result(previous, INVALID, None, f"the query is invalid: {result.error}")
    return _result(previous, "error", None, f"{result.error}; retrying")


def _condition(seen: GateObservation, kind: str) -> tuple[str, str, str, str] | None:
    return next((c for c in seen.conditions if c[0] == kind and c[1] == "True"), None)


def _judge_job(
    draft: Draft, stage: GateStage, criterion: GateCriterion, seen: GateObservation
) -> CriterionReport | None:
    """A Job's verdict; None when it does not exist yet (a CreateJob is decided)."""
    assert criterion.job is not None
    name = job_name(draft.name, draft.status.rollouts, stage, criterion.name)
    previous = CriterionReport(name=criterion.name, kind=GateKind.JOB)
    if not seen.found:
        draft.actions.append(
            CreateJob(
                name=name,
                criterion=criterion.name,
                stage=stage.value,
                rollout=draft.status.rollouts,
                job=criterion.job,
            )
        )
        return None
    if _condition(seen, "Complete") is not None:
        return _result(previous, "Complete", True)
    failed = _condition(seen, "Failed") or _condition(seen, "FailureTarget")
    if failed is not None:
        logs = f"logs: kubectl logs -n {draft.release.metadata.namespace} job/{name}"
        why = ": ".join(part for part in (failed[2], failed[3]) if part)
        return _result(previous, "Failed", False, f"{why or 'the Job failed'}; {logs}")
    return _result(previous, seen.detail or "running", None, f"Job {name} is running")


def _judge_condition(criterion: GateCriterion, seen: GateObservation) -> CriterionReport:
    assert criterion.condition is not None
    wanted = criterion.condition
    previous = CriterionReport(name=criterion.name, kind=GateKind.CONDITION)
    if not seen.found:
        return _result(previous, "not found", None, f"waiting for {wanted.kind} {wanted.name}")
    found = next((c for c in seen.conditions if c[0] == wanted.condition_type), None)
    actual = f"{wanted.condition_type}={found[1] if found else 'absent'}"
    if found is not None and found[1] == wanted.status:
        return _result(previous, actual, True)
    return _result(previous, actual, None, f"waiting for {wanted.condition_type}={wanted.status}")


def _judge(
    draft: Draft,
    stage: GateStage,
    criterion: GateCriterion,
    previous: CriterionReport,
    seen: GateObservation | None,
) -> CriterionReport:
    """One criterion's state now: a verdict once reached is kept."""
    if previous.met is not None:
        return previous
    if seen is None:
        return previous
    if seen.invalid is not None:
        return _result(previous, INVALID, None, seen.invalid)
    if seen.error is not None:
        return _result(previous, previous.actual, None, f"{seen.error}; retrying")
    if criterion.kind == GateKind.PROMETHEUS:
        judged = _judge_prometheus(criterion, seen, previous)
    elif criterion.kind == GateKind.JOB:
        job = _judge_job(draft, stage, criterion, seen)
        judged = job or _result(previous, "creating", None, "creating the Job")
    else:
        judged = _judge_condition(criterion, seen)
    return judged.model_copy(update={"required": previous.required})


def _describe(report: CriterionReport) -> str:
    detail = report.actual or "not read yet"
    if report.met is False and report.message:
        detail = f"{detail}: {report.message}"
    return f"{report.name} ({detail})"


def _decide(report: GateReport, timeout: float, now: datetime) -> GateReport:
    """The decision and its rationale from the criteria (pending past the timeout: not met)."""
    criteria = list(report.criteria)
    if now >= report.started_at + timedelta(seconds=timeout):
        criteria = [
            c
            if c.met is not None
            else c.model_copy(
                update={"met": False, "message": "still pending after the gates' timeout"}
            )
            for c in criteria
        ]
    failed = [c for c in criteria if c.met is False]
    waiting = [c for c in criteria if c.met is None]
    if failed:
        decision = GateDecision.NO_GO
        rationale = "not met: " + "; ".join(_describe(c) for c in failed)
    elif waiting:
        decision = GateDecision.PENDING
        met = len(criteria) - len(waiting)
        rationale = f"{met} of {len(criteria)} met; waiting for " + ", ".join(
            _describe(c) for c in waiting
        )
    else:
        decision = GateDecision.GO
        rationale = f"all {len(criteria)} criteria met: " + ", ".join(
            _describe(c) for c in criteria
        )
    decided = now if decision != GateDecision.PENDING else None
    return report.model_copy(
        update={
            "criteria": criteria,
            "decision": decision,
            "rationale": rationale,
            "decided_at": decided,
        }
    )


def _evaluate(draft: Draft, gates: GoNoGoGates, stage: GateStage) -> GateReport:
    """Judge a stage's criteria with this pass's observations; store the report."""
    status = draft.status
    report = current_report(status, stage) or GateReport(
        stage=stage, rollout=status.rollouts, decision=GateDecision.PENDING, started_at=draft.now
    )
    seen = {
        o.criterion: o
        for o in draft.observation.gates
        if o.rollout == status.rollouts and o.stage == stage.value
    }
    criteria = []
    for criterion in gates.criteria:
        previous = next((c for c in report.criteria if c.name == criterion.name), None)
        previous = previous or CriterionReport(
            name=criterion.name,
            kind=criterion.kind,
            required=required_text(draft, stage, criterion),
        )
        criteria.append(_judge(draft, stage, criterion, previous, seen.get(criterion.name)))
    report = report.model_copy(update={"criteria": criteria})
    report = _decide(report, parse_duration(gates.timeout), draft.now)
    kept = [r for r in status.gates if r.rollout == status.rollouts and r.stage != stage]
    draft.update(gates=sorted([*kept, report], key=lambda r: r.started_at))
    return report


@dataclass(frozen=True)
class Gating:
    """What the gates say about moving on: hold (pending), roll back (NO_GO), or go on."""

    hold: bool = False
    cause: RollbackCause | None = None


def check_gates(draft: Draft, policy: EffectivePolicy, index: int) -> Gating:
    """Evaluate the gates due before this step's traffic; GO lets the step start now."""
    while (stage := _stage_due(draft, policy, index)) is not None:
        assert policy.gates is not None
        report = _evaluate(draft, policy.gates, stage)
        where = STAGE_TEXT[stage]
        if report.decision == GateDecision.PENDING:
            return Gating(hold=True)
        if report.decision == GateDecision.NO_GO:
            message = f"go/no-go gates {where}: NO_GO, {report.rationale}"
            draft.record("GateNoGo", message, reason="GateNoGo", event=False)
            return Gating(cause=RollbackCause(reason="GateNoGo", message=message))
        draft.record("GateGo", f"go/no-go gates {where}: GO, {report.rationale}", reason="GateGo")
        draft.update(step_started_at=draft.now)
    return Gating()


def gate_hold(status: ReleaseStatus) -> Hold | None:
    """Why a running rollout waits on its gates (Degraded for a criterion that cannot be
    evaluated as written), or None."""
    report = pending_report(status)
    if report is None:
        return None
    where = STAGE_TEXT[report.stage]
    invalid = next((c for c in report.criteria if c.actual == INVALID), None)
    if invalid is not None:
        message = (
            f'go/no-go gate "{invalid.name}" ({where}) cannot be evaluated: {invalid.message}; '
            "no traffic moves until the RolloutPolicy is fixed"
        )
        return Hold("InvalidGate", message, degraded=True)
    return Hold("EvaluatingGates", f"go/no-go gates {where}: {report.rationale}")


def gate_requeue(status: ReleaseStatus, policy: EffectivePolicy | None, now: datetime) -> float:
    """Seconds until the pending evaluation should be read again (inf: none pending)."""
    report = pending_report(status)
    if report is None or policy is None or policy.gates is None:
        return float("inf")
    if any(c.met is None and not c.actual for c in report.criteria):
        return FIRST_LOOK_SECONDS
    deadline = report.started_at + timedelta(seconds=parse_duration(policy.gates.timeout))
    return max(FIRST_LOOK_SECONDS, min(POLL_SECONDS, (deadline - now).total_seconds()))


def sooner(delay: float | None, other: float) -> float | None:
    """The earlier of two requeue delays (None: never)."""
    if other == float("inf"):
        return delay
    return other if delay is None else min(delay, other)
