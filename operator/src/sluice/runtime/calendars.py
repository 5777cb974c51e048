"""Release calendars at runtime: which apply to a Release, their .ics files, and their status."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException
from pydantic import ValidationError

from sluice.api.calendar import (
    ClusterReleaseCalendarSpec,
    IcsSource,
    LabelSelector,
    ReleaseCalendarSpec,
)
from sluice.api.common import GROUP, VERSION
from sluice.api.group import ReleaseGroup, ReleaseGroupSpec
from sluice.api.policy import CalendarKind, RolloutPolicySpec
from sluice.api.release import Release
from sluice.engine.calendar_status import calendar_status
from sluice.engine.types import CalendarInput
from sluice.observability import CALENDAR_OPEN
from sluice.runtime.cache import CALENDAR, CLUSTER_CALENDAR, ClusterCache

ICS_TTL_SECONDS = 60.0  # a changed .ics ConfigMap applies within a minute
PLURALS = {CALENDAR: "releasecalendars", CLUSTER_CALENDAR: "clusterreleasecalendars"}


def selector_matches(selector: LabelSelector, labels: dict[str, str]) -> bool:
    """Whether labels satisfy a Kubernetes label selector (an empty selector matches all)."""
    if any(labels.get(key) != value for key, value in selector.match_labels.items()):
        return False
    for requirement in selector.match_expressions:
        present = requirement.key in labels
        value = labels.get(requirement.key)
        if requirement.operator == "In" and value not in requirement.values:
            return False
        if requirement.operator == "NotIn" and present and value in requirement.values:
            return False
        if requirement.operator == "Exists" and not present:
            return False
        if requirement.operator == "DoesNotExist" and present:
            return False
    return True


@dataclass
class IcsFiles:
    """.ics files read from ConfigMaps, kept for a minute (not read on every reconcile)."""

    api_client: Any
    clock: Callable[[], float] = time.monotonic
    _files: dict[tuple[str, str, str], tuple[float, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def text(self, namespace: str, source: IcsSource) -> str:
        """The file; raises LookupError naming the ConfigMap and key when it cannot be read."""
        key = (namespace, source.name, source.key)
        with self._lock:
            cached = self._files.get(key)
        if cached is not None and self.clock() - cached[0] < ICS_TTL_SECONDS:
            return cached[1]
        where = f'ConfigMap "{source.name}" in namespace "{namespace}"'
        try:
            config_map = client.CoreV1Api(self.api_client).read_namespaced_config_map(
                source.name, namespace
            )
        except ApiException as exc:
            raise LookupError(f"{where}: {exc.status} {exc.reason}") from exc
        text = (config_map.data or {}).get(source.key)
        if text is None:
            raise LookupError(f'{where} has no key "{source.key}"')
        with self._lock:
            self._files[key] = (self.clock(), text)
        return str(text)


def _calendar_input(
    kind: str, namespace: str, body: dict[str, Any], ics: IcsFiles
) -> CalendarInput:
    """A watched calendar as the engine takes it; raises ValueError naming what is wrong."""
    name = body.get("metadata", {}).get("name", "")
    label = f'{kind} "{name}"'
    model = ClusterReleaseCalendarSpec if kind == CLUSTER_CALENDAR else ReleaseCalendarSpec
    try:
        spec = model.model_validate(body.get("spec") or {})
    except ValidationError as exc:
        raise ValueError(f"{label} is invalid: {exc}") from exc
    text = None
    if spec.ics is not None:
        # A ReleaseCalendar reads its own namespace; a ClusterReleaseCalendar the one it
        # names (default: "default"), whichever Release or status asks.
        where = (spec.ics.namespace or "default") if kind == CLUSTER_CALENDAR else namespace
        try:
            text = ics.text(where or "default", spec.ics)
        except LookupError as exc:
            raise ValueError(f"{label}: {exc}") from exc
    return CalendarInput(name=f"{kind} {name}", spec=spec, ics_text=text)


def calendars_for(
    cache: ClusterCache,
    ics: IcsFiles,
    release: Release | ReleaseGroup,
    policy: RolloutPolicySpec | ReleaseGroupSpec | None,
) -> tuple[tuple[CalendarInput, ...], str | None]:
    """The calendars that apply to a Release or ReleaseGroup (named by its policy or spec, or
    selecting its namespace), or the first error: a missing or unreadable calendar."""
    namespace = release.metadata.namespace
    found: list[CalendarInput] = []
    seen: set[tuple[str, str]] = set()
    try:
        for ref in policy.calendars if policy is not None else []:
            kind = ref.kind.value
            scope = namespace if ref.kind == CalendarKind.RELEASE_CALENDAR else ""
            body = cache.calendar(kind, scope, ref.name)
            if body is None:
                where = f' in namespace "{namespace}"' if scope else ""
                return (), f'{kind} "{ref.name}" not found{where}'
            found.append(_calendar_input(kind, namespace, body, ics))
            seen.add((kind, ref.name))
        labels = cache.namespace_labels(namespace)
        for body in cache.cluster_calendars():
            name = body.get("metadata", {}).get("name", "")
            selector = (body.get("spec") or {}).get("namespaceSelector")
            if selector is None or (CLUSTER_CALENDAR, name) in seen or labels is None:
                continue
            if selector_matches(LabelSelector.model_validate(selector), labels):
                found.append(_calendar_input(CLUSTER_CALENDAR, namespace, body, ics))
    except (ValueError, ValidationError) as exc:
        return (), str(exc)
    return tuple(found), None


@dataclass
class CalendarStatusWriter:
    """Computes a calendar's status (open now, next open and close) and writes it on change."""

    api_client: Any
    cache: ClusterCache
    ics: IcsFiles
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def reconcile(self, kind: str, namespace: str, name: str) -> float | None:
        """Write the status when it changed; return seconds until it changes next."""
        body = self.cache.calendar(kind, namespace, name)
        if body is None:
            return None
        now = self.clock()
        try:
            calendar = _calendar_input(kind, namespace or "default", body, self.ics)
            error = None
        except ValueError as exc:
            calendar, error = None, str(exc)
        status, wake = calendar_status(body, calendar, error, now)
        CALENDAR_OPEN.labels(namespace or "", name).set(1 if status.get("open") else 0)
        for key in ("nextOpen", "nextClose"):
            status.setdefault(key, None)  # null removes what a merge patch would keep
        stored = body.get("status") or {}
        if {k: v for k, v in status.items() if v is not None} != stored:
            custom = client.CustomObjectsApi(self.api_client)
            patch = {"status": status}
            if kind == CLUSTER_CALENDAR:
                written = custom.patch_cluster_custom_object_status(
                    GROUP, VERSION, PLURALS[kind], name, patch
                )
            else:
                written = custom.patch_namespaced_custom_object_status(
                    GROUP, VERSION, namespace, PLURALS[kind], name, patch
                )
            self.cache.put_calendar(kind, written)
        return None if wake is None else max((wake - now).total_seconds(), 0.5)
