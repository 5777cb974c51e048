"""Go/no-go gates in the engine: reports, GO, NO_GO, pending, invalid criteria, Jobs as actions."""

from __future__ import annotations

from typing import Any

import pytest
from engine_builders import (
    NOW,
    Driver,
    condition,
    event_reasons,
    history_types,
    later,
    observe,
    pause,
    policy,
    release,
    value,
    weight,
    weights_set,
)

from sluice.api.gates import GateDecision, GateStage
from sluice.api.policy import RolloutPolicySpec
from sluice.engine.gates import gates_due, job_name
from sluice.engine.types import CreateJob, Decision, GateObservation, MetricResult, ResultKind

JOB = {"template": {"spec": {"containers": [{"name": "smoke", "image": "smoke:1"}]}}}
ALERTS = {"query": "count(ALERTS)", "thresholds": {"max": 0}}
MIGRATE = {"apiVersion": "batch/v1", "kind": "Job", "name": "migrate", "conditionType": "Complete"}


def gated(
    *criteria: dict[str, Any], when: list[str] | None = None, **gates: Any
) -> RolloutPolicySpec:
    """A canary policy (25%, a 10s pause, 100%) with these gate criteria."""
    spec: dict[str, Any] = {"criteria": list(criteria), **gates}
    if when is not None:
        spec["when"] = when
    return policy([weight(25), pause("10s"), weight(100)], gates=spec)


def job_seen(
    criterion: str = "smoke",
    conditions: tuple[tuple[str, str, str, str], ...] = (),
    stage: str = "beforeStart",
    found: bool = True,
    **fields: Any,
) -> GateObservation:
    """What the runtime read of a gate Job of rollout 1."""
    return GateObservation(
        rollout=1, stage=stage, criterion=criterion, found=found, conditions=conditions, **fields
    )


COMPLETE = (("Complete", "True", "", ""),)
FAILED = (("Failed", "True", "BackoffLimitExceeded", "Job has reached the backoff limit"),)


def jobs_created(decision: Decision) -> list[str]:
    """The names of the Jobs a decision creates."""
    return [a.name for a in decision.actions if isinstance(a, CreateJob)]


def test_a_job_gate_is_created_as_an_action_and_no_traffic_moves_while_it_runs() -> None:
    """Start: a Pending report and no weight; then CreateJob; a running Job keeps waiting."""
    driver = Driver(gated({"name": "smoke", "job": JOB}))
    first = driver.step(observe())
    assert weights_set(first) == []
    report = driver.status.gates[0]
    assert (report.stage, report.decision) == (GateStage.BEFORE_START, GateDecision.PENDING)
    assert first.requeue_after == pytest.approx(0.05)
    second = driver.step(observe(gates=(job_seen(found=False),)), later(1))
    assert jobs_created(second) == ["web-smoke-1s"]
    assert weights_set(second) == []
    running = driver.step(observe(gates=(job_seen(detail="active 1"),)), later(3))
    assert jobs_created(running) == [] and weights_set(running) == []
    assert condition(driver.status, "Progressing").reason == "EvaluatingGates"
    assert "waiting for smoke (active 1)" in driver.status.message
    assert running.requeue_after == pytest.approx(2.0)


def test_a_completed_job_gives_go_and_the_first_weight_moves_in_the_same_pass() -> None:
    """Complete=True: GO with its rationale, an Event, and setWeight 25 at once."""
    driver = Driver(gated({"name": "smoke", "job": JOB}))
    driver.step(observe())
    decision = driver.step(observe(gates=(job_seen(conditions=COMPLETE),)), later(5))
    report = driver.status.gates[0]
    assert report.decision == GateDecision.GO
    assert report.decided_at == later(5)
    assert report.criteria[0].met is True
    assert report.criteria[0].required == "Job web-smoke-1s Complete"
    assert "all 1 criteria met" in report.rationale
    assert weights_set(decision) == [25]
    assert "GateGo" in event_reasons(decision)
    assert driver.status.step_started_at == later(5)


def test_a_failed_job_gives_no_go_and_ends_the_rollout_with_all_traffic_on_stable() -> None:
    """Failed: NO_GO, RolledBack with reason GateNoGo naming the criterion; weight stays 0."""
    driver = Driver(gated({"name": "smoke", "job": JOB}))
    driver.step(observe())
    decision = driver.step(observe(gates=(job_seen(conditions=FAILED),)), later(5))
    report = driver.status.gates[0]
    assert report.decision == GateDecision.NO_GO
    assert report.criteria[0].met is False
    assert report.criteria[0].actual == "Failed"
    assert "BackoffLimitExceeded" in report.criteria[0].message
    assert weights_set(decision) == [0]
    assert driver.status.weights is not None and driver.status.weights.candidate == 0
    rolled_back = condition(driver.status, "RolledBack")
    assert rolled_back.reason == "GateNoGo"
    assert "smoke" in rolled_back.message and "NO_GO" in rolled_back.message
    assert history_types(driver.status)[-2:] == ["GateNoGo", "RolledBack"]
    assert driver.status.phase == "RolledBack"


