"""The dependency graph of a ReleaseGroup: what is wrong with it, its waves, who needs whom."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from sluice.api.group import GroupMember


def graph_problems(members: list[GroupMember]) -> list[str]:
    """What makes the members unusable as a dependency graph, in words (empty when none)."""
    problems: list[str] = []
    counts = Counter(member.release for member in members)
    twice = sorted(name for name, count in counts.items() if count > 1)
    if twice:
        problems.append(f"listed more than once: {', '.join(twice)}")
    known = set(counts)
    for member in members:
        unknown = [d for d in member.depends_on if d not in known or d == member.release]
        if unknown:
            problems.append(
                f"{member.release} depends on {', '.join(unknown)}, "
                "which must be other members of the group"
            )
    edges: dict[str, list[str]] = {}
    for member in members:
        edges.setdefault(member.release, []).extend(member.depends_on)
    cycle = find_cycle(edges)
    if cycle:
        problems.append(f"dependency cycle: {' -> '.join(cycle)}")
    return problems


def find_cycle(edges: Mapping[str, list[str]]) -> list[str]:
    """One cycle of the graph (first node repeated at the end), or an empty list."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str]:
        if node in done:
            return []
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        visiting.append(node)
        for dependency in edges.get(node, []):
            if dependency in edges and dependency != node:
                cycle = visit(dependency)
                if cycle:
                    return cycle
        visiting.pop()
        done.add(node)
        return []

    for node in sorted(edges):
        cycle = visit(node)
        if cycle:
            return cycle
    return []


def levels(members: list[GroupMember]) -> list[list[str]]:
    """The members in waves: each wave depends only on earlier ones (the graph has no cycle)."""
    remaining = {m.release: set(m.depends_on) for m in members}
    placed: set[str] = set()
    waves: list[list[str]] = []
    while remaining:
        wave = sorted(name for name, deps in remaining.items() if deps <= placed)
        if not wave:
            break  # a cycle: graph_problems reports it
        waves.append(wave)
        placed.update(wave)
        for name in wave:
            del remaining[name]
    return waves


def dependents(members: list[GroupMember], name: str) -> list[str]:
    """The members that depend directly on this one."""
    return sorted(m.release for m in members if name in m.depends_on)


def dependencies(members: list[GroupMember], name: str) -> list[str]:
    """The members this one depends on directly."""
    for member in members:
        if member.release == name:
            return list(member.depends_on)
    return []
