"""ReleaseGroups: dependency order, one go/no-go, group rollback in reverse order, holdOthers,
unchanged members, the old stable kept until the group is done, deletion, commands."""

from __future__ import annotations

from engine_builders import TOTAL, analysis, command, metric, policy, value, weight
from group_sim import World, group, member

from sluice.api.group import GroupMember, GroupPhase
from sluice.engine.group_graph import find_cycle, graph_problems, levels

CONSUMERS_THEN_PRODUCER = [
    {"release": "consumer-a"},
    {"release": "consumer-b"},
    {"release": "producer", "dependsOn": ["consumer-a", "consumer-b"]},
]


def world(**spec: object) -> World:
    """Two consumers and a producer that needs both; each rolls out 50% then 100%, analysed."""
    return World(
        group=group(CONSUMERS_THEN_PRODUCER, **spec),
        releases={name: member(name) for name in ("consumer-a", "consumer-b", "producer")},
        policy=policy(steps=[weight(50), analysis()], metrics=[metric()], scaleDownDelay="0s"),
    )


def feed_healthy(w: World, *names: str) -> None:
    """A healthy measurement for these members, taken now."""
    for name in names:
        w.results[name] = [value(0.01, at=w.now)]


def run_consumers_to_success(w: World) -> None:
    """Drive until both consumers succeeded."""
    for _ in range(6):
        feed_healthy(w, "consumer-a", "consumer-b")
        w.tick(seconds=5)


def test_graph_levels_put_consumers_before_the_producer() -> None:
    """The waves: both consumers first, then the producer."""
    members = [GroupMember.model_validate(m) for m in CONSUMERS_THEN_PRODUCER]
    assert levels(members) == [["consumer-a", "consumer-b"], ["producer"]]


def test_graph_problems_name_cycles_duplicates_and_unknown_members() -> None:
    """A cycle, a member listed twice and an unknown dependency are each named."""
    members = [
        GroupMember(release="a", depends_on=["b"]),
        GroupMember(release="b", depends_on=["a"]),
        GroupMember(release="b"),
        GroupMember(release="c", depends_on=["ghost"]),
    ]
    problems = graph_problems(members)
    assert any("listed more than once: b" in p for p in problems)
    assert any("c depends on ghost" in p for p in problems)
    assert any(p.startswith("dependency cycle: a -> b -> a") for p in problems)
    assert find_cycle({"x": ["y"], "y": []}) == []


def test_consumers_run_in_parallel_and_the_producer_starts_after_both_succeed() -> None:
    """The producer waits, naming the consumers, until both succeeded; then it starts."""
    w = world()
    w.tick()
    assert w.phase() == GroupPhase.PROGRESSING
    assert w.status("consumer-a").current_step is not None
    assert w.status("consumer-b").current_step is not None
    assert w.status("producer").current_step is None
    assert "waiting for consumer-a (Progressing), consumer-b (Progressing)" in (
        w.status("producer").message or ""
    )
    run_consumers_to_success(w)
    starts = [name for name, kind in w.order if kind == "Started"]
    assert starts == ["consumer-a", "consumer-b", "producer"]
    feed_healthy(w, "producer")
    for _ in range(4):
        feed_healthy(w, "producer")
        w.tick(seconds=5)
    assert w.phase() == GroupPhase.SUCCEEDED
    assert [m.phase for m in w.group_status.members] == ["Succeeded"] * 3


def test_succeeded_consumers_keep_their_old_stable_until_the_group_is_done() -> None:
    """scaleDownDelay 0s, yet the consumers' stables keep their pods while the producer runs."""
    w = world()
    run_consumers_to_success(w)
    assert w.status("consumer-a").outcome == "Succeeded"
    assert w.replicas["consumer-a"][0] > 0 or w.status("consumer-a").scale_down_at is not None
    assert not w.status("consumer-a").scaled_down
    for _ in range(5):
        feed_healthy(w, "producer")
        w.tick(seconds=5)
    assert w.phase() == GroupPhase.SUCCEEDED
    w.tick(seconds=5, rounds=2)
    assert w.status("consumer-a").scaled_down