def test_a_prometheus_criterion_over_its_threshold_is_no_go_naming_it() -> None:
    """vector(1) with max 0: NO_GO, the report shows required, actual and why."""
    driver = Driver(gated({"name": "alerts", "prometheus": ALERTS}))
    driver.step(observe())
    seen = GateObservation(
        rollout=1, stage="beforeStart", criterion="alerts", result=value(1, "alerts")
    )
    driver.step(observe(gates=(seen,)), later(1))
    report = driver.status.gates[0]
    criterion = report.criteria[0]
    assert report.decision == GateDecision.NO_GO
    assert (criterion.required, criterion.actual, criterion.met) == (
        "count(ALERTS) <= 0",
        "1",
        False,
    )
    assert "alerts (1: 1 is not <= 0)" in report.rationale


def test_no_data_is_not_met_unless_on_no_data_says_met() -> None:
    """An empty result: NO_GO by default, GO with onNoData: met."""
    empty = MetricResult(metric="alerts", kind=ResultKind.NO_DATA, time=NOW)
    seen = GateObservation(rollout=1, stage="beforeStart", criterion="alerts", result=empty)
    strict = Driver(gated({"name": "alerts", "prometheus": ALERTS}))
    strict.step(observe())
    strict.step(observe(gates=(seen,)), later(1))
    assert strict.status.gates[0].decision == GateDecision.NO_GO
    lenient = Driver(gated({"name": "alerts", "prometheus": {**ALERTS, "onNoData": "met"}}))
    lenient.step(observe())
    lenient.step(observe(gates=(seen,)), later(1))
    assert lenient.status.gates[0].decision == GateDecision.GO


def test_a_condition_criterion_waits_until_the_object_has_the_condition() -> None:
    """Migration Job not found, then Complete=False: Pending; Complete=True: GO."""
    driver = Driver(gated({"name": "migrated", "condition": MIGRATE}))
    driver.step(observe())
    driver.step(observe(gates=(job_seen("migrated", found=False),)), later(1))
    assert driver.status.gates[0].criteria[0].actual == "not found"
    running = (("Complete", "False", "", ""),)
    decision = driver.step(observe(gates=(job_seen("migrated", running),)), later(2))
    assert driver.status.gates[0].decision == GateDecision.PENDING
    assert driver.status.gates[0].criteria[0].actual == "Complete=False"
    assert jobs_created(decision) == [] and weights_set(decision) == []
    decision = driver.step(observe(gates=(job_seen("migrated", COMPLETE),)), later(3))
    assert driver.status.gates[0].decision == GateDecision.GO
    assert weights_set(decision) == [25]


def test_an_invalid_job_template_holds_degraded_naming_the_gate_and_moves_nothing() -> None:
    """A template the API refuses: Degraded InvalidGate naming it, no Job, no traffic."""
    driver = Driver(gated({"name": "smoke", "job": JOB}))
    driver.step(observe())
    refused = job_seen(found=False, invalid="the API refused the Job: volumeMounts[0]: Not found")
    decision = driver.step(observe(gates=(refused,)), later(1))
    assert jobs_created(decision) == [] and weights_set(decision) == []
    degraded = condition(driver.status, "Degraded")
    assert (degraded.status.value, degraded.reason) == ("True", "InvalidGate")
    assert 'gate "smoke"' in degraded.message and "volumeMounts" in degraded.message
    assert condition(driver.status, "Progressing").reason == "InvalidGate"


def test_a_criterion_still_pending_at_the_timeout_is_no_go() -> None:
    """A Job running past the gates' timeout: NO_GO, naming it."""
    driver = Driver(gated({"name": "smoke", "job": JOB}, timeout="1m"))
    driver.step(observe())
    driver.step(observe(gates=(job_seen(detail="active 1"),)), later(30))
    driver.step(observe(gates=(job_seen(detail="active 1"),)), later(61))
    report = driver.status.gates[0]
    assert report.decision == GateDecision.NO_GO
    assert "timeout" in report.criteria[0].message
    assert condition(driver.status, "RolledBack").reason == "GateNoGo"


def test_one_failed_criterion_is_no_go_even_while_another_is_pending() -> None:
    """NO_GO does not wait for the other criteria."""
    driver = Driver(gated({"name": "smoke", "job": JOB}, {"name": "alerts", "prometheus": ALERTS}))
    driver.step(observe())
    alerts = GateObservation(
        rollout=1, stage="beforeStart", criterion="alerts", result=value(3, "alerts")
    )
    driver.step(observe(gates=(job_seen(detail="active 1"), alerts)), later(1))
    report = driver.status.gates[0]
    assert report.decision == GateDecision.NO_GO
    assert [c.met for c in report.criteria] == [None, False]


