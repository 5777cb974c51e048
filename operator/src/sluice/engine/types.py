"""What the engine takes in (an observation of the world) and gives back (a decision)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sluice.api.calendar import ReleaseCalendarSpec
from sluice.api.commands import Command
from sluice.api.gates import JobCriterion
from sluice.api.notifications import DeliveryResult
from sluice.api.release import ReleaseStatus
from sluice.engine.flag_state import FlagState, PatchFlag
from sluice.engine.group_view import GroupView


@dataclass(frozen=True)
class DeploymentState:
    """What the runtime read of one Deployment."""

    name: str
    replicas: int  # spec.replicas (desired)
    ready_replicas: int
    updated_replicas: int
    available_replicas: int
    version_label: str | None  # metadata.labels["app.kubernetes.io/version"]
    template_hash: str  # a stable hash of spec.template: a change means a new candidate
    generation: int
    observed_generation: int
    progress_deadline_exceeded: bool = False  # condition Progressing=False/ProgressDeadlineExceeded


class ResultKind(StrEnum):
    """What a query returned: a number, nothing usable, or an error."""

    VALUE = "value"
    NO_DATA = "noData"  # empty vector or NaN
    ERROR = "error"  # timeout, connection refused, HTTP 5xx, bad query ...


@dataclass(frozen=True)
class MetricResult:
    """One measurement of one metric, as returned by a metric provider (not yet judged)."""

    metric: str
    kind: ResultKind
    time: datetime
    value: float | None = None
    baseline: float | None = None  # the stable's value, for relative thresholds
    error: str = ""
    permanent: bool = False  # an error that retrying cannot fix (a PromQL syntax error)


@dataclass(frozen=True)
class CalendarInput:
    """A calendar that applies to the Release, as read (the engine compiles it)."""

    name: str  # "ReleaseCalendar team" or "ClusterReleaseCalendar company"
    spec: ReleaseCalendarSpec
    ics_text: str | None = None  # the iCalendar file its ics source names, when it has one


@dataclass(frozen=True)
class Claim:
    """Another Release that names one of this Release's Deployments."""

    name: str
    created: str  # metadata.creationTimestamp (RFC 3339 in UTC: sorts as time)
    running: bool  # it has moved traffic and has not finished
    active: bool  # it has not finished and is not being deleted


@dataclass(frozen=True)
class DeliveryReport:
    """How the delivery of one pending notification went, as the runtime's notifier saw it."""

    id: str  # the pending notification's idempotency key
    subscription: str
    result: DeliveryResult
    message: str  # the receiver's answer or the error, short and sanitized
    time: datetime  # when this result was reached
    attempts: int

    @property
    def final(self) -> bool:
        """Whether no further attempt will be made (delivered, given up, or refused)."""
        return self.result != DeliveryResult.RETRYING


@dataclass(frozen=True)
class Observation:
    """Everything the runtime read before deciding. Missing objects are None."""

    stable: DeploymentState | None
    candidate: DeploymentState | None
    router_error: str | None = None  # e.g. "Service web not found"
    applied_candidate_weight: int | None = None  # what the router reads back from the cluster
    # Whether the cluster is exactly in the state the recorded weight asks for. None: judge by
    # applied_candidate_weight. (A replica split caught half-way can read as the right percent.)
    weight_applied: bool | None = None
    results: tuple[MetricResult, ...] = ()  # fresh measurements taken this reconcile
    command: Command | None = None
    command_error: str | None = None  # the command annotation did not parse
    policy_error: str | None = None  # e.g. "RolloutPolicy standard-canary not found"
    deleting: bool = False  # the Release is being deleted: return traffic to stable
    claims: tuple[Claim, ...] = ()  # other Releases that name the same Deployments
    created: str = ""  # this Release's metadata.creationTimestamp
    # The last attempt to act failed (an API error, a router error), and how; None once it works.
    action_error: str | None = None
    calendars: tuple[CalendarInput, ...] = ()  # every calendar that applies
    calendar_error: str | None = None  # a calendar the policy names is missing or unreadable
    deliveries: tuple[DeliveryReport, ...] = ()  # notification deliveries not yet in the status
    gates: tuple[GateObservation, ...] = ()  # the pending go/no-go criteria, as read
    group: GroupView | None = None  # the ReleaseGroup that governs this Release, if any
    flags: tuple[FlagState, ...] = ()  # the flags the Release names, as read
    notes: NotesState | None = None  # the notes ConfigMap, read only once the rollout ended


@dataclass(frozen=True)
class GateObservation:
    """What the runtime read for one go/no-go criterion of the pending evaluation."""

    rollout: int  # status.rollouts when it was read
    stage: str  # beforeStart or beforeFull
    criterion: str
    result: MetricResult | None = None  # prometheus: the query's result (the engine judges it)
    found: bool = False  # job, condition: the object exists
    conditions: tuple[tuple[str, str, str, str], ...] = ()  # its (type, status, reason, message)
    detail: str = ""  # job: its pods, such as "active 1, succeeded 0, failed 0"
    invalid: str | None = None  # cannot be evaluated as written (template refused, 403)
    error: str | None = None  # a read failed this time; retried


@dataclass(frozen=True)
class NotesState:
    """The release notes ConfigMap a Release names, as read."""

    found: bool
    published: str | None = None  # its sluice.dev/published annotation (JSON), if any


class EventType(StrEnum):
    """Kubernetes Event types."""

    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class SetWeight:
    """Route this percentage of traffic to the candidate (the router decides how)."""

    candidate_weight: int
    total_replicas: int  # the replica count the two Deployments share


@dataclass(frozen=True)
class CreateJob:
    """Create a go/no-go gate's Job (owned by the Release); one that exists already is kept."""

    name: str
    criterion: str
    stage: str
    rollout: int
    job: JobCriterion


@dataclass(frozen=True)
class ScaleDeployment:
    """Scale one Deployment through its /scale subresource."""

    role: str  # "stable" or "candidate"
    replicas: int


@dataclass(frozen=True)
class EmitEvent:
    """Post a Kubernetes Event on the Release."""

    type: EventType
    reason: str
    message: str


@dataclass(frozen=True)
class MarkNotes:
    """Mark the release notes ConfigMap with how a rollout of them ended (idempotent)."""

    config_map: str
    annotation: str  # the sluice.dev/published value (JSON)
    published: bool  # the rollout succeeded: label the ConfigMap sluice.dev/notes-published


Action = SetWeight | ScaleDeployment | EmitEvent | CreateJob | MarkNotes | PatchFlag


@dataclass(frozen=True)
class Decision:
    """The engine's answer: the new status, the actions to perform in order, when to look again."""

    status: ReleaseStatus
    actions: tuple[Action, ...] = ()
    requeue_after: float | None = None  # seconds; None: only on the next change
