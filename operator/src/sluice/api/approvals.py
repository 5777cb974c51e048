"""Approvals: who must say go (quorum, groups), and the decisions people made."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from sluice.api.common import ApiModel

GroupName = Annotated[str, Field(min_length=1, max_length=253)]


class ApprovalRules(ApiModel):
    """The quorum an approval step needs: enough approvers, and every required group."""

    min_approvals: int = Field(
        default=1,
        alias="minApprovals",
        ge=1,
        le=10,
        description="Distinct people who must approve.",
    )
    required: list[GroupName] = Field(
        default_factory=list,
        max_length=10,
        description="Kubernetes groups (request.userInfo.groups) that must each be among the "
        "approvers, e.g. [qa, tech-lead]. One person in two required groups covers both.",
    )


class DecisionKind(StrEnum):
    """What an approver decided."""

    APPROVED = "Approved"
    REJECTED = "Rejected"


class ApprovalDecision(ApiModel):
    """One person's go or no-go at one step, as the API server authenticated them."""

    step: int = Field(description="Index of the step it was given at, from 0.")
    rollout: int = Field(default=0, description="The rollout it belongs to (status.rollouts).")
    user: str = Field(description="request.userInfo.username of whoever decided.")
    groups: list[str] = Field(default_factory=list, description="Their groups, as recorded.")
    time: datetime
    decision: DecisionKind
    reason: str = Field(default="", description="Why, in their words.")
