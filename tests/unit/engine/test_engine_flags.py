"""Feature flags in the engine: the kill switch first, pre-flight checks, settling, hygiene."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from engine_builders import (
    NOW,
    Driver,
    command,
    condition,
    event_reasons,
    history_types,
    later,
    metric,
    observe,
    pause,
    policy,
    release,
    value,
    weight,
    weights_set,
)

from sluice.api.release import Release
from sluice.engine.flag_state import FlagState, PatchFlag
from sluice.engine.types import Decision

CHECKOUT = {"featureFlag": "web-flags", "key": "new-checkout"}


def flagged(*flags: dict[str, Any], routing: dict[str, Any] | None = None) -> Release:
    """The builders' Release with these spec.flags (and optionally a flag router)."""
    base = release()
    spec = base.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    spec["flags"] = list(flags)
    if routing is not None:
        spec["trafficRouting"] = {"flag": routing}
    return Release.model_validate(
        {"metadata": base.metadata.model_dump(by_alias=True), "spec": spec}
    )


def seen(
    key: str = "new-checkout",
    state: str = "ENABLED",
    default: str = "on",
    variants: tuple[str, ...] = ("off", "on"),
    **fields: Any,
) -> FlagState:
    """The flag as read: object web-flags, this key."""
    fields.setdefault("object_found", True)
    fields.setdefault("key_found", True)
    return FlagState(
        "web-flags", key, state=state, default_variant=default, variants=variants, **fields
    )


def patches(decision: Decision) -> list[PatchFlag]:
    """The flag patches of a decision, in order."""
    return [a for a in decision.actions if isinstance(a, PatchFlag)]


def traffic(decision: Decision) -> list[str]:
    """The kinds of the decision's actions other than Events (posted last by the runtime)."""
    return [type(a).__name__ for a in decision.actions if type(a).__name__ != "EmitEvent"]


def failing_driver(*flags: dict[str, Any], **fields: Any) -> Driver:
    """A Driver at 50% whose error-rate metric is about to fail."""
    steps = [weight(50), pause(), weight(100)]
    driver = Driver(policy(steps, [metric()], scaleDownDelay="1m", **fields), flagged(*flags))
    driver.step(observe(flags=(seen(),)))
    return driver


def test_a_rollback_switches_the_flag_off_before_traffic_returns_to_stable() -> None:
    """The first action is the flag patch, then SetWeight(0); the history says both, in order,
    and a Warning Event names the flag that was switched off."""
    driver = failing_driver(CHECKOUT)
    failed = driver.step(observe(flags=(seen(),), results=(value(0.5, at=later(30)),)), later(30))
    assert traffic(failed)[:2] == ["PatchFlag", "SetWeight"] and weights_set(failed) == [0]
    assert patches(failed) == [PatchFlag("web-flags", "new-checkout", True, None, "MetricFailed")]
    kinds = history_types(driver.status)
    assert kinds.index("FlagSwitchedOff") < kinds.index("RolledBack")
    entry = driver.status.history[kinds.index("FlagSwitchedOff")]
    assert entry.time == later(30)
    assert 'flag "new-checkout" of FeatureFlag "web-flags" switched off' in entry.message
    assert "FlagSwitchedOff" in event_reasons(failed)


def test_a_default_variant_rollback_names_the_variant_everyone_gets() -> None:
    """onRollback.defaultVariant: the patch carries it, and the history says who gets what."""
    flag = {**CHECKOUT, "onRollback": {"defaultVariant": "off"}}
    driver = failing_driver(flag)
    failed = driver.step(observe(flags=(seen(),), results=(value(0.5, at=later(30)),)), later(30))
    assert patches(failed) == [PatchFlag("web-flags", "new-checkout", False, "off", "MetricFailed")]
    assert 'switched to variant "off" for everyone' in driver.status.history[-2].message


def test_an_abort_switches_every_guarding_flag_in_their_order() -> None:
    """Two guarding flags: two patches, in spec order, before the one SetWeight(0)."""
    other = {"featureFlag": "web-flags", "key": "new-cart", "kind": "experiment"}
    driver = failing_driver(CHECKOUT, other)
    aborted = driver.step(
        observe(flags=(seen(), seen("new-cart")), command=command("abort")), later(5)
    )
    assert [p.key for p in patches(aborted)] == ["new-checkout", "new-cart"]
    assert traffic(aborted)[:3] == ["PatchFlag", "PatchFlag", "SetWeight"]