def test_before_full_gates_hold_at_the_final_step_and_roll_back_on_no_go() -> None:
    """beforeFull: 25% runs, the final step waits for the gate; NO_GO returns traffic to stable."""
    driver = Driver(gated({"name": "smoke", "job": JOB}, when=["beforeFull"]))
    first = driver.step(observe())
    assert weights_set(first) == [25]
    driver.step(observe(), later(11))
    assert driver.status.weights is not None and driver.status.weights.candidate == 25
    assert driver.status.gates[0].stage == GateStage.BEFORE_FULL
    seen = job_seen(stage="beforeFull", found=False)
    decision = driver.step(observe(gates=(seen,)), later(12))
    assert jobs_created(decision) == ["web-smoke-1f"]
    assert weights_set(decision) == []
    failed = job_seen(stage="beforeFull", conditions=FAILED)
    decision = driver.step(observe(gates=(failed,)), later(13))
    assert weights_set(decision) == [0]
    assert condition(driver.status, "RolledBack").reason == "GateNoGo"


def test_before_full_go_moves_to_100_percent() -> None:
    """beforeFull GO: 100% in the same pass."""
    driver = Driver(gated({"name": "smoke", "job": JOB}, when=["beforeFull"]))
    driver.step(observe())
    driver.step(observe(), later(11))
    done = job_seen(stage="beforeFull", conditions=COMPLETE)
    decision = driver.step(observe(gates=(done,)), later(12))
    assert weights_set(decision) == [100]


def test_both_stages_keep_one_report_each() -> None:
    """beforeStart and beforeFull: two reports of the same rollout, both GO."""
    driver = Driver(gated({"name": "smoke", "job": JOB}, when=["beforeStart", "beforeFull"]))
    driver.step(observe())
    driver.step(observe(gates=(job_seen(conditions=COMPLETE),)), later(1))
    driver.step(observe(), later(12))
    done = job_seen(stage="beforeFull", conditions=COMPLETE)
    decision = driver.step(observe(gates=(done,)), later(13))
    assert [(r.stage, r.decision) for r in driver.status.gates] == [
        (GateStage.BEFORE_START, GateDecision.GO),
        (GateStage.BEFORE_FULL, GateDecision.GO),
    ]
    assert weights_set(decision) == [100]


def test_gates_due_lists_only_pending_criteria_and_nothing_once_decided() -> None:
    """The runtime reads only the pending criteria; a finished Release reads nothing."""
    spec = gated({"name": "smoke", "job": JOB}, {"name": "alerts", "prometheus": ALERTS})
    assert gates_due(release(), spec) is None
    driver = Driver(spec)
    driver.step(observe())
    due = gates_due(driver.release, spec)
    assert due is not None and [c.name for c in due[1]] == ["smoke", "alerts"]
    alerts = GateObservation(
        rollout=1, stage="beforeStart", criterion="alerts", result=value(0, "alerts")
    )
    driver.step(observe(gates=(job_seen(detail="active 1"), alerts)), later(1))
    due = gates_due(driver.release, spec)
    assert due is not None and [c.name for c in due[1]] == ["smoke"]
    driver.step(observe(gates=(job_seen(conditions=FAILED),)), later(2))
    assert gates_due(driver.release, spec) is None


def test_deciding_again_on_the_same_observation_changes_nothing() -> None:
    """Idempotent: a pending report decided twice is the same status, no new Job once seen."""
    driver = Driver(gated({"name": "smoke", "job": JOB}))
    driver.step(observe())
    seen = observe(gates=(job_seen(detail="active 1"),))
    driver.step(seen, later(1))
    before = driver.status
    again = driver.step(seen, later(1))
    assert driver.status == before
    assert again.actions == ()


def test_job_names_are_deterministic_and_fit_a_label() -> None:
    """Names: release, criterion, rollout and stage; long ones are hashed to 63 characters."""
    assert job_name("web", 2, "beforeFull", "smoke") == "web-smoke-2f"
    long = job_name("a" * 60, 1, "beforeStart", "smoke-tests")
    assert len(long) <= 63 and long.endswith("-smoke-tests-1s")
    assert long == job_name("a" * 60, 1, "beforeStart", "smoke-tests")


def test_a_retry_runs_the_gates_again_with_new_job_names() -> None:
    """After a NO_GO, retry starts rollout 2 with a new report and a new Job."""
    from engine_builders import command

    driver = Driver(gated({"name": "smoke", "job": JOB}))
    driver.step(observe())
    driver.step(observe(gates=(job_seen(conditions=FAILED),)), later(1))
    driver.step(observe(command=command("retry", id="r1")), later(2))
    assert driver.status.rollouts == 2
    assert [r.rollout for r in driver.status.gates] == [2]
    seen = GateObservation(rollout=2, stage="beforeStart", criterion="smoke", found=False)
    decision = driver.step(observe(gates=(seen,)), later(3))
    assert jobs_created(decision) == ["web-smoke-2s"]
