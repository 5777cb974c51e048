"""Approvals: quorum by people and groups, per release type; reject is a no-go; reasons."""

from __future__ import annotations

from engine_builders import (
    Driver,
    approval,
    command,
    condition,
    later,
    observe,
    policy,
    release,
    weight,
    weights_set,
)

from sluice.api.approvals import ApprovalRules, DecisionKind
from sluice.api.policy import Step

QA_AND_LEAD = {"required": ["qa", "tech-lead"], "minApprovals": 2}


def quorum(**rules: object) -> Step:
    """An approval step with its own rules."""
    return Step(approval={"rules": ApprovalRules.model_validate(rules)})  # type: ignore[arg-type]


def waiting_at_quorum(**fields: object) -> Driver:
    """A rollout at 10% waiting at an approval step that needs qa and tech-lead."""
    driver = Driver(policy([weight(10), approval(), weight(100)], approvals=QA_AND_LEAD, **fields))
    driver.step(observe())
    driver.step(observe(), later(1))
    return driver


def test_a_quorum_step_waits_after_one_approval_and_passes_after_the_second() -> None:
    """qa approves: still waiting (naming tech-lead); tech-lead approves: the rollout goes on;
    the status lists both decisions with groups and reasons."""
    driver = waiting_at_quorum()
    first = command("approve", id="a1", by="bob", groups=("qa",), reason="QA signed off")
    driver.step(observe(command=first), later(2))
    progressing = condition(driver.status, "Progressing")
    assert progressing.reason == "AwaitingApproval"
    assert "approved by bob; still needed: 1 more approval, someone in group tech-lead" in (
        progressing.message
    )
    second = command("approve", id="a2", by="carol", groups=("tech-lead",), reason="code ok")
    moved = driver.step(observe(command=second), later(3))
    assert weights_set(moved) == [100]
    decisions = [(d.user, d.groups, d.reason, d.decision) for d in driver.status.approvals]
    assert decisions == [
        ("bob", ["qa"], "QA signed off", DecisionKind.APPROVED),
        ("carol", ["tech-lead"], "code ok", DecisionKind.APPROVED),
    ]
    approved = [e.message for e in driver.status.history if e.type == "Approved"]
    assert "still needed: 1 more approval, someone in group tech-lead" in approved[0]
    assert approved[1] == "Approved by carol (tech-lead): step 2/3 (approval): code ok"


def test_the_same_person_cannot_approve_twice_toward_a_quorum() -> None:
    """A second approval by bob is ignored: quorum counts distinct people."""
    driver = waiting_at_quorum()
    driver.step(observe(command=command("approve", id="a1", by="bob", groups=("qa",))), later(2))
    again = command("approve", id="a2", by="bob", groups=("qa", "tech-lead"))
    driver.step(observe(command=again), later(3))
    accepted = condition(driver.status, "CommandAccepted")
    assert accepted.reason == "CommandIgnored"
    assert "bob has already approved" in accepted.message
    assert len(driver.status.approvals) == 1


def test_enough_people_without_the_required_group_still_wait() -> None:
    """Two approvers from qa do not replace tech-lead."""
    driver = waiting_at_quorum()
    driver.step(observe(command=command("approve", id="a1", by="bob", groups=("qa",))), later(2))
    driver.step(observe(command=command("approve", id="a2", by="dan", groups=("qa",))), later(3))
    assert condition(driver.status, "Progressing").reason == "AwaitingApproval"
    assert "someone in group tech-lead" in condition(driver.status, "Progressing").message


def test_the_quorum_follows_the_release_type_through_overrides() -> None:
    """A hotfix needs only the tech lead; a major release adds security and a sponsor."""
    overrides = {
        "hotfix": {"approvals": {"required": ["tech-lead"]}},
        "major": {
            "approvals": {
                "required": ["qa", "tech-lead", "product", "security", "sponsor"],
                "minApprovals": 2,
            }
        },
    }
    steps = [weight(10), approval(), weight(100)]
    hotfix = Driver(policy(steps, overrides=overrides), release(version="1.0.1", hotfix=True))
    hotfix.step(observe())
    hotfix.step(observe(), later(1))
    lead = command("approve", id="a1", by="carol", groups=("tech-lead",))
    assert weights_set(hotfix.step(observe(command=lead), later(2))) == [100]
    major = Driver(policy(steps, overrides=overrides), release(version="2.0.0"))
    major.step(observe())
    major.step(observe(), later(1))
    major.step(observe(command=lead), later(2))
    message = condition(major.status, "Progressing").message
    assert "someone in group qa" in message and "someone in group sponsor" in message


def test_a_steps_own_rules_win_over_the_policys() -> None:
    """An approval step with rules ignores the policy's approvals."""
    driver = Driver(
        policy([weight(10), quorum(required=["qa"]), weight(100)], approvals=QA_AND_LEAD)
    )
    driver.step(observe())
    driver.step(observe(), later(1))
    qa = command("approve", id="a1", by="bob", groups=("qa",))
    assert weights_set(driver.step(observe(command=qa), later(2))) == [100]


def test_reject_is_a_no_go_that_returns_traffic_and_records_who_and_why() -> None:
    """reject rolls back what moved, with reason Rejected naming the person and the reason."""
    driver = waiting_at_quorum()
    no = command("reject", id="r1", by="bob", groups=("qa",), reason="login broken on iOS")
    rolled = driver.step(observe(command=no), later(2))
    assert weights_set(rolled) == [0]
    rolled_back = condition(driver.status, "RolledBack")
    assert rolled_back.reason == "Rejected"
    assert "rejected by bob (qa)" in rolled_back.message
    assert "login broken on iOS" in rolled_back.message
    assert driver.status.approvals[-1].decision == DecisionKind.REJECTED


def test_approve_reject_and_abort_without_a_reason_are_ignored() -> None:
    """A decision without a why is not taken."""
    for action in ("approve", "reject", "abort"):
        driver = waiting_at_quorum()
        driver.step(observe(command=command(action, id="x", reason=None)), later(2))
        accepted = condition(driver.status, "CommandAccepted")
        assert accepted.reason == "CommandIgnored"
        assert f"{action} needs a reason (--reason)" in accepted.message
        assert driver.status.outcome is None


def test_require_reason_in_the_policy_covers_promote_too() -> None:
    """requireReason: a promote without a reason is ignored; with one it applies."""
    driver = waiting_at_quorum(requireReason=True)
    driver.step(observe(command=command("promote", id="p1", reason=None)), later(2))
    assert "requires a reason" in condition(driver.status, "CommandAccepted").message
    driver.step(observe(command=command("promote", id="p2", reason="hotfix needed")), later(3))
    assert condition(driver.status, "CommandAccepted").reason == "CommandApplied"


def test_approvals_of_an_earlier_rollout_do_not_count_for_the_next() -> None:
    """After a reject and a retry, the quorum starts from nobody again."""
    driver = waiting_at_quorum()
    driver.step(observe(command=command("approve", id="a1", by="bob", groups=("qa",))), later(2))
    driver.step(observe(command=command("reject", id="r1", by="carol")), later(3))
    driver.step(observe(command=command("retry", id="t1")), later(4))
    driver.step(observe(), later(5))
    message = condition(driver.status, "Progressing").message
    assert "still needed: 2 more approvals" in message