def test_a_flag_already_off_is_not_patched_again() -> None:
    """Switched off by a person before the rollback: no patch, a history entry says so."""
    driver = failing_driver(CHECKOUT)
    failed = driver.step(
        observe(flags=(seen(state="DISABLED"),), results=(value(0.5, at=later(30)),)), later(30)
    )
    assert patches(failed) == [] and weights_set(failed) == [0]
    assert "FlagAlreadyOff" in history_types(driver.status)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (FlagState("web-flags", "new-checkout"), 'FeatureFlag "web-flags" not found in namespace'),
        (
            FlagState("web-flags", "new-checkout", object_found=True),
            'FeatureFlag "web-flags" has no flag "new-checkout" (spec.flags[0])',
        ),
    ],
)
def test_a_missing_flag_object_or_key_blocks_the_rollout_naming_it(
    state: FlagState, message: str
) -> None:
    """Degraded FlagNotFound naming the object or key; no traffic moves."""
    driver = Driver(policy([weight(50), weight(100)]), flagged(CHECKOUT))
    decision = driver.step(observe(flags=(state,)))
    assert weights_set(decision) == []
    degraded = condition(driver.status, "Degraded")
    assert (degraded.status.value, degraded.reason) == ("True", "FlagNotFound")
    assert message in degraded.message
    assert driver.status.current_step is None
    assert decision.requeue_after == 5.0, "FeatureFlags are not watched: read again soon"


def test_a_rollback_variant_the_flag_lacks_is_a_preflight_condition() -> None:
    """onRollback.defaultVariant not among the variants: InvalidFlag before any traffic."""
    flag = {**CHECKOUT, "onRollback": {"defaultVariant": "legacy"}}
    driver = Driver(policy([weight(50), weight(100)]), flagged(flag))
    decision = driver.step(observe(flags=(seen(),)))
    assert weights_set(decision) == []
    degraded = condition(driver.status, "Degraded")
    assert degraded.reason == "InvalidFlag"
    assert 'has no variant "legacy"' in degraded.message and "off, on" in degraded.message


def test_a_flag_router_with_unknown_variants_is_refused_before_start() -> None:
    """trafficRouting.flag naming a variant the flag does not have: InvalidFlag, no weight."""
    routing = {**CHECKOUT, "stableVariant": "off", "candidateVariant": "blue"}
    driver = Driver(policy([weight(50), weight(100)]), flagged(routing=routing))
    decision = driver.step(observe(flags=(seen(),)))
    assert weights_set(decision) == []
    assert "has no variant 'blue'" in condition(driver.status, "Degraded").message


def test_a_failed_kill_switch_is_patched_again_on_the_retry_only() -> None:
    """After the rollback, a retry pass (action_error set) patches the flag still on again;
    an ordinary pass (a person turned it back on later) leaves it alone."""
    driver = failing_driver(CHECKOUT)
    driver.step(observe(flags=(seen(),), results=(value(0.5, at=later(30)),)), later(30))
    retry = driver.step(
        observe(flags=(seen(),), action_error="disabling flag: 409 Conflict"), later(31)
    )
    assert patches(retry) == [PatchFlag("web-flags", "new-checkout", True, None, "RolledBack")]
    assert patches(driver.step(observe(flags=(seen(),)), later(40))) == []


def _succeeded(*flags: dict[str, Any], **fields: Any) -> Driver:
    driver = Driver(policy([weight(100)], **fields), flagged(*flags))
    driver.step(observe(flags=(seen(),)))
    assert driver.status.outcome is not None and driver.status.outcome.value == "Succeeded"
    return driver