def test_a_failed_producer_rolls_back_then_both_consumers_in_reverse_order() -> None:
    """The producer's metric fails: it rolls back, then the consumers; each names the cause."""
    w = world()
    run_consumers_to_success(w)
    w.results["producer"] = [value(0.3, at=w.now)]
    w.tick(seconds=5)
    w.results["producer"] = [value(0.3, at=w.now)]
    w.tick(seconds=5, rounds=4)
    assert w.phase() == GroupPhase.ROLLED_BACK
    rollbacks = [name for name, kind in w.order if kind == "RolledBack"]
    assert rollbacks[0] == "producer"
    assert sorted(rollbacks[1:]) == ["consumer-a", "consumer-b"]
    for name in ("consumer-a", "consumer-b"):
        entry = w.status(name).history[-1] if w.status(name).history else None
        rolled = [e for e in w.status(name).history if e.type == "RolledBack"][-1]
        assert rolled.reason == "GroupRollback"
        assert rolled.metric == "error-rate" and rolled.value == 0.3
        assert "member producer failed" in rolled.message
        assert w.replicas[name][1] == 0 and w.replicas[name][0] == TOTAL, entry
    assert w.group_status.rollback is not None
    assert w.group_status.rollback.member == "producer"


def test_hold_others_leaves_succeeded_consumers_alone() -> None:
    """onMemberFailure holdOthers: the producer rolls back, the consumers stay at 100%."""
    w = world(onMemberFailure="holdOthers")
    run_consumers_to_success(w)
    w.results["producer"] = [value(0.3, at=w.now)]
    w.tick(seconds=5)
    w.results["producer"] = [value(0.3, at=w.now)]
    w.tick(seconds=5, rounds=3)
    assert w.phase() == GroupPhase.FAILED
    assert w.status("consumer-a").outcome == "Succeeded"
    assert w.status("consumer-b").outcome == "Succeeded"
    assert w.status("producer").outcome == "RolledBack"


def test_the_go_no_go_waits_for_the_group_quorum_before_any_member_starts() -> None:
    """With approvals, nothing starts until the approval; then the consumers start."""
    w = world(approvals={"minApprovals": 1, "required": ["qa"]})
    w.tick(rounds=2)
    assert w.phase() == GroupPhase.PENDING
    assert all(w.status(n).current_step is None for n in w.releases)
    assert "someone in group qa" in (w.group_status.message or "")
    assert "waiting for the go/no-go" in (w.status("consumer-a").message or "")
    w.command = command("approve", by="bob", groups=("qa",))
    w.tick()
    assert w.phase() == GroupPhase.PROGRESSING
    assert w.group_status.approvals[0].user == "bob"
    assert w.status("consumer-a").current_step is not None


def test_reject_is_a_no_go_and_nothing_moves() -> None:
    """reject on a pending group ends the run as Failed; no member starts."""
    w = world(approvals={"minApprovals": 1})
    w.tick()
    w.command = command("reject", by="carol")
    w.tick(rounds=2)
    assert w.phase() == GroupPhase.FAILED
    assert all(w.status(n).current_step is None for n in w.releases)
    assert "GroupNotRunning" in [c.reason for c in w.status("producer").conditions]


def test_an_invalid_group_degrades_and_nothing_starts() -> None:
    """A cycle and a missing member: Degraded InvalidGroup naming both; no member moves."""
    w = world()
    w.group = group(
        [
            {"release": "consumer-a", "dependsOn": ["producer"]},
            {"release": "producer", "dependsOn": ["consumer-a"]},
            {"release": "ghost"},
        ]
    )
    del w.releases["consumer-b"]
    w.tick(rounds=2)
    degraded = next(c for c in w.group_status.conditions if c.type == "Degraded")
    assert degraded.status == "True" and degraded.reason == "InvalidGroup"
    assert "dependency cycle" in degraded.message and "Release not found: ghost" in degraded.message
    assert all(w.status(n).current_step is None for n in w.releases)


def test_abort_rolls_back_the_members_that_moved_traffic() -> None:
    """abort mid-run: every member that moved traffic returns it; the group RolledBack."""
    w = world()
    w.tick()
    w.command = command("abort", by="dave")
    w.tick(rounds=3)
    assert w.phase() == GroupPhase.ROLLED_BACK
    assert w.group_status.rollback is not None and w.group_status.rollback.by == "dave"
    for name in ("consumer-a", "consumer-b"):
        assert w.replicas[name] == (TOTAL, 0) or w.status(name).weights.candidate == 0
    assert w.status("producer").current_step is None


