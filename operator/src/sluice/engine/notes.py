"""Release notes in the engine: semver against the notes (VersionMismatch), and publishing."""

from __future__ import annotations

from datetime import datetime

from sluice.api.notes import PublishMark, ReleaseNotesSummary, VersionMismatchAction
from sluice.api.policy import RolloutPolicySpec
from sluice.api.release import ConditionStatus, Outcome, ReleaseSpec, ReleaseStatus
from sluice.engine.analysis import Hold
from sluice.engine.conditions import find_condition, remove_condition, set_condition
from sluice.engine.draft import Draft
from sluice.engine.policy import parse_version
from sluice.engine.rollout import next_release_requested
from sluice.engine.types import EventType, MarkNotes

VERSION_MISMATCH = "VersionMismatch"
SHOWN_BREAKING = 3


def _breaking_text(notes: ReleaseNotesSummary) -> str:
    count = notes.breaking
    shown = "; ".join(f'"{change}"' for change in notes.breaking_changes[:SHOWN_BREAKING])
    more = f" and {count - SHOWN_BREAKING} more" if count > SHOWN_BREAKING else ""
    listed = f" ({shown}{more})" if shown else ""
    return f"{count} breaking change{'s' if count != 1 else ''}{listed}"


def version_mismatch(spec: ReleaseSpec, stable_label: str | None) -> str | None:
    """Why spec.version does not fit the notes (breaking changes need a major version), or None.

    The stable version is spec.stableVersion, else the stable Deployment's version label; when
    neither is known, a breaking change cannot be checked, which is a mismatch too.
    """
    notes = spec.notes
    if notes is None or notes.breaking == 0:
        return None
    stable_text = spec.stable_version or stable_label
    candidate = parse_version(spec.version)
    stable = parse_version(stable_text) if stable_text else None
    if stable is None or candidate is None:
        return (
            f"the release notes list {_breaking_text(notes)}, but no stable version is known to "
            f"check version {spec.version} against: set spec.stableVersion"
        )
    if candidate.major > stable.major:
        return None
    bump = "a minor bump" if candidate.minor != stable.minor else "not a major bump"
    return (
        f"version {spec.version} is {bump} from {stable_text}, but the release notes list "
        f"{_breaking_text(notes)}: a breaking change needs a major version "
        f"({stable.bump_major()}); fix spec.version, or set the policy's onVersionMismatch: warn"
    )


def _mode(policy: RolloutPolicySpec | None) -> VersionMismatchAction:
    return policy.on_version_mismatch if policy is not None else VersionMismatchAction.BLOCK


def _checked(draft: Draft) -> bool:
    """Whether this pass starts a rollout (the first, the next release, or a restart for a new
    version): only then may a mismatch hold it, before any traffic moves."""
    status = draft.status
    if status.current_step is None or next_release_requested(draft):
        return True
    version = status.candidate_version
    return status.outcome is None and version is not None and version != draft.release.spec.version


def _mismatch(draft: Draft) -> str | None:
    stable = draft.observation.stable
    return version_mismatch(draft.release.spec, stable.version_label if stable else None)


def version_blocker(draft: Draft, policy: RolloutPolicySpec | None) -> Hold | None:
    """Pre-flight: a rollout that is about to start holds at 0% while the version does not fit
    its notes, unless the policy says warn."""
    if _mode(policy) == VersionMismatchAction.WARN or not _checked(draft):
        return None
    mismatch = _mismatch(draft)
    return Hold(VERSION_MISMATCH, mismatch, degraded=True) if mismatch else None


def _version_condition(draft: Draft, policy: RolloutPolicySpec | None) -> None:
    """VersionMismatch: True while the version does not fit the notes (a Warning Event when it
    becomes True under warn; under block, Degraded says it), False once fixed."""
    conditions = draft.status.conditions
    if draft.release.spec.notes is None:
        draft.update(conditions=remove_condition(conditions, VERSION_MISMATCH))
        return
    mismatch = _mismatch(draft)
    before = find_condition(conditions, VERSION_MISMATCH)
    warn = _mode(policy) == VersionMismatchAction.WARN
    if mismatch is None:
        status, reason, message = ConditionStatus.FALSE, "VersionMatchesNotes", ""
    else:
        status = ConditionStatus.TRUE
        reason = "ProceedingWithWarning" if warn else "BreakingChangeWithoutMajor"
        message = mismatch
    conditions = set_condition(
        conditions, VERSION_MISMATCH, status, reason, message, draft.generation, draft.now
    )
    draft.update(conditions=conditions)
    turned_true = before is None or before.status != ConditionStatus.TRUE
    if mismatch is not None and warn and turned_true:
        draft.emit(EventType.WARNING, VERSION_MISMATCH, f"{mismatch}; proceeding (warn)")


def _publish(draft: Draft, before: ReleaseStatus) -> None:
    """Once a rollout has ended, mark its notes ConfigMap with the outcome (idempotent).

    The runtime reads the ConfigMap only for a Release that had ended when it was read; in the
    pass that ends the rollout it was not read, and the mark is decided from the transition.
    A crash before the mark lands is repaired by a later pass of the finished Release (it has
    passes until its scale-down is done, and one at every operator start-up).
    """
    notes, status = draft.release.spec.notes, draft.status
    if notes is None or status.outcome is None:
        return
    if status.candidate_version not in (None, draft.release.spec.version):
        return  # the spec names the next release: these notes are not the ended rollout's
    mark = PublishMark(
        outcome=status.outcome.value,
        release=draft.name,
        rollout=status.rollouts,
        version=status.candidate_version or draft.release.spec.version,
        time=_ended_at(status) or draft.now,
    )
    state = draft.observation.notes
    if state is None:
        due = before.outcome is None or before.rollouts != status.rollouts
    elif not state.found:
        due = False  # nothing to mark: `kubectl sluice notes` says the ConfigMap is missing
    else:
        due = _recorded(state.published) != (mark.outcome, mark.rollout, mark.release)
    if due:
        document = mark.model_dump_json(by_alias=True)
        succeeded = status.outcome == Outcome.SUCCEEDED
        draft.actions.append(MarkNotes(notes.config_map, document, succeeded))


def _ended_at(status: ReleaseStatus) -> datetime | None:
    record = status.rollout_records[-1] if status.rollout_records else None
    return record.ended_at if record is not None else None


def _recorded(published: str | None) -> tuple[str, int, str] | None:
    if not published:
        return None
    try:
        mark = PublishMark.model_validate_json(published)
    except ValueError:
        return None  # unreadable: written again
    return mark.outcome, mark.rollout, mark.release


def check_notes(draft: Draft, before: ReleaseStatus, policy: RolloutPolicySpec | None) -> None:
    """After the rest is decided: the VersionMismatch condition (while the rollout has not
    ended) and the publishing of the notes (once it has)."""
    if draft.observation.deleting:
        return
    if draft.status.outcome is None or _checked(draft):
        _version_condition(draft, policy)
    _publish(draft, before)