def test_a_release_flag_is_overdue_after_its_cleanup_delay_with_one_warning() -> None:
    """flagCleanup.release after 100%: the Release wakes then, FlagsOverdue turns True naming the
    flag, one FlagOverdue Warning; once the key is removed the condition goes False."""
    driver = _succeeded(CHECKOUT, flagCleanup={"release": "24h"})
    first = driver.decisions[-1]
    assert first.requeue_after is not None and first.requeue_after <= 24 * 3600 + 1
    due = NOW + timedelta(hours=24, seconds=1)
    overdue = driver.step(observe(flags=(seen(),)), due)
    status = condition(driver.status, "FlagsOverdue")
    assert (status.status.value, status.reason) == ("True", "CleanupOverdue")
    assert 'flag "new-checkout" of FeatureFlag "web-flags" (release flag)' in status.message
    assert event_reasons(overdue).count("FlagOverdue") == 1
    again = driver.step(observe(flags=(seen(),)), due + timedelta(hours=1))
    assert "FlagOverdue" not in event_reasons(again), "warned once"
    driver.step(observe(flags=(FlagState("web-flags", "new-checkout", object_found=True),)), due)
    cleaned = condition(driver.status, "FlagsOverdue")
    assert (cleaned.status.value, cleaned.reason) == ("False", "CleanedUp")


@pytest.mark.parametrize("kind", ["operational", "permission"])
def test_operational_and_permission_flags_are_never_overdue(kind: str) -> None:
    """Kept flags have no cleanup date."""
    driver = _succeeded({**CHECKOUT, "kind": kind}, flagCleanup={"release": "1s"})
    driver.step(observe(flags=(seen(),)), later(10**7))
    assert "FlagsOverdue" not in [c.type for c in driver.status.conditions]


def test_an_experiment_flag_uses_the_experiment_delay() -> None:
    """Experiment flags: flagCleanup.experiment (28 days by default), not the release delay."""
    driver = _succeeded({**CHECKOUT, "kind": "experiment"}, flagCleanup={"release": "1s"})
    driver.step(observe(flags=(seen(),)), later(3600))
    assert "FlagsOverdue" not in [c.type for c in driver.status.conditions]
    driver.step(observe(flags=(seen(),)), NOW + timedelta(days=28, seconds=1))
    assert "(experiment flag)" in condition(driver.status, "FlagsOverdue").message


def test_a_flag_rollout_in_one_deployment_never_scales_it_down() -> None:
    """stable == candidate (trafficRouting.flag): no scale-down is planned after success."""
    routing = {**CHECKOUT, "stableVariant": "off", "candidateVariant": "on"}
    same = flagged(routing=routing)
    spec = same.spec.model_copy(update={"candidate": "web"})
    driver = Driver(
        policy([weight(50), weight(100)], scaleDownDelay="1s"),
        same.model_copy(update={"spec": spec}),
    )
    flags = (seen(default="off"),)
    driver.step(observe(flags=flags))
    assert driver.status.outcome is not None
    done = driver.step(observe(flags=flags), later(5))
    assert [a for a in done.actions if type(a).__name__ == "ScaleDeployment"] == []
    assert driver.status.scale_down_at is None
    assert "scales to 0" not in (driver.status.message or "")


def test_subscribers_hear_of_the_kill_switch_and_of_an_overdue_flag() -> None:
    """FlagSwitchedOff with the rollback, FlagOverdue at the cleanup date: one pending each."""
    spec = policy([weight(100)], [], flagCleanup={"release": "1h"})
    subscription = {
        "name": "flags",
        "events": ["FlagSwitchedOff", "FlagOverdue"],
        "webhook": {"url": "http://127.0.0.1:9/hook"},
    }
    notified = spec.model_validate(
        {**spec.model_dump(by_alias=True, exclude_none=True), "notifications": [subscription]}
    )
    driver = Driver(notified, flagged(CHECKOUT))
    driver.step(observe(flags=(seen(),)))
    driver.step(observe(flags=(seen(),)), later(3601))
    assert driver.status.notifications is not None
    assert [p.event.value for p in driver.status.notifications.pending] == ["FlagOverdue"]
    kill = Driver(
        notified.model_copy(update={"steps": [weight(50), pause(), weight(100)]}),
        flagged(CHECKOUT),
    )
    kill.step(observe(flags=(seen(),)))
    kill.step(observe(flags=(seen(),), command=command("abort")), later(5))
    assert kill.status.notifications is not None
    assert "FlagSwitchedOff" in [p.event.value for p in kill.status.notifications.pending]
