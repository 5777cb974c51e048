"""Label selectors, as ClusterReleaseCalendars use them to pick namespaces."""

from __future__ import annotations

from sluice.api.calendar import LabelSelector
from sluice.runtime.calendars import selector_matches


def selector(raw: dict[str, object]) -> LabelSelector:
    """A selector from its API form."""
    return LabelSelector.model_validate(raw)


def test_match_labels_need_every_pair() -> None:
    """matchLabels: all pairs present with those values."""
    wanted = selector({"matchLabels": {"tier": "prod", "team": "shop"}})
    assert selector_matches(wanted, {"tier": "prod", "team": "shop", "x": "y"})
    assert not selector_matches(wanted, {"tier": "prod"})


def test_match_expressions_in_notin_exists_doesnotexist() -> None:
    """The four operators behave as in Kubernetes."""
    rules = selector(
        {
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["prod", "staging"]},
                {"key": "region", "operator": "NotIn", "values": ["cn"]},
                {"key": "owner", "operator": "Exists"},
                {"key": "frozen", "operator": "DoesNotExist"},
            ]
        }
    )
    assert selector_matches(rules, {"tier": "prod", "owner": "a"})
    assert not selector_matches(rules, {"tier": "dev", "owner": "a"})
    assert not selector_matches(rules, {"tier": "prod", "owner": "a", "region": "cn"})
    assert not selector_matches(rules, {"tier": "prod"})
    assert not selector_matches(rules, {"tier": "prod", "owner": "a", "frozen": "yes"})


def test_an_empty_selector_matches_every_namespace() -> None:
    """{} selects all, as in Kubernetes."""
    assert selector_matches(selector({}), {})
