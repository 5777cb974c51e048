"""Evaluate flags as applications do: the OpenFeature SDK with the flagd provider in in-process
mode, fed from FeatureFlag objects through the provider's file source.

flagd's Kubernetes sync serves the flags of FeatureFlag objects; here the same definitions are
written to a flagd flag file (``{"flags": {...}}``), which the provider watches and evaluates
with flagd's own rules (targeting, ``fractional`` bucketing by flag key and targeting key).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openfeature import api
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.evaluation_context import EvaluationContext

POLL_MS = 100  # how often the provider looks at the file's modification time


def flagd_document(objects: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The flagd flag file for these FeatureFlag objects (sorted by name; a later key wins)."""
    flags: dict[str, Any] = {}
    evaluators: dict[str, Any] = {}
    for body in sorted(objects, key=lambda b: str((b.get("metadata") or {}).get("name", ""))):
        spec = (body.get("spec") or {}).get("flagSpec") or {}
        flags.update(spec.get("flags") or {})
        evaluators.update(spec.get("$evaluators") or {})
    document: dict[str, Any] = {"flags": flags}
    if evaluators:
        document["$evaluators"] = evaluators
    return document


class FlagFile:
    """A flagd flag file, rewritten atomically (and only when it changes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._text: str | None = None
        self._lock = threading.Lock()

    def write(self, objects: Iterable[dict[str, Any]]) -> bool:
        """Write the flags of these FeatureFlag objects; True when the content changed."""
        text = json.dumps(flagd_document(objects), sort_keys=True)
        with self._lock:
            if text == self._text:
                return False
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}")
            tmp.write_text(text)
            os.replace(tmp, self.path)  # the provider never reads half a file
            self._text = text
            return True


@dataclass(frozen=True)
class Evaluation:
    """One evaluation: the value, the variant (None: the code's default was used) and why."""

    value: Any
    variant: str | None
    reason: str


class FlagEvaluator:
    """An OpenFeature client (its own domain) on a flagd provider reading one flag file."""

    def __init__(self, path: Path, poll_ms: int = POLL_MS) -> None:
        if not path.exists():
            FlagFile(path).write(())
        self.domain = f"sluice-{uuid.uuid4().hex[:8]}"
        self.provider = FlagdProvider(
            resolver_type=ResolverType.FILE,
            offline_flag_source_path=str(path),
            deadline_ms=poll_ms,
        )
        api.set_provider_and_wait(self.provider, self.domain)
        self.client = api.get_client(self.domain)

    def evaluate(self, key: str, default: Any, user: str) -> Evaluation:
        """Evaluate a flag for one user (the targeting key), with the code's default value."""
        context = EvaluationContext(targeting_key=user)
        if isinstance(default, bool):
            details: Any = self.client.get_boolean_details(key, default, context)
        elif isinstance(default, int | float):
            details = self.client.get_float_details(key, float(default), context)
        elif isinstance(default, dict | list):
            details = self.client.get_object_details(key, default, context)
        else:
            details = self.client.get_string_details(key, str(default), context)
        return Evaluation(details.value, details.variant, str(details.reason))

    def close(self) -> None:
        """Stop the provider's file watcher."""
        self.provider.shutdown()
