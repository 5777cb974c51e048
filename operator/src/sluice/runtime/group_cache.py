"""Watched ReleaseGroups, and which groups name each Release."""

from __future__ import annotations

import threading
from typing import Any

from sluice.api.group import TERMINAL_PHASES
from sluice.runtime.cache import newer_or_equal

GroupKey = tuple[str, str]  # (namespace, name)


def member_names(body: dict[str, Any]) -> set[str]:
    """The Releases a group body names."""
    members = (body.get("spec") or {}).get("members") or []
    return {str(m["release"]) for m in members if isinstance(m, dict) and m.get("release")}


def is_active(body: dict[str, Any]) -> bool:
    """A group governs its members while a run is due, pending or under way."""
    status = body.get("status") or {}
    phase = status.get("phase")
    if phase is None or phase not in TERMINAL_PHASES:
        return True
    meta = body.get("metadata", {})
    if meta.get("deletionTimestamp"):
        return False  # going away (its deletion bumped the generation: that is no edit)
    return bool(status.get("runGeneration") != meta.get("generation"))


def is_running(body: dict[str, Any]) -> bool:
    """A group past its go: members may have moved traffic for it."""
    return (body.get("status") or {}).get("phase") in ("Progressing", "RollingBack")


def precedence(body: dict[str, Any]) -> tuple[bool, str, str]:
    """Which of two active groups naming the same Release goes first: a running one, then the
    older one (by creation time, then name)."""
    meta = body.get("metadata", {})
    return (not is_running(body), str(meta.get("creationTimestamp", "")), str(meta.get("name")))


class GroupIndex:
    """Thread-safe ReleaseGroup bodies, indexed by the Releases they name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[GroupKey, dict[str, Any]] = {}
        self._naming: dict[tuple[str, str], set[str]] = {}  # (namespace, release) -> groups

    def put(self, body: dict[str, Any]) -> bool:
        """Store a group body; False when it is older than the one held, or the same."""
        meta = body.get("metadata", {})
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        with self._lock:
            old = self._groups.get(key)
            if old is not None and not newer_or_equal(body, old):
                return False
            same = old is not None and old.get("metadata", {}).get("resourceVersion") == meta.get(
                "resourceVersion"
            )
            self._groups[key] = body
            self._reindex(key, old, body)
            return not same

    def remove(self, key: GroupKey) -> dict[str, Any] | None:
        """Forget a deleted group; return what was held."""
        with self._lock:
            old = self._groups.pop(key, None)
            self._reindex(key, old, None)
            return old

    def get(self, key: GroupKey) -> dict[str, Any] | None:
        """The latest known body of a group."""
        with self._lock:
            return self._groups.get(key)

    def naming(self, namespace: str, release: str) -> list[dict[str, Any]]:
        """The groups that name this Release."""
        with self._lock:
            names = sorted(self._naming.get((namespace, release), ()))
            return [self._groups[(namespace, n)] for n in names if (namespace, n) in self._groups]

    def _reindex(
        self, key: GroupKey, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        namespace, name = key
        before = member_names(old) if old is not None else set()
        after = member_names(new) if new is not None else set()
        for release in before - after:
            names = self._naming.get((namespace, release))
            if names is not None:
                names.discard(name)
                if not names:
                    del self._naming[(namespace, release)]
        for release in after - before:
            self._naming.setdefault((namespace, release), set()).add(name)


def governing_group(groups: GroupIndex, namespace: str, release: str) -> dict[str, Any] | None:
    """The group a Release follows: the first active group naming it; else the one that ran
    last (a finished group keeps its members from starting alone)."""
    naming = groups.naming(namespace, release)
    active = sorted((g for g in naming if is_active(g)), key=precedence)
    if active:
        return active[0]
    finished = sorted(
        naming, key=lambda g: str((g.get("status") or {}).get("startedAt") or ""), reverse=True
    )
    return finished[0] if finished else None
