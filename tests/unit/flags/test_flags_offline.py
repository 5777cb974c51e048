"""Flags without a cluster: the router's reading and writing of a split, patches, the flagd file
and real SDK evaluations through flagd in-process, and the simulator's per-variant errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sluice.api.flags import FlagRouting
from sluice.flags.evaluate import FlagEvaluator, FlagFile, flagd_document
from sluice.flags.objects import flag_state, pointer, switch_operations
from sluice.routers.flag import fractional_weight, weight_operations
from sluice.simulator.core import Increment
from sluice.simulator.flags import FlagTraffic, parse_flag_config

ROUTING = FlagRouting(
    feature_flag="web-flags", key="search", stable_variant="old", candidate_variant="new"
)


def definition(**fields: Any) -> dict[str, Any]:
    """A string flag with variants old and new."""
    return {
        "state": "ENABLED",
        "variants": {"old": "old", "new": "new"},
        "defaultVariant": "old",
        **fields,
    }


def body(name: str = "web-flags", **flags: dict[str, Any]) -> dict[str, Any]:
    """A FeatureFlag object."""
    return {"metadata": {"name": name}, "spec": {"flagSpec": {"flags": flags}}}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, 0),
        ({"defaultVariant": "new"}, 100),
        ({"targeting": {"fractional": [["old", 75], ["new", 25]]}}, 25),
        ({"targeting": {"fractional": [["new", 1], ["old", 1]]}}, 50),
        ({"targeting": {"if": [True, "new", "old"]}}, None),
        ({"targeting": {"fractional": [["old", 50], ["other", 50]]}}, None),
        ({"defaultVariant": "other"}, None),
    ],
)
def test_the_router_reads_the_candidate_share_of_a_flag(
    fields: dict[str, Any], expected: int | None
) -> None:
    """No targeting: the default variant's side; a fractional of both variants: its share;
    anything else is not the router's to read (None: applied again)."""
    assert fractional_weight(definition(**fields), ROUTING) == expected


def test_weight_writes_are_one_split_or_everyone_on_one_variant() -> None:
    """0 and 100: defaultVariant and no targeting; between: a fractional split; a disabled
    flag is enabled only to give the candidate users."""
    split = weight_operations(ROUTING, 25)(definition(state="DISABLED"))
    assert {
        "op": "add",
        "path": "/targeting",
        "value": {"fractional": [["old", 75], ["new", 25]]},
    } in split
    assert {"op": "replace", "path": "/state", "value": "ENABLED"} in split
    back = weight_operations(ROUTING, 0)(definition(targeting={"fractional": []}, state="DISABLED"))
    assert back == [
        {"op": "add", "path": "/defaultVariant", "value": "old"},
        {"op": "remove", "path": "/targeting"},
    ]
    full = weight_operations(ROUTING, 100)(definition())
    assert full == [{"op": "add", "path": "/defaultVariant", "value": "new"}]


def test_kill_switch_operations_and_the_flag_pointer() -> None:
    """disable sets the state; a variant also removes the targeting; keys are escaped."""
    assert switch_operations(True, None)(definition()) == [
        {"op": "replace", "path": "/state", "value": "DISABLED"}
    ]
    assert switch_operations(False, "old")(definition(targeting={"x": 1})) == [
        {"op": "replace", "path": "/defaultVariant", "value": "old"},
        {"op": "remove", "path": "/targeting"},
    ]
    assert pointer("a/b~c") == "/spec/flagSpec/flags/a~1b~0c"


def test_flag_state_tells_a_missing_object_from_a_missing_key() -> None:
    """None: no object; an object without the key: key_found False; variants sorted."""
    assert not flag_state("web-flags", "search", None).object_found
    missing = flag_state("web-flags", "search", body(other=definition()))
    assert missing.object_found and not missing.key_found
    found = flag_state("web-flags", "search", body(search=definition(targeting={"x": 1})))
    assert (found.variants, found.has_targeting, found.state) == (("new", "old"), True, "ENABLED")


def test_the_flagd_file_merges_feature_flag_objects() -> None:
    """Every object's flags in one flagd document; evaluators kept."""
    a = body("a", one=definition())
    b = body("b", two=definition())
    b["spec"]["flagSpec"]["$evaluators"] = {"beta": {"in": ["x", ["x"]]}}
    document = flagd_document([b, a])
    assert set(document["flags"]) == {"one", "two"}
    assert document["$evaluators"] == {"beta": {"in": ["x", ["x"]]}}


def test_the_sdk_splits_users_as_the_fractional_weights_say(tmp_path: Path) -> None:
    """flagd in-process through the OpenFeature SDK: 10,000 users at 25% within 2 points, and
    a disabled flag gives the code's default to everyone."""
    path = tmp_path / "flags.json"
    flags = FlagFile(path)
    flags.write([body(search=definition(targeting={"fractional": [["old", 75], ["new", 25]]}))])
    evaluator = FlagEvaluator(path)
    try:
        values = [evaluator.evaluate("search", "old", f"user-{i}").value for i in range(10_000)]
        assert abs(100 * values.count("new") / 10_000 - 25) <= 2
        assert not flags.write(
            [body(search=definition(targeting={"fractional": [["old", 75], ["new", 25]]}))]
        )
    finally:
        evaluator.close()


def test_the_simulator_fails_only_requests_on_the_bad_variant(tmp_path: Path) -> None:
    """Half the users get new; new fails at 50%: about a quarter of all requests fail, none
    on old; counts per variant add up to the Deployment's requests."""
    config = parse_flag_config(
        {
            "sluice.dev/simulate-flag": "web-flags/search",
            "sluice.dev/simulate-flag-default": "old",
            "sluice.dev/simulate-flag-error-rates": "new=0.5, bogus",
        }
    )
    assert config is not None and dict(config.error_rates) == {"new": 0.5}
    objects = [body(search=definition(targeting={"fractional": [["old", 50], ["new", 50]]}))]
    traffic = FlagTraffic(tmp_path / "flags.json")
    try:
        traffic.update(objects)
        traffic.evaluator = FlagEvaluator(tmp_path / "flags.json")
        increments, counts = traffic.apply(
            [Increment("web", ok=2000, errors=0, latencies=(), weight=100.0)],
            {"web": config},
            objects,
        )
    finally:
        traffic.close()
    by_variant = {c.variant: (c.ok, c.errors) for c in counts}
    assert by_variant["old"][1] == 0
    new_ok, new_errors = by_variant["new"]
    assert abs(new_errors - new_ok) <= 1
    assert increments[0].errors == new_errors and increments[0].ok + increments[0].errors == 2000
