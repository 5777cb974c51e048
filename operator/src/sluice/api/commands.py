"""Commands from people (promote, approve, abort, ...), carried by one annotation on the Release."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from sluice.api.common import GROUP, ApiModel

COMMAND_ANNOTATION = f"{GROUP}/command"


class CommandAction(StrEnum):
    """What a command asks the engine to do."""

    PROMOTE = "promote"
    PROMOTE_FULL = "promoteFull"
    APPROVE = "approve"
    REJECT = "reject"
    ABORT = "abort"
    RETRY = "retry"
    PAUSE = "pause"
    RESUME = "resume"
    OVERRIDE_WINDOW = "overrideWindow"


class Command(ApiModel):
    """One command; its id makes it idempotent (the engine acts once per id)."""

    action: CommandAction
    id: str = Field(min_length=1, max_length=128, description="Unique id of this command.")
    by: str = Field(
        default="unknown",
        max_length=256,
        description="Who issued it: request.userInfo.username (the admission policy checks).",
    )
    groups: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="Their groups, each one of request.userInfo.groups (the admission policy "
        "checks): what approval steps count toward required groups.",
    )
    at: datetime = Field(description="When it was issued.")
    reason: str | None = Field(
        default=None,
        max_length=1024,
        description="Why. Required for approve, reject, abort and overrideWindow; for every "
        "command when the policy sets requireReason.",
    )
    until: datetime | None = Field(
        default=None,
        description="overrideWindow: until when the override holds (default: until the "
        "rollout ends).",
    )