def test_retry_starts_a_new_run_and_rolled_back_members_roll_out_again() -> None:
    """After a group rollback, retry: run 2; the consumers start again from the first step."""
    w = world()
    w.tick()
    w.command = command("abort", by="dave")
    w.tick(rounds=3)
    w.command = command("retry", id="cmd-2", by="dave")
    w.tick(rounds=2)
    assert w.group_status.run == 2
    assert w.phase() == GroupPhase.PROGRESSING
    assert w.status("consumer-a").group is not None and w.status("consumer-a").group.run == 2
    assert w.status("consumer-a").outcome is None


def test_a_member_with_nothing_new_counts_as_unchanged_in_the_next_run() -> None:
    """Next run with only the producer's version changed: consumers are Unchanged, no traffic."""
    w = world()
    run_consumers_to_success(w)
    for _ in range(5):
        feed_healthy(w, "producer")
        w.tick(seconds=5)
    assert w.phase() == GroupPhase.SUCCEEDED
    w.group = group(CONSUMERS_THEN_PRODUCER, generation=2, version="2026.48").model_copy(
        update={"status": w.group.status}
    )
    w.releases["producer"] = member("producer", "1.2.0", swapped=True).model_copy(
        update={"status": w.status("producer")}
    )
    w.replicas["producer"] = (TOTAL, 0)  # the new stable (the old candidate) serves it all
    seen = dict(w.weights_seen)
    for _ in range(6):
        feed_healthy(w, "producer")
        w.tick(seconds=5)
    assert w.group_status.run == 2
    assert [m.phase for m in w.group_status.members] == ["Unchanged", "Unchanged", "Succeeded"]
    assert w.weights_seen["consumer-a"] == seen["consumer-a"]
    assert w.status("producer").candidate_version == "1.2.0"


def test_a_new_version_waits_for_the_groups_next_run() -> None:
    """A member edited after its group finished does not start alone."""
    w = world()
    run_consumers_to_success(w)
    for _ in range(5):
        feed_healthy(w, "producer")
        w.tick(seconds=5)
    w.releases["consumer-a"] = member("consumer-a", "1.3.0").model_copy(
        update={"status": w.status("consumer-a")}
    )
    w.tick(rounds=2)
    assert w.status("consumer-a").candidate_version == "1.1.0"
    assert "edit the group's spec" in (w.status("consumer-a").message or "")


def test_deleting_the_group_mid_way_returns_every_member_to_stable() -> None:
    """Deletion while the consumers run: both roll back; then the group may go."""
    w = world()
    w.tick()
    w.deleting = True
    w.tick(rounds=3)
    assert w.phase() == GroupPhase.ROLLED_BACK
    assert w.group_status.rollback is not None
    assert w.group_status.rollback.reason == "GroupDeleted"
    for name in ("consumer-a", "consumer-b"):
        assert w.status(name).outcome == "RolledBack"


def test_a_member_waiting_when_its_group_is_deleted_does_not_start_alone() -> None:
    """The producer waited for the group; the group is gone: it holds (GroupDeleted) until its
    spec is edited."""
    w = world()
    w.tick()
    assert w.status("producer").current_step is None
    w.decide_member("producer", in_group=False)
    assert w.status("producer").current_step is None
    assert "ReleaseGroup this Release waited for is gone" in (w.status("producer").message or "")
    w.decide_member("producer", in_group=False)
    assert w.status("producer").current_step is None
    edited = w.releases["producer"].model_copy(
        update={"metadata": w.releases["producer"].metadata.model_copy(update={"generation": 2})}
    )
    w.releases["producer"] = edited
    w.decide_member("producer", in_group=False)
    assert w.status("producer").current_step is not None


def test_a_member_whose_old_stable_is_gone_cannot_roll_back_and_the_group_still_ends() -> None:
    """A succeeded consumer whose stable was scaled down by hand: its history says the group
    rollback is impossible, the other consumer rolls back, and the group ends RolledBack."""
    w = world()
    run_consumers_to_success(w)
    gone = w.status("consumer-a").model_copy(update={"scaled_down": True})
    w.releases["consumer-a"] = w.releases["consumer-a"].model_copy(update={"status": gone})
    w.results["producer"] = [value(0.3, at=w.now)]
    w.tick(seconds=5)
    w.results["producer"] = [value(0.3, at=w.now)]
    w.tick(seconds=5, rounds=4)
    assert w.phase() == GroupPhase.ROLLED_BACK
    assert "GroupRollbackImpossible" in [e.type for e in w.status("consumer-a").history]
    assert w.status("consumer-a").outcome == "Succeeded"
    assert w.status("consumer-b").outcome == "RolledBack"
