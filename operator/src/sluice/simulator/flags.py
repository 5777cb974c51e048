"""Simulated requests that evaluate a feature flag: each request is one user's, its flag is
evaluated through the OpenFeature SDK (flagd in-process, fed from the namespace's FeatureFlag
objects), and a request whose variant is a bad one fails at that variant's error rate.

A Deployment opts in with annotations:

- ``sluice.dev/simulate-flag: FEATUREFLAG/KEY`` (the flag its code evaluates per request);
- ``sluice.dev/simulate-flag-default: VARIANT`` (whose value the code falls back to when the
  flag is disabled or missing; recorded as that variant);
- ``sluice.dev/simulate-flag-error-rates: VARIANT=RATE,...`` (0..1 per variant).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from sluice.flags.evaluate import FlagEvaluator, FlagFile
from sluice.simulator.core import Increment

FLAG_ANNOTATION = "sluice.dev/simulate-flag"
DEFAULT_ANNOTATION = "sluice.dev/simulate-flag-default"
ERROR_RATES_ANNOTATION = "sluice.dev/simulate-flag-error-rates"
USERS = 100_000  # simulated users, taken in turn as targeting keys

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlagConfig:
    """The flag one Deployment's code evaluates, and how its variants behave."""

    feature_flag: str
    key: str
    default_variant: str | None = None
    error_rates: Mapping[str, float] = field(default_factory=dict)


def parse_flag_config(annotations: Mapping[str, str]) -> FlagConfig | None:
    """A Deployment's flag annotations, or None (no flag, or a malformed one, logged)."""
    text = annotations.get(FLAG_ANNOTATION)
    if not text:
        return None
    name, _, key = text.partition("/")
    if not name or not key:
        _log.warning("ignoring %s=%r: not FEATUREFLAG/KEY", FLAG_ANNOTATION, text)
        return None
    rates: dict[str, float] = {}
    for part in filter(None, (annotations.get(ERROR_RATES_ANNOTATION) or "").split(",")):
        variant, _, value = part.strip().partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not variant or not 0.0 <= rate <= 1.0:
            _log.warning("ignoring %s part %r", ERROR_RATES_ANNOTATION, part)
            continue
        rates[variant] = rate
    return FlagConfig(name, key, annotations.get(DEFAULT_ANNOTATION) or None, rates)


@dataclass(frozen=True)
class VariantCount:
    """Requests of one Deployment that evaluated one flag to one variant, in one step."""

    deployment: str
    flag: str
    variant: str
    ok: int
    errors: int


def _variant_values(objects: Sequence[dict[str, Any]], config: FlagConfig) -> dict[str, Any]:
    for body in objects:
        if (body.get("metadata") or {}).get("name") != config.feature_flag:
            continue
        flags = ((body.get("spec") or {}).get("flagSpec") or {}).get("flags") or {}
        variants = (flags.get(config.key) or {}).get("variants") or {}
        return dict(variants) if isinstance(variants, dict) else {}
    return {}


class FlagTraffic:
    """Evaluates the flag of every simulated request and applies per-variant errors."""

    def __init__(self, path: Path, evaluator: FlagEvaluator | None = None) -> None:
        self.file = FlagFile(path)
        self.file.write(())
        self.evaluator = evaluator or FlagEvaluator(path)
        self.user = 0
        self._error_debt: dict[tuple[str, str], float] = {}

    def update(self, feature_flags: Sequence[dict[str, Any]]) -> bool:
        """Give the provider the namespace's FeatureFlag objects (True: something changed)."""
        return self.file.write(feature_flags)

    def apply(
        self,
        increments: Sequence[Increment],
        configs: Mapping[str, FlagConfig],
        feature_flags: Sequence[dict[str, Any]],
    ) -> tuple[tuple[Increment, ...], tuple[VariantCount, ...]]:
        """Evaluate the flag for each request of the Deployments that have one."""
        out: list[Increment] = []
        counts: list[VariantCount] = []
        for inc in increments:
            config = configs.get(inc.deployment)
            if config is None:
                out.append(inc)
                continue
            values = _variant_values(feature_flags, config)
            default = values.get(config.default_variant or "", False)
            by_value = {repr(v): name for name, v in values.items()}
            tally: dict[str, list[int]] = {}
            base_errors = inc.errors
            total = inc.ok + inc.errors
            for _ in range(total):
                self.user = (self.user + 1) % USERS
                result = self.evaluator.evaluate(config.key, default, f"user-{self.user}")
                variant = result.variant or by_value.get(repr(result.value)) or "default"
                row = tally.setdefault(variant, [0, 0])
                debt_key = (inc.deployment, variant)
                debt = self._error_debt.get(debt_key, 0.0) + config.error_rates.get(variant, 0.0)
                failed = debt >= 1.0 - 1e-9
                self._error_debt[debt_key] = debt - 1.0 if failed else debt
                if not failed and base_errors > 0:
                    base_errors -= 1  # the Deployment's own error rate, spread over variants
                    failed = True
                row[1 if failed else 0] += 1
            errors = sum(row[1] for row in tally.values())
            out.append(replace(inc, ok=total - errors, errors=errors))
            counts.extend(
                VariantCount(inc.deployment, config.key, variant, ok, err)
                for variant, (ok, err) in sorted(tally.items())
            )
        return tuple(out), tuple(counts)

    def close(self) -> None:
        """Stop the provider."""
        self.evaluator.close()


class FlagMetrics:
    """Simulated requests per flag variant."""

    def __init__(self, namespace: str, registry: CollectorRegistry) -> None:
        self.namespace = namespace
        self.requests = Counter(
            "sluice_demo_flag_requests",
            "Simulated requests by the variant their feature flag evaluated to, and status code.",
            ["namespace", "deployment", "flag", "variant", "code"],
            registry=registry,
        )

    def apply(self, counts: Sequence[VariantCount]) -> None:
        """Record one step (both codes touched, so that error rates are 0 rather than absent)."""
        for c in counts:
            self.requests.labels(self.namespace, c.deployment, c.flag, c.variant, "200").inc(c.ok)
            self.requests.labels(self.namespace, c.deployment, c.flag, c.variant, "500").inc(
                c.errors
            )
