"""A Release's membership in a ReleaseGroup run, as the Release records it."""

from __future__ import annotations

from pydantic import Field

from sluice.api.common import ApiModel


class GroupMembership(ApiModel):
    """The ReleaseGroup run this Release's current (or last) rollout belongs to."""

    name: str = Field(description="The ReleaseGroup.")
    run: int = Field(ge=1, description="The group's run (status.run of the ReleaseGroup).")
    unchanged: bool = Field(
        default=False,
        description="The Release had nothing new to roll out in this run: its version had "
        "already succeeded, so it counted as done without moving traffic.",
    )
